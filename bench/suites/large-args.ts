/**
 * Large arguments, seed 004: 1000 sequential calls `await get(f.remote(x))`
 * with a 4,200- and a 1,000,000-element Float64Array passed by value, as a
 * ref put once, and captured by a compiled remote function (put once on
 * first call, then passed by ref). Seed figures (Ray, 1M elements): by
 * value 3.04 s, ref 0.75 s, captured 0.77 s. Peers pass the array by value
 * (structured clone), which is all they offer.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import * as ray from "../../src/index.js";
import { compileFolder, REPO } from "../lib/raycompile.js";
import { startPiscina, startRayts, startWorkerpool } from "../lib/peers.js";
import { barPanels, newResult } from "../lib/report.js";
import { formatNumber, mapFigure, summarize } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { empty, peek } from "../workers/kernels.mjs";
import { settleHeap } from "../lib/heap.js";

const SIZES = [4_200, 1_000_000];

const suite: Suite = async (budget, progress) => {
  const calls = budget.quick ? 200 : 1_000;
  const reps = budget.quick ? 2 : 3;
  const result = newResult("large-args", "Large arguments (seed 004): by value vs ref put once vs compiled capture", budget.quick, {
    threads: THREADS,
    callsPerRepetition: calls,
    repetitions: reps,
    element: "Float64Array",
    pattern: "for 1..calls: await get(f.remote(arg))",
  });
  const wp = await startWorkerpool(THREADS);
  const pis = await startPiscina(THREADS);
  await startRayts(THREADS);
  const emptyTask = ray.remote(empty);
  const peekTask = ray.remote(peek);

  for (const size of SIZES) {
    const A = new Float64Array(size).fill(42);
    const ref = ray.put(A);
    const captured = ray.remoteFromModule<[number], number>({
      name: "peekCaptured",
      moduleUrl: new URL("../workers/capture-task.mjs", import.meta.url).href,
      exportName: "peekCaptured",
      captures: { A: () => A },
    });
    const cases: [string, () => Promise<unknown>][] = [
      ["rayts empty task", () => ray.get(emptyTask.remote())],
      ["rayts by value", () => ray.get(peekTask.remote(A))],
      ["rayts ref put once", () => ray.get(peekTask.remote(ref))],
      ["rayts capture (hand-written remoteFromModule)", () => ray.get(captured.remote(5))],
      ["workerpool by value", () => wp.exec("peek", [A]) as Promise<number>],
      ["piscina by value", () => pis.run(A, { name: "peek" }) as Promise<number>],
    ];
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (const [, call] of cases) for (let i = 0; i < 20; i++) await call(); // warm
    for (let rep = 0; rep < reps; rep++) {
      // Each repetition starts one case later, so no case always follows the same one.
      const order = [...cases.slice(rep % cases.length), ...cases.slice(0, rep % cases.length)];
      for (const [name, call] of order) {
        progress.step(`${formatNumber(size)} elements: ${name} ${rep + 1}/${reps}`);
        await settleHeap();
        const start = performance.now();
        for (let i = 0; i < calls; i++) await call();
        times.get(name)!.push(performance.now() - start);
      }
    }
    const group = groupOf(size);
    const emptyUs = summarize(times.get("rayts empty task")!).median * (1000 / calls);
    for (const [name, ms] of times) {
      const perCall = mapFigure(summarize(ms), (t) => (t * 1000) / calls);
      result.rows.push({
        group,
        runtime: name,
        unit: "us/call",
        figure: perCall,
        better: "lower",
        vs: `${(perCall.median / emptyUs).toFixed(2)}x empty task`,
        note: `${formatNumber(summarize(ms).median / 1000)} s per ${calls} calls`,
      });
    }
  }
  await ray.shutdown();
  await wp.terminate();
  await pis.destroy();

  // The compiled capture: a bench program compiled with raycompile, run in its own process.
  const compiled = runCompiledProgram(budget.quick, calls, progress.step.bind(progress));
  for (const row of compiled.rows) result.rows.push(row);
  if (compiled.note !== undefined) result.notes.push(compiled.note);

  const big = groupOf(1_000_000);
  const rowOf = (runtime: string) => result.rows.find((r) => r.group === big && r.runtime === runtime);
  const empty1m = rowOf("rayts empty task");
  for (const [runtime, label] of [
    ["rayts ref put once", "ref"],
    ["rayts capture (raycompile)", "compiled capture"],
  ] as const) {
    const row = rowOf(runtime);
    const base = runtime === "rayts capture (raycompile)" ? rowOf("rayts empty task (raycompile program)") : empty1m;
    result.targets.push(
      row === undefined || base === undefined
        ? { figure: `8 MB typed array arg via ${label}`, target: "per-call cost <= 1.5x an empty task", measured: "not measured (pending compiler)", met: null }
        : {
            figure: `8 MB typed array arg via ${label}`,
            target: "per-call cost <= 1.5x an empty task",
            measured: `${formatNumber(row.figure.median)} us vs ${formatNumber(base.figure.median)} us = ${(row.figure.median / base.figure.median).toFixed(2)}x`,
            met: row.figure.median <= 1.5 * base.figure.median,
          },
    );
  }
  result.notes.push("every call waits for the previous one (the seed's loop), so this is per-call latency, not throughput");
  return { result, chart: { kind: "bars", title: `Seed 004: per-call cost with a large argument (${calls} sequential calls)`, panels: barPanels(result.rows) } };
};

interface CompiledRows {
  rows: { group: string; runtime: string; unit: string; figure: ReturnType<typeof summarize>; better: "lower"; vs?: string; note?: string }[];
  note?: string;
}

/**
 * Compiles bench/programs with raycompile (from dist/, so `npm run build`
 * first) and runs the large-args program, which prints one JSON line of
 * times. Returns no rows, and says why, when the compiler is unavailable.
 */
function runCompiledProgram(quick: boolean, calls: number, step: (message: string) => void): CompiledRows {
  step("compiling bench/programs with raycompile");
  const compiled = compileFolder("bench/programs", "bench-programs");
  if (!compiled.ok) return { rows: [], note: `compiled capture: pending compiler (${compiled.reason})` };
  const program = path.join(compiled.outDir, "large-args-capture.js");
  step("running the compiled large-args program");
  const run = spawnSync(process.execPath, [program, String(calls), quick ? "2" : "3"], { encoding: "utf8", cwd: REPO });
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  if (run.status !== 0 || line === undefined) return { rows: [], note: `compiled capture: program failed: ${run.stderr.trim().split("\n").slice(0, 6).join(" | ")}` };
  const measured = JSON.parse(line) as Record<string, Record<string, number[]>>;
  const rows: CompiledRows["rows"] = [];
  for (const [size, cases] of Object.entries(measured)) {
    const emptyMs = summarize(cases["empty"] ?? [NaN]).median;
    for (const [name, ms] of Object.entries(cases)) {
      rows.push({
        group: groupOf(Number(size)),
        runtime: name === "empty" ? "rayts empty task (raycompile program)" : "rayts capture (raycompile)",
        unit: "us/call",
        figure: mapFigure(summarize(ms), (t) => (t * 1000) / calls),
        better: "lower",
        vs: `${(summarize(ms).median / emptyMs).toFixed(2)}x empty task of its process`,
        note: "separate process, compiled by raycompile",
      });
    }
  }
  return { rows };
}

function groupOf(size: number): string {
  return `${size.toLocaleString("en-US")} elements (${formatNumber((size * 8) / 1e6)} MB)`;
}

export default suite;
