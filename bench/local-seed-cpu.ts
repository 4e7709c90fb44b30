/**
 * The local-mode counterpart of cluster-seed-cpu.ts: 10,000 tasks of 1 ms on
 * a local runtime of 2 CPUs, run REPS times after a warm-up, and the CPU of
 * this process per 1000 tasks split into its main thread (the driver:
 * submits, scheduling, results) and the others (worker threads, V8 and libuv
 * helpers). A cluster node's main thread does the same driver work for the
 * tasks placed on it, plus the cluster's: comparing the two shows what the
 * cluster adds.
 * Run: `node bench/prepare.mjs && node .rayts-tmp/bench-build/bench/local-seed-cpu.js [reps]`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as ray from "../src/index.js";

const TASKS = 10_000;
const reps = Number(process.argv[2] ?? "3");

/** CPU ms of this process's main thread and of all its other threads. */
function threadCpu(): { main: number; others: number } {
  const split = { main: 0, others: 0 };
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const fields = (readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      if (tid === String(process.pid)) split.main += ms;
      else split.others += ms;
    } catch {
      // the thread ended
    }
  }
  return split;
}

await ray.init({ numCpus: 2, includeDashboard: false });
try {
  const sleeper = ray.remote(() => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    return "done";
  });
  const run = (): Promise<string[]> => ray.get(Array.from({ length: TASKS }, () => sleeper.remote()));
  await run();
  const before = threadCpu();
  const times: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  const after = threadCpu();
  const per1000 = (ms: number): string => ((ms / (TASKS * reps)) * 1000).toFixed(1);
  process.stdout.write(
    `load ${loadavg().map((l) => l.toFixed(2)).join(" ")}, ${reps} x ${TASKS} tasks on 2 local CPUs\n` +
      `  main thread ${per1000(after.main - before.main)}, other threads ${per1000(after.others - before.others)} CPU ms / 1000 tasks\n` +
      `  run ms: ${times.map((t) => t.toFixed(0)).join(" ")} (ideal ${TASKS / 2})\n`,
  );
} finally {
  await ray.shutdown();
}
