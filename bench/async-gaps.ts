/**
 * Where the wall time of the overhead suite's async rows goes: batches of
 * 10,000 empty tasks (or actor calls) submitted in one synchronous loop and
 * awaited with one `get`, as the suite runs them. For each batch: the rate,
 * the CPU of the whole process and of its main thread (the driver) per
 * task, the driver's event-loop utilization, and the time and count of the
 * driver's garbage collections. On a loaded machine wall time swings with
 * the load; CPU per task and the collections do much less, and a batch
 * whose wall time is far above its driver CPU is waiting on something (a
 * collection whose helper threads do not get a core, or a thread given no
 * work).
 * Run: `node bench/prepare.mjs && node .rayts-tmp/bench-build/bench/async-gaps.js [task|actor] [reps]`.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { constants, PerformanceObserver, performance, type PerformanceEntry } from "node:perf_hooks";
import * as ray from "../src/index.js";
import { empty, spin } from "./workers/kernels.mjs";

const BATCH = 10_000;
const mode = process.argv[2] === "actor" ? "actor" : "task";
const reps = Number(process.argv[3] ?? "15");

/** CPU seconds of this process's main thread (Linux /proc; clock ticks of 10 ms). */
function mainCpu(): number {
  const fields = (readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The kind of a gc performance entry (perf_hooks.constants.NODE_PERFORMANCE_GC_*). */
function gcKind(entry: PerformanceEntry): number {
  const detail = (entry as { detail?: unknown }).detail as { kind?: number } | null | undefined;
  return detail?.kind ?? 0;
}

let gcMs = 0;
let majors = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    if (gcKind(entry) === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  }
}).observe({ entryTypes: ["gc"] });

class Counter {
  n = 0;
  inc(): number {
    return ++this.n;
  }
}

await ray.init({ numCpus: 2 });
const warm = ray.remote(spin);
await ray.get(Array.from({ length: 8 }, () => warm.remote(20_000)));
const f = ray.remote(empty);
const counter = ray.remote(Counter).remote();
await ray.get(counter.inc.remote());
const submit = mode === "actor" ? (): ray.ObjectRef<number> => counter.inc.remote() : (): ray.ObjectRef<number> => f.remote();
const batch = (): Promise<number[]> => {
  const refs = new Array<ray.ObjectRef<number>>(BATCH);
  for (let i = 0; i < BATCH; i++) refs[i] = submit();
  return ray.get(refs);
};
for (let i = 0; i < 3; i++) await batch();

interface Sample {
  rate: number;
  cpuUs: number;
  mainUs: number;
  elu: number;
  gcMs: number;
  majors: number;
}
const samples: Sample[] = [];
for (let rep = 0; rep < reps; rep++) {
  await new Promise((resolve) => setImmediate(resolve));
  const cpu0 = process.cpuUsage();
  const main0 = mainCpu();
  const elu0 = performance.eventLoopUtilization();
  const gc0 = gcMs;
  const majors0 = majors;
  const start = performance.now();
  await batch();
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  samples.push({
    rate: BATCH / wall,
    cpuUs: (cpu.user + cpu.system) / BATCH,
    mainUs: ((mainCpu() - main0) * 1e6) / BATCH,
    elu: performance.eventLoopUtilization(elu0).utilization,
    gcMs: gcMs - gc0,
    majors: majors - majors0,
  });
}
const median = (pick: (sample: Sample) => number): number => {
  const sorted = samples.map(pick).sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? NaN;
};
const total = samples.reduce((sum, sample) => sum + sample.majors, 0);
console.log(
  `${mode === "actor" ? "actor calls" : "empty tasks"}, ${reps} batches of ${BATCH} (load ${loadavg()[0]?.toFixed(1)}): ` +
    `median ${(median((s) => s.rate) / 1000).toFixed(1)}k/s, CPU ${median((s) => s.cpuUs).toFixed(2)} us a call (driver ${median((s) => s.mainUs).toFixed(2)}), ` +
    `driver ELU ${median((s) => s.elu).toFixed(2)}, GC ${median((s) => s.gcMs).toFixed(1)} ms a batch, ${total} major collections`,
);
await ray.shutdown();
