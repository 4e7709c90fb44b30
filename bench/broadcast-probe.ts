/**
 * Diagnostic for the broadcast figures: a cluster of 6 nodes, three with
 * fan-out off (RAYTS_OBJECT_FANOUT=0: each pulls from the driver) and three
 * with it on; per round and per group, one 100 MB transfer from the driver
 * to one node and one to the group's three at once, printing wall time,
 * per process user and kernel CPU and minor page faults, and the bytes the
 * nodes passed on to each other (rayts:served).
 * With STRACE=1, syscalls of the driver and of the first node are counted
 * (strace -c) over one transfer to that node.
 * Run: GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --import tsx bench/broadcast-probe.ts
 */
import * as ray from "../src/index.js";
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { SERVED } from "../src/cluster/holders.js";
import { LocalCluster } from "../src/cluster/local-cluster.js";
import { cpuSplit } from "./lib/loopback.js";

const N = 12_500_000;
process.env["RAYTS_NODE_DEAD_MS"] ??= "60000";
const spec = { numCpus: 2, objectStoreMemory: 2 ** 31 };
process.env["RAYTS_OBJECT_FANOUT"] = "0";
const cluster = await LocalCluster.start([spec, spec, spec]);
process.env["RAYTS_OBJECT_FANOUT"] = "1";
const admin = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password });
try {
  for (let index = 0; index < 3; index++) await cluster.addNode(spec);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  while (ray.nodes().length < 6) await new Promise((resolve) => setTimeout(resolve, 50));
  const byId = new Map(ray.nodes().map((node) => [node.nodeId, node]));
  const groups = {
    star: cluster.nodes.slice(0, 3).map((node) => byId.get(node.nodeId) as ray.NodeInfo),
    fan: cluster.nodes.slice(3).map((node) => byId.get(node.nodeId) as ray.NodeInfo),
  };
  // Fields `<node>` count every byte sent; `<node>:partial` repeat those sent from a copy still being pulled.
  const nodesSent = async (): Promise<number> =>
    Object.entries(await admin.hgetall(SERVED)).reduce((total, [field, bytes]) => (field.includes(":") ? total : total + Number(bytes)), 0);
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
    for (const name of rep % 2 === 0 ? (["star", "fan"] as const) : (["fan", "star"] as const)) {
      const all = groups[name];
      const single = ray.put(new Float64Array(N).fill(rep));
      const target = all[rep % 3] as ray.NodeInfo;
      await measure(`${name} one  `, () => ray.get(take.options({ scheduling: { nodeId: target.nodeId } }).remote(single)));
      const shared = ray.put(new Float64Array(N).fill(rep));
      const before = await nodesSent();
      await measure(`${name} three`, () => ray.get(all.map((node) => take.options({ scheduling: { nodeId: node.nodeId } }).remote(shared))));
      await new Promise((resolve) => setTimeout(resolve, 100)); // the counters land just after the responses
      console.log(`${name} three: nodes passed on ${((await nodesSent()) - before) / (N * 8)} object sizes`);
    }
  }
} finally {
  admin.disconnect();
  await ray.shutdown();
  await cluster.shutdown();
}
