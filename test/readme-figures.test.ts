/**
 * Every figure in the README's benchmark section comes from a committed
 * results file: each number in the table (with its unit) must match, at the
 * precision shown, a figure of bench/results/<file>.json named in its row.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "./support/child.js";

interface Results {
  rows: { group: string; runtime: string; unit: string; figure: { median: number; min: number; max: number }; vs?: string; note?: string }[];
  derived: Record<string, string | number>;
}

/** Every number a results file states: figures, and the numbers inside its notes and derived values. */
function numbersOf(results: Results): number[] {
  const out: number[] = [];
  const fromText = (text: string | number | undefined): void => {
    for (const match of String(text ?? "").matchAll(/\d+(?:,\d{3})*(?:\.\d+)?/g)) out.push(Number(match[0].replaceAll(",", "")));
  };
  for (const row of results.rows) {
    out.push(row.figure.median, row.figure.min, row.figure.max);
    fromText(row.vs);
    fromText(row.note);
    fromText(row.group);
  }
  for (const [key, value] of Object.entries(results.derived)) {
    fromText(key);
    fromText(value);
  }
  return out;
}

/** The values a figure written as `text` (e.g. "20.4k", "0.87") may stand for, in the file's units. */
function candidates(value: number): number[] {
  // The same quantity in another unit: k (x1000), ms <-> s <-> us, or per 1000 calls (us/call -> s).
  return [value, value * 1000, value / 1000, value * 1e6, value / 1e6];
}

function decimals(text: string): number {
  return text.includes(".") ? (text.split(".")[1] as string).length : 0;
}

function matches(text: string, known: readonly number[]): boolean {
  const shown = Number(text.replaceAll(",", ""));
  const step = 10 ** -decimals(text);
  return candidates(shown).some((target) => {
    const tolerance = (step / 2) * (target / shown) + 1e-9;
    return known.some((v) => Math.abs(v - target) <= tolerance || Math.abs(Math.round(v) - target) <= 1e-9);
  });
}

test("every number in the README's benchmark table is in the results file its row names", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Benchmarks"), readme.indexOf("\n## ", readme.indexOf("## Benchmarks") + 3));
  const rows = section.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| question"));
  assert.ok(rows.length >= 10, `only ${rows.length} rows in the benchmark table`);
  const unknown: string[] = [];
  for (const row of rows) {
    const file = /\((overhead|granularity|large-args|reduce|pipeline|workloads|cluster)[;)]/.exec(row)?.[1];
    assert.ok(file !== undefined, `the row does not name its results file: ${row}`);
    const known = numbersOf(JSON.parse(readFileSync(join(REPO, "bench", "results", `${file}.json`), "utf8")) as Results);
    const cells = row.split("|").slice(2); // the question cell names sizes, not results
    for (const cell of cells) {
      for (const match of cell.matchAll(/(\d+(?:,\d{3})*(?:\.\d+)?)\s*(?:us|ms|s|x|k\/s|k calls\/s|MiB)\b/g)) {
        if (!matches(match[1] as string, known)) unknown.push(`${match[0]} (${file}) in: ${row}`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});
