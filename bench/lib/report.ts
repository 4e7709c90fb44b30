/**
 * What a suite produces: rows of figures, derived numbers, the
 * targets it can speak to, and a chart. Printed as a table on stdout and
 * written to bench/results/<suite>.json and <suite>.svg.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { machine, type Machine } from "./machine.js";
import { formatNumber, type Figure } from "./stats.js";
import { renderChart, type Bar, type BarPanel, type Chart } from "./svg.js";

export interface Row {
  /** What is measured, e.g. "empty task, sync round trip". */
  readonly group: string;
  /** serial, workerpool, piscina, rayts (possibly with a variant: "rayts ref"). */
  readonly runtime: string;
  readonly unit: string;
  readonly figure: Figure;
  readonly better: "lower" | "higher";
  /** Filled by {@link compare}: this median against a peer's, e.g. "1.12x workerpool". */
  vs?: string;
  readonly note?: string;
}

export interface Target {
  readonly figure: string;
  readonly target: string;
  readonly measured: string;
  /** `null` when it could not be measured in this run. */
  readonly met: boolean | null;
}

export interface SuiteResult {
  readonly suite: string;
  readonly title: string;
  readonly quick: boolean;
  readonly machine: Machine;
  readonly config: Record<string, unknown>;
  readonly rows: Row[];
  readonly derived: Record<string, number | string>;
  readonly targets: Target[];
  readonly notes: string[];
}

/** Builds a result with the machine filled in. */
export function newResult(suite: string, title: string, quick: boolean, config: Record<string, unknown>): SuiteResult {
  return { suite, title, quick, machine: machine(), config, rows: [], derived: {}, targets: [], notes: [] };
}

/**
 * Marks every row of a group against the `baseline` runtime's row with the
 * same unit: "1.20x workerpool" means 1.2 times its median (time or rate).
 */
export function compare(result: SuiteResult, baseline: string): void {
  for (const row of result.rows) {
    if (row.runtime === baseline || row.vs !== undefined) continue;
    const base = result.rows.find((r) => r.group === row.group && r.unit === row.unit && r.runtime === baseline);
    if (base === undefined || base.figure.median === 0) continue;
    row.vs = `${(row.figure.median / base.figure.median).toFixed(2)}x ${baseline}`;
  }
}

export function find(result: SuiteResult, group: string, runtime: string, unit?: string): Row | undefined {
  return result.rows.find((r) => r.group === group && r.runtime === runtime && (unit === undefined || r.unit === unit));
}

function pad(cells: string[], widths: number[], right: boolean[]): string {
  return cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
}

export function printTable(result: SuiteResult): void {
  const header = ["figure", "runtime", "median", "min", "max", "unit", "n", "vs peer"];
  const right = [false, false, true, true, true, false, true, false];
  const lines = result.rows.map((r) => [
    r.group,
    r.runtime,
    formatNumber(r.figure.median),
    formatNumber(r.figure.min),
    formatNumber(r.figure.max),
    r.unit,
    String(r.figure.n),
    [r.vs, r.note].filter(Boolean).join("; "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const m = result.machine;
  const out: string[] = [];
  out.push("");
  out.push(`## ${result.title}${result.quick ? " (quick mode: indicative only)" : ""}`);
  out.push(`${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.date}, load average ${m.loadAverage} at start, ${loadavg()[0]?.toFixed(2)} at end`);
  out.push("");
  out.push(pad(header, widths, right));
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) out.push(pad(l, widths, right));
  const derived = Object.entries(result.derived);
  if (derived.length > 0) {
    out.push("");
    for (const [k, v] of derived) out.push(`${k}: ${typeof v === "number" ? formatNumber(v) : v}`);
  }
  if (result.targets.length > 0) {
    out.push("");
    out.push("targets:");
    for (const t of result.targets) {
      const mark = t.met === null ? "n/a " : t.met ? "MET " : "MISS";
      out.push(`  [${mark}] ${t.figure}: target ${t.target}; measured ${t.measured}`);
    }
  }
  for (const note of result.notes) out.push(`note: ${note}`);
  process.stdout.write(out.join("\n") + "\n");
}

/** Bar panels from the rows, one panel per group (or per unit when `byUnit`). */
export function barPanels(rows: readonly Row[], byUnit = false): BarPanel[] {
  const panels = new Map<string, { title: string; unit: string; bars: Bar[] }>();
  for (const row of rows) {
    const key = byUnit ? row.unit : `${row.group}|${row.unit}`;
    let panel = panels.get(key);
    if (panel === undefined) {
      panel = { title: byUnit ? row.unit : row.group, unit: row.unit, bars: [] };
      panels.set(key, panel);
    }
    panel.bars.push({
      label: byUnit ? `${row.group}: ${row.runtime}` : row.runtime,
      runtime: row.runtime,
      value: row.figure.median,
      lo: row.figure.min,
      hi: row.figure.max,
    });
  }
  return [...panels.values()];
}

export function writeResult(result: SuiteResult, chart: Chart, directory: URL): void {
  mkdirSync(directory, { recursive: true });
  writeFileSync(new URL(`${result.suite}.json`, directory), JSON.stringify(result, null, 2) + "\n");
  writeFileSync(new URL(`${result.suite}.svg`, directory), renderChart(chart));
}
