/**
 * Pipeline, seed 000: tasks of random duration, each result processed on
 * the driver. The seed's point: process results as they come (`wait`)
 * instead of after the slowest (batch `get`). Compared: batch get, the
 * seed's wait loop, `mapPipelined`, and the pools' as-completed promises.
 * Task and processing durations are scaled down from the seed's 0..4 s
 * and 1 s.
 */
import * as ray from "../../src/index.js";
import { mapPipelined } from "../../src/index.js";
import { calibrateSpin, startPiscina, startRayts, startWorkerpool } from "../lib/peers.js";
import { barPanels, newResult } from "../lib/report.js";
import { formatNumber, summarize } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { spin } from "../workers/kernels.mjs";

const suite: Suite = async (budget, progress) => {
  const perUs = calibrateSpin();
  const tasks = budget.quick ? 12 : 24;
  const maxTaskMs = budget.quick ? 20 : 40;
  const processMs = budget.quick ? 5 : 10;
  const reps = budget.quick ? 3 : 5;
  // Seeded durations, the same for every runtime and repetition.
  let seed = 12345;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const iterations = Array.from({ length: tasks }, () => Math.round(random() * maxTaskMs * 1000 * perUs));
  const processIterations = Math.round(processMs * 1000 * perUs);
  const result = newResult("pipeline", "Pipeline (seed 000): batch get vs wait loop vs mapPipelined", budget.quick, {
    threads: THREADS,
    tasks,
    taskDurationMs: `uniform 0..${maxTaskMs}`,
    processingPerResultMs: processMs,
    repetitions: reps,
  });
  const processOne = (sum: number, value: number): number => sum + value * 0 + (spin(processIterations) & 0) + 1;

  const wp = await startWorkerpool(THREADS);
  const pis = await startPiscina(THREADS);
  await startRayts(THREADS);
  const work = ray.remote(spin);

  const asCompleted = async (promises: Promise<number>[]): Promise<number> => {
    let sum = 0;
    await Promise.all(promises.map((p) => p.then((v) => void (sum = processOne(sum, v)))));
    return sum;
  };
  const variants: [string, () => Promise<number>][] = [
    [
      "serial",
      async () => {
        let sum = 0;
        for (const n of iterations) sum = processOne(sum, spin(n));
        return sum;
      },
    ],
    [
      "rayts batch get",
      async () => {
        const values = await ray.get(iterations.map((n) => work.remote(n)));
        let sum = 0;
        for (const v of values) sum = processOne(sum, v);
        return sum;
      },
    ],
    [
      "rayts wait loop",
      async () => {
        let pending = iterations.map((n) => work.remote(n));
        let sum = 0;
        while (pending.length > 0) {
          const [done, rest] = await ray.wait(pending);
          sum = processOne(sum, await ray.get(done[0]!));
          pending = rest;
        }
        return sum;
      },
    ],
    [
      "rayts mapPipelined",
      async () => {
        let sum = 0;
        for await (const v of mapPipelined(work, iterations)) sum = processOne(sum, v);
        return sum;
      },
    ],
    ["workerpool as-completed", () => asCompleted(iterations.map((n) => wp.exec("spin", [n]) as Promise<number>))],
    ["piscina as-completed", () => asCompleted(iterations.map((n) => pis.run(n, { name: "spin" }) as Promise<number>))],
  ];
  const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
  for (const [name, run] of variants) {
    progress.step(`${name}: warmup`);
    if ((await run()) !== tasks) throw new Error(`${name} processed the wrong number of results`);
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, run] of variants) {
      progress.step(`${name}: ${rep + 1}/${reps}`);
      const start = performance.now();
      await run();
      times.get(name)!.push(performance.now() - start);
    }
  }
  await ray.shutdown();
  await wp.terminate();
  await pis.destroy();

  const totalTaskMs = iterations.reduce((a, n) => a + n / perUs / 1000, 0);
  const group = `${tasks} tasks (0..${maxTaskMs} ms) + ${processMs} ms processing each`;
  const serial = summarize(times.get("serial")!).median;
  const batch = summarize(times.get("rayts batch get")!).median;
  for (const [name, ms] of times) {
    const figure = summarize(ms);
    result.rows.push({ group, runtime: name, unit: "ms", figure, better: "lower", ...(name === "serial" ? {} : { vs: `${(serial / figure.median).toFixed(2)}x speedup, ${(batch / figure.median).toFixed(2)}x vs batch get` }) });
  }
  result.derived["task work in total (ms)"] = formatNumber(totalTaskMs);
  result.derived["processing in total (ms)"] = formatNumber(tasks * processMs);
  result.derived["ideal with 2 workers, perfect overlap (ms)"] = formatNumber(Math.max(totalTaskMs / THREADS, tasks * processMs));
  result.notes.push(`processing runs on the driver thread while ${THREADS} workers compute: 3 busy threads on ${result.machine.cores} cores`);
  return { result, chart: { kind: "bars", title: "Seed 000 pipeline: process as results arrive (ms, lower is better)", panels: barPanels(result.rows) } };
};

export default suite;
