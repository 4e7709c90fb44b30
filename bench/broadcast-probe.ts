/**
 * Diagnostic for the broadcast figures: a cluster of 3 nodes, one 100 MB
 * transfer to one node and one to all three at once per round, printing
 * wall time and, per process, user and kernel CPU and minor page faults.
 * With STRACE=1, syscalls of the driver and of the first node are counted
 * (strace -c) over one transfer to that node.
 * Run: GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --import tsx bench/broadcast-probe.ts
 */
import * as ray from "../src/index.js";
import { spawn } from "node:child_process";
import { LocalCluster } from "../src/cluster/local-cluster.js";
import { cpuSplit } from "./lib/loopback.js";

const N = 12_500_000;
process.env["RAYTS_NODE_DEAD_MS"] ??= "60000";
const spec = { numCpus: 2, objectStoreMemory: 2 ** 31 };
const cluster = await LocalCluster.start([spec, spec, spec]);
try {
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  while (ray.nodes().length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  const all = ray.nodes();
  const pids = [process.pid, ...cluster.nodes.map((node) => node.pid)];
  const names = ["driver", ...cluster.nodes.map((_, index) => `node${index + 1}`)];
  const take = ray.remote((values: Float64Array) => values.length);
  const measure = async (label: string, run: () => Promise<unknown>): Promise<void> => {
    const before = pids.map(cpuSplit);
    const start = performance.now();
    await run();
    const ms = performance.now() - start;
    const parts = pids.map((pid, index) => {
      const now = cpuSplit(pid);
      const then = before[index] as ReturnType<typeof cpuSplit>;
      return `${names[index] ?? ""} u${now.user - then.user} s${now.sys - then.sys} f${now.faults - then.faults}`;
    });
    console.log(`${label} ${ms.toFixed(0)} ms | ${parts.join(" | ")}`);
  };
  const onFirst = { scheduling: { nodeId: cluster.nodes[0]?.nodeId ?? "" } };
  if (process.env["STRACE"] === "1") {
    for (const pid of [process.pid, cluster.nodes[0]?.pid ?? 0]) {
      const ref = ray.put(new Float64Array(N).fill(1));
      const tracer = spawn("strace", ["-c", "-f", "-p", String(pid)], { stdio: ["ignore", "inherit", "inherit"] });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await measure(`strace ${pid === process.pid ? "driver" : "node1"}`, () => ray.get(take.options(onFirst).remote(ref)));
      tracer.kill("SIGINT");
      await new Promise((resolve) => tracer.once("exit", resolve));
    }
  }
  for (let rep = 0; rep < Number(process.env["REPS"] ?? 4); rep++) {
    const single = ray.put(new Float64Array(N).fill(rep));
    const target = all[rep % 3] as ray.NodeInfo;
    await measure("one  ", () => ray.get(take.options({ scheduling: { nodeId: target.nodeId } }).remote(single)));
    const shared = ray.put(new Float64Array(N).fill(rep));
    await measure("three", () => ray.get(all.map((node) => take.options({ scheduling: { nodeId: node.nodeId } }).remote(shared))));
  }
} finally {
  await ray.shutdown();
  await cluster.shutdown();
}
