/**
 * Cluster fault tolerance on one machine (Redis, a head and three nodes of 2
 * CPUs on loopback, default heartbeat 1 s and death after 5 s), written to
 * bench/results/cluster-faults.json:
 * - time from a node's SIGKILL to the driver learning it died, and to the
 *   first result of its tasks run again elsewhere;
 * - the chaos workload (chained tasks, actor calls, borrowed 10 MB objects)
 *   without kills, then with three kills driven by progress, same run:
 *   results delivered and the slowdown.
 * Run: `node --import tsx bench/cluster-faults.ts`.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import * as ray from "../src/index.js";
import { LocalCluster } from "../src/cluster/local-cluster.js";
import { runChaosWorkload } from "../test/cluster/chaos-workload.js";

const SIZE = 120;
const cluster = await LocalCluster.start([{ numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }]);
try {
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  const head = cluster.nodes[0];
  if (head === undefined) throw new Error("no head");

  // Detection and first retried result.
  const stuckOn = ray.remote((victim: string, value: number) => {
    if (ray.getRuntimeContext().nodeId === victim) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    return value;
  });
  const victim = cluster.nodes[3];
  if (victim === undefined) throw new Error("no victim");
  const refs = [1, 2].map((value) => stuckOn.options({ scheduling: { nodeId: victim.nodeId, soft: true } }).remote(victim.nodeId, value));
  await ray.wait(refs, { timeout: 500 });
  const killedAt = performance.now();
  cluster.kill(victim);
  let firstResultMs = 0;
  const first = Promise.race(refs.map((ref) => ray.get(ref))).then(() => (firstResultMs = performance.now() - killedAt));
  while (ray.nodes().some((n) => n.nodeId === victim.nodeId)) await new Promise((resolve) => setTimeout(resolve, 10));
  const detectMs = performance.now() - killedAt;
  await first;
  await cluster.addNode({ numCpus: 2 });

  // The workload without chaos (after a warm-up), with chaos, and without again: same run.
  await runChaosWorkload(SIZE / 4, head.nodeId, () => undefined);
  const calmBefore = await runChaosWorkload(SIZE, head.nodeId, () => undefined);
  let arrived = 0;
  let kills = 0;
  let killing: Promise<void> = Promise.resolve();
  const chaos = await runChaosWorkload(SIZE, head.nodeId, () => {
    if (++arrived % 60 !== 0 || kills >= 3) return;
    kills++;
    killing = killing.then(async () => {
      const victims = cluster.nodes.filter((node) => node !== head);
      const node = victims[kills % victims.length];
      if (node === undefined) return;
      cluster.kill(node);
      await cluster.addNode({ numCpus: 2 });
    });
  });
  await killing;
  const calmAfter = await runChaosWorkload(SIZE, head.nodeId, () => undefined);
  const calm = { ms: (calmBefore.ms + calmAfter.ms) / 2, problems: [...calmBefore.problems, ...calmAfter.problems] };
  const delivered = (100 * chaos.results) / chaos.expected;
  const figure = (value: number): { median: number; min: number; max: number; n: number } => ({ median: value, min: value, max: value, n: 1 });
  const result = {
    suite: "cluster-faults",
    title: "Cluster fault tolerance on loopback: Redis + head + 3 nodes x 2 CPUs, heartbeat 1 s, dead after 5 s",
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version, date: new Date().toISOString(), loadAverage: loadavg()[0] },
    config: { nodes: 4, cpusPerNode: 2, workloadSize: SIZE, kills },
    rows: [
      { group: "SIGKILL to node declared dead (driver's view)", runtime: "rayts cluster", unit: "ms", figure: figure(detectMs) },
      { group: "SIGKILL to first retried result", runtime: "rayts cluster", unit: "ms", figure: figure(firstResultMs) },
      { group: "chaos workload without kills (mean of the runs before and after)", runtime: "rayts cluster", unit: "ms", figure: { median: calm.ms, min: Math.min(calmBefore.ms, calmAfter.ms), max: Math.max(calmBefore.ms, calmAfter.ms), n: 2 } },
      { group: `chaos workload with ${kills} kills`, runtime: "rayts cluster", unit: "ms", figure: figure(chaos.ms) },
      { group: "results delivered under chaos", runtime: "rayts cluster", unit: "%", figure: figure(delivered) },
    ],
    derived: {
      "slowdown under chaos": `${(chaos.ms / calm.ms).toFixed(2)}x`,
      problems: String(calm.problems.length + chaos.problems.length),
    },
  };
  writeFileSync(new URL("results/cluster-faults.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result.rows.map((row) => [row.group, Math.round(row.figure.median)]), null, 0), result.derived);
  await ray.shutdown();
} finally {
  await cluster.shutdown();
}
