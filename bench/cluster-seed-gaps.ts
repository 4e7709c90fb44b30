/**
 * Where the wall time of many 1 ms tasks goes, seen from the workers: each
 * task records when it started and ended (performance clock, sub-ms), and
 * per worker thread this prints the lead (run start to its first task), the
 * gaps between its tasks (the longer ones: its node's main thread did not
 * feed it in time, or the machine had no core for it), and the tail (its
 * last task to the end of the run, where one node waits on the other);
 * also how far the 1 ms sleeps overshoot (the OS waking the thread late).
 * Lead + gaps + tail + overshoot is what the run takes beyond the ideal.
 * Run: `node bench/prepare.mjs && node .rayts-tmp/bench-build/bench/cluster-seed-gaps.js [reps]`;
 * LOCAL=1 runs the same on a local runtime of 2 CPUs instead.
 */
import { loadavg } from "node:os";
import * as ray from "../src/index.js";
import { LocalCluster } from "../src/cluster/local-cluster.js";

const TASKS = 10_000;
const reps = Number(process.argv[2] ?? "3");
const local = process.env["LOCAL"] === "1";

/** Bounds of the gap histogram, in ms. */
const BOUNDS = [0.05, 0.1, 0.2, 0.5, 2];

const cluster = local ? undefined : await LocalCluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
try {
  if (cluster === undefined) await ray.init({ numCpus: 2, includeDashboard: false });
  else await ray.init({ address: cluster.address, redisPassword: cluster.password });
  const stamped = ray.remote(() => {
    const start = performance.timeOrigin + performance.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    const end = performance.timeOrigin + performance.now();
    const context = ray.getRuntimeContext();
    return `${context.nodeAddress}/${context.workerId} ${start.toFixed(3)} ${end.toFixed(3)}`;
  });
  process.stdout.write(`load ${loadavg().map((l) => l.toFixed(2)).join(" ")}; rep 0 is the warm-up\n`);
  for (let rep = 0; rep <= reps; rep++) {
    const runStart = performance.timeOrigin + performance.now();
    const stamps = await ray.get(Array.from({ length: TASKS }, () => stamped.remote()));
    const runEnd = performance.timeOrigin + performance.now();
    const byWorker = new Map<string, [number, number][]>();
    for (const stamp of stamps) {
      const [worker = "", start = "0", end = "0"] = stamp.split(" ");
      let list = byWorker.get(worker);
      if (list === undefined) byWorker.set(worker, (list = []));
      list.push([Number(start), Number(end)]);
    }
    const histogram = new Array<number>(BOUNDS.length + 1).fill(0);
    let overshoot = 0;
    const lines: string[] = [];
    for (const [worker, list] of [...byWorker].sort((a, b) => a[0].localeCompare(b[0]))) {
      list.sort((a, b) => a[0] - b[0]);
      let gaps = 0;
      let long = 0;
      let previousEnd: number | undefined;
      for (const [start, end] of list) {
        overshoot += end - start - 1;
        if (previousEnd !== undefined) {
          const gap = start - previousEnd;
          gaps += gap;
          if (gap > 2) long += gap;
          const found = BOUNDS.findIndex((bound) => gap < bound);
          const bucket = found < 0 ? BOUNDS.length : found;
          histogram[bucket] = (histogram[bucket] ?? 0) + 1;
        }
        previousEnd = end;
      }
      const lead = (list[0]?.[0] ?? runStart) - runStart;
      const tail = runEnd - (previousEnd ?? runEnd);
      lines.push(`   ${worker}: ${list.length} tasks, lead ${lead.toFixed(0)} ms, gaps ${gaps.toFixed(0)} ms (over 2 ms: ${long.toFixed(0)}), tail ${tail.toFixed(0)} ms`);
    }
    const buckets = BOUNDS.map((bound, index) => `<${bound} ms ${histogram[index] ?? 0}`).join(", ");
    process.stdout.write(`rep ${rep}: ${(runEnd - runStart).toFixed(0)} ms; sleep overshoot ${((overshoot / TASKS) * 1000).toFixed(0)} us a task; gaps ${buckets}, longer ${histogram[BOUNDS.length] ?? 0}\n${lines.join("\n")}\n`);
  }
} finally {
  await ray.shutdown();
  await cluster?.shutdown();
}
