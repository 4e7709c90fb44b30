/**
 * What state recording costs per task, in CPU: batches of 10,000 empty
 * tasks (or actor calls) with the recorder attached and detached, the order
 * flipped every round, on one runtime. Prints the median CPU per task of
 * the main thread (the driver: where recording runs) and of all threads,
 * and the median per-round on/off throughput ratio.
 * Run: `node bench/prepare.mjs && node .rayts-tmp/bench-build/bench/recording-cpu.js [rounds] [tasks|calls]`.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import * as ray from "../src/index.js";
import { state as threadState } from "../src/core/runtime/global-state.js";
import { DriverRuntime } from "../src/core/runtime/runtime.js";
import { LocalObservation } from "../src/dashboard/observation.js";
import { empty } from "./workers/kernels.mjs";

const BATCH = 10_000;
const rounds = Number(process.argv[2] ?? "15");
const kind = process.argv[3] ?? "tasks";

/** CPU us of this process's main thread so far (schedstat counts nanoseconds on the CPU). */
function mainCpuUs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
}

class Counter {
  n = 0;
  inc(): number {
    return ++this.n;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

await ray.init({ numCpus: 2, includeDashboard: false });
try {
  const backend = threadState.backend;
  const observation = backend instanceof DriverRuntime ? backend.observation : undefined;
  if (!(observation instanceof LocalObservation)) throw new Error("expected rayts to record state by default");
  const f = ray.remote(empty);
  const counter = ray.remote(Counter).remote();
  const submit = kind === "calls" ? () => counter.inc.remote() : () => f.remote();
  let gcMs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcs.observe({ entryTypes: ["gc"] });
  const run = async (on: boolean): Promise<{ seconds: number; allUs: number; mainUs: number; gcUs: number }> => {
    observation.setRecording(on);
    // Collections owed by the previous batch are not this one's.
    await new Promise((resolve) => setImmediate(resolve));
    const gcBefore = gcMs;
    const refs = new Array<ray.ObjectRef<number>>(BATCH);
    const main = mainCpuUs();
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) refs[i] = submit();
    await ray.get(refs);
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const mainUs = mainCpuUs() - main;
    observation.setRecording(true);
    await new Promise((resolve) => setImmediate(resolve));
    return { seconds, allUs: (used.user + used.system) / BATCH, mainUs: mainUs / BATCH, gcUs: ((gcMs - gcBefore) * 1000) / BATCH };
  };
  for (let i = 0; i < 4; i++) {
    await run(true);
    await run(false);
  }
  const on: Awaited<ReturnType<typeof run>>[] = [];
  const off: Awaited<ReturnType<typeof run>>[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      on.push(await run(true));
      off.push(await run(false));
    } else {
      off.push(await run(false));
      on.push(await run(true));
    }
  }
  if (process.env["VERBOSE"] === "1") for (const [i, s] of on.entries()) process.stdout.write(`round ${i}: on ${(s.seconds * 1000).toFixed(0)} ms ${s.allUs.toFixed(2)} us, off ${((off[i]?.seconds ?? NaN) * 1000).toFixed(0)} ms ${(off[i]?.allUs ?? NaN).toFixed(2)} us\n`);
  gcs.disconnect();
  const ratio = median(on.map((s, i) => (off[i]?.seconds ?? NaN) / s.seconds));
  const fmt = (xs: number[]): string => median(xs).toFixed(2);
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2);
  process.stdout.write(
    `load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${rounds} rounds of ${BATCH} ${kind}\n` +
      `  CPU us per ${kind === "calls" ? "call" : "task"}, all threads: on ${fmt(on.map((s) => s.allUs))}, off ${fmt(off.map((s) => s.allUs))}\n` +
      `  CPU us per ${kind === "calls" ? "call" : "task"}, main thread: on ${fmt(on.map((s) => s.mainUs))}, off ${fmt(off.map((s) => s.mainUs))}\n` +
      `  GC pause us per ${kind === "calls" ? "call" : "task"} (mean: few batches collect): on ${mean(on.map((s) => s.gcUs))}, off ${mean(off.map((s) => s.gcUs))}\n` +
      `  throughput on/off, median round: ${(ratio * 100).toFixed(1)}%\n`,
  );
} finally {
  await ray.shutdown();
}
