/**
 * Reduce, seed 000: `Array.prototype.reduce` vs `aggList` (pairwise tree
 * fold on the driver) vs `aggListDistributed` (chunks folded on workers),
 * on list concatenation of [[1],[2]] * 100000 (the seed's test: reduce
 * 39 s, agg_list 0.21 s, agg_list_with_ray 0.165 s), on a numeric sum, and
 * on an expensive combine (~100 us of work per call).
 */
import * as ray from "../../src/index.js";
import { aggList, aggListDistributed } from "../../src/index.js";
import { repeat } from "../lib/harness.js";
import { calibrateSpin, startRayts } from "../lib/peers.js";
import type { Progress } from "../lib/progress.js";
import { barPanels, newResult, type SuiteResult } from "../lib/report.js";
import { formatNumber, summarize, type Figure } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";

type Variant = readonly [name: string, run: () => unknown];

async function measureAll(result: SuiteResult, progress: Progress, group: string, reps: number, variants: readonly Variant[]): Promise<Map<string, Figure>> {
  const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (const [name, run] of variants) await (progress.step(`${group}: ${name} warmup`), run());
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, run] of variants) {
      const [t] = await repeat(`${group}: ${name} ${rep + 1}/${reps}`, progress, 1, run, 0);
      times.get(name)!.push(t!);
    }
  }
  const figures = new Map<string, Figure>();
  const base = summarize(times.get("aggList") ?? times.values().next().value!).median;
  for (const [name, ms] of times) {
    const figure = summarize(ms);
    figures.set(name, figure);
    result.rows.push({ group, runtime: name, unit: "ms", figure, better: "lower", ...(name === "aggList" ? {} : { vs: `${(figure.median / base).toFixed(2)}x aggList` }) });
  }
  return figures;
}

/** A self-contained combine that burns ~`us` microseconds, built with the calibrated constant inlined (it is shipped as source). */
function expensiveCombine(iterations: number): (a: number, b: number) => number {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the cost is inlined as a constant so the function ships as plain source
  return new Function("a", "b", `let x = 0; for (let i = 0; i < ${iterations}; i++) x = (x + i * 7) % 1000003; return a + b + (x < 0 ? 1 : 0);`) as (a: number, b: number) => number;
}

const suite: Suite = async (budget, progress) => {
  const perUs = calibrateSpin();
  const concatItems = 200_000;
  const reduceConcatSizes = budget.quick ? [2_000, 5_000] : [5_000, 10_000];
  const sumItems = 1_000_000;
  const expensiveItems = budget.quick ? 500 : 2_000;
  const reps = budget.quick ? 3 : 5;
  const seedChunk = (n: number): number => Math.min(400, Math.floor(n / THREADS));
  const result = newResult("reduce", "Reduce (seed 000): reduce vs aggList vs aggListDistributed", budget.quick, {
    threads: THREADS,
    repetitions: reps,
    concatItems,
    sumItems,
    expensiveItems,
    expensiveCombineUs: 100,
    seedChunkRule: "min(400, n / workers)",
  });
  await startRayts(THREADS);
  const concat = (a: number[], b: number[]): number[] => a.concat(b);
  const add = (a: number, b: number): number => a + b;

  // 1. List concatenation of [[1],[2]] * 100000.
  const lists: number[][] = [];
  for (let i = 0; i < concatItems / 2; i++) lists.push([1], [2]);
  const c = await measureAll(result, progress, `list concat, ${concatItems.toLocaleString("en-US")} items`, reps, [
    ["aggList", () => aggList(concat, lists)],
    ["aggListDistributed auto", () => aggListDistributed(concat, lists)],
    [`aggListDistributed chunk ${seedChunk(concatItems)} (seed rule)`, () => aggListDistributed(concat, lists, { chunkSize: seedChunk(concatItems) })],
  ]);
  // reduce is O(n^2) here (39 s in the seed): timed on smaller inputs, then extrapolated.
  const reduceTimes: [number, Figure][] = [];
  for (const n of reduceConcatSizes) {
    const small = lists.slice(0, n);
    const ms = await repeat(`list concat: reduce on ${n}`, progress, 1, () => small.reduce(concat), 0);
    const figure = summarize(ms);
    reduceTimes.push([n, figure]);
    result.rows.push({ group: `list concat, ${n.toLocaleString("en-US")} items (reduce is O(n^2))`, runtime: "reduce", unit: "ms", figure, better: "lower" });
  }
  const [lastN, lastFigure] = reduceTimes[reduceTimes.length - 1]!;
  const extrapolated = lastFigure.median * (concatItems / lastN) ** 2;
  result.derived["reduce on 200,000 lists, rough quadratic extrapolation"] = `${formatNumber(extrapolated / 1000)} s (from ${lastN.toLocaleString("en-US")} items)`;

  // 2. Numeric sum.
  const numbers = Array.from({ length: sumItems }, (_, i) => i % 1000);
  const s = await measureAll(result, progress, `numeric sum, ${sumItems.toLocaleString("en-US")} numbers`, reps, [
    ["reduce", () => numbers.reduce(add)],
    ["aggList", () => aggList(add, numbers)],
    ["aggListDistributed auto", () => aggListDistributed(add, numbers)],
    [`aggListDistributed chunk ${seedChunk(sumItems)} (seed rule)`, () => aggListDistributed(add, numbers, { chunkSize: seedChunk(sumItems) })],
  ]);

  // 3. Expensive combine, ~100 us per call.
  const heavy = expensiveCombine(Math.round(100 * perUs));
  const values = Array.from({ length: expensiveItems }, (_, i) => i);
  const e = await measureAll(result, progress, `~100 us combine, ${expensiveItems.toLocaleString("en-US")} numbers`, reps, [
    ["reduce", () => values.reduce(heavy)],
    ["aggList", () => aggList(heavy, values)],
    ["aggListDistributed auto", () => aggListDistributed(heavy, values)],
    [`aggListDistributed chunk ${seedChunk(expensiveItems)} (seed rule)`, () => aggListDistributed(heavy, values, { chunkSize: seedChunk(expensiveItems) })],
  ]);
  await ray.shutdown();

  // Targets.
  const concatAgg = c.get("aggList")!;
  result.targets.push({ figure: "list-concat aggList of 200k items", target: "<= 50 ms", measured: `${formatNumber(concatAgg.median)} ms`, met: concatAgg.median <= 50 });
  const eAgg = e.get("aggList")!.median;
  const eDist = e.get("aggListDistributed auto")!.median;
  result.targets.push({ figure: "aggListDistributed, ~100 us combine", target: ">= 1.7x faster than aggList", measured: `${formatNumber(eDist)} ms vs ${formatNumber(eAgg)} ms = ${(eAgg / eDist).toFixed(2)}x faster`, met: eAgg / eDist >= 1.7 });
  const cheap = [
    ["list concat", c],
    ["numeric sum", s],
  ] as const;
  const worst = Math.max(...cheap.map(([, m]) => m.get("aggListDistributed auto")!.median / m.get("aggList")!.median));
  result.targets.push({
    figure: "aggListDistributed, cheap combine",
    target: "never more than 1.1x slower than aggList",
    measured: cheap.map(([name, m]) => `${name} ${(m.get("aggListDistributed auto")!.median / m.get("aggList")!.median).toFixed(2)}x`).join(", "),
    met: worst <= 1.1,
  });
  result.notes.push("fn is a plain self-contained function (shipped as source); `auto` chunking is aggListDistributed's default");
  return { result, chart: { kind: "bars", title: "Seed 000: reduce vs aggList vs aggListDistributed (ms, lower is better)", panels: barPanels(result.rows) } };
};

export default suite;
