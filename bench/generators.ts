/**
 * Streaming generator vs returning an array: 10,000 small items.
 *
 *   node --import tsx bench/generators.ts           writes bench/results/generators.json
 *   node --import tsx bench/generators.ts --quick   fewer repetitions, writes bench/results/generators.quick.json
 *
 * For each scenario, the median (with min and max) over the repetitions of:
 * - time to first item: from `.remote()` until the driver holds the first
 *   value (for the array, the whole array);
 * - total time: until the driver holds every value (streaming: `get` of each
 *   item's ref as it arrives).
 * Two kinds of item: free (the generator only yields) and with ~50 us of
 * work each, where streaming overlaps the producer with the consumer. The
 * runtime runs with `recordState: false`, except in `stream-0us-recorded`,
 * which shows what the state recorder (on by default) adds per item.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import * as ray from "../src/index.js";
import { machine } from "./lib/machine.js";
import { summarize, type Figure } from "./lib/stats.js";

const ITEMS = 10_000;
const quick = process.argv.includes("--quick");
const REPS = quick ? 3 : 9;

const asArray = ray.remote((n: number, workUs: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const until = performance.now() + workUs / 1000;
    while (workUs > 0 && performance.now() < until);
    out.push(i);
  }
  return out;
});

const asStream = ray.remote(function* (n: number, workUs: number) {
  for (let i = 0; i < n; i++) {
    const until = performance.now() + workUs / 1000;
    while (workUs > 0 && performance.now() < until);
    yield i;
  }
});

interface Run {
  readonly firstMs: number;
  readonly totalMs: number;
}

async function arrayRun(workUs: number): Promise<Run> {
  const start = performance.now();
  const values = await ray.get(asArray.remote(ITEMS, workUs));
  const ms = performance.now() - start;
  if (values.length !== ITEMS) throw new Error("lost items");
  return { firstMs: ms, totalMs: ms };
}

async function streamRun(workUs: number): Promise<Run> {
  const start = performance.now();
  let firstMs = 0;
  let count = 0;
  for await (const ref of asStream.remote(ITEMS, workUs)) {
    await ray.get(ref);
    if (count++ === 0) firstMs = performance.now() - start;
  }
  if (count !== ITEMS) throw new Error("lost items");
  return { firstMs, totalMs: performance.now() - start };
}

interface Result {
  readonly scenario: string;
  readonly workUsPerItem: number;
  readonly firstItemMs: Figure;
  readonly totalMs: Figure;
}

async function measure(scenario: string, workUs: number, run: (workUs: number) => Promise<Run>): Promise<Result> {
  await run(workUs); // warm-up: workers defined, code compiled
  const runs: Run[] = [];
  for (let rep = 0; rep < REPS; rep++) runs.push(await run(workUs));
  return {
    scenario,
    workUsPerItem: workUs,
    firstItemMs: summarize(runs.map((r) => r.firstMs)),
    totalMs: summarize(runs.map((r) => r.totalMs)),
  };
}

async function main(): Promise<void> {
  const host = machine();
  await ray.init({ numCpus: 2, includeDashboard: false, recordState: false });
  const results: Result[] = [];
  for (const workUs of [0, 50]) {
    results.push(await measure(`array-${workUs}us`, workUs, arrayRun));
    results.push(await measure(`stream-${workUs}us`, workUs, streamRun));
  }
  await ray.shutdown();
  // The default init records state for `ray.state` and the dashboard: one event per item.
  await ray.init({ numCpus: 2, includeDashboard: false });
  results.push(await measure("stream-0us-recorded", 0, streamRun));
  await ray.shutdown();
  for (const r of results) {
    console.log(
      `${r.scenario.padEnd(20)} first item ${r.firstItemMs.median.toFixed(2).padStart(8)} ms   total ${r.totalMs.median.toFixed(1).padStart(8)} ms   (median of ${r.totalMs.n})`,
    );
  }
  const file = fileURLToPath(new URL(`./results/generators${quick ? ".quick" : ""}.json`, import.meta.url));
  const loadAtEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  writeFileSync(file, `${JSON.stringify({ suite: "generators", machine: host, loadAverageAtEnd: loadAtEnd, items: ITEMS, loader: "tsx", results }, null, 2)}\n`);
  console.log(`load average ${host.loadAverage} at start, ${loadAtEnd} at end; wrote ${file}`);
}

await main();
