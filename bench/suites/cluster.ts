/**
 * Cluster mode on one machine: Redis and two node daemons (2 CPUs each) on
 * loopback addresses, this process as the driver.
 * - cross-node tiny-task throughput through Redis (target >= 20,000 tasks/s);
 * - node-to-node transfer of a 200 MB Float64Array (target >= 1 GB/s), and
 *   the driver pulling one;
 * - broadcast: one 100 MB Float64Array the driver put, taken by a task on
 *   each of 3 nodes at once, against one task on one node taking one
 *   (target <= 2x), beside the same-run floor of raw TCP loopback copies to
 *   1 and to 3 receiver processes at once, with CPU (user, kernel) and page
 *   faults of the sender and of each receiver; then the same with the
 *   object made by a task on a fourth node (node to node);
 * - 10,000 tasks of 1 ms returning their node's address, against
 *   the ideal 10,000 ms / total slots (target within 1.3x), beside the same
 *   program on one local runtime with 2 CPUs in the same run.
 * Same-run baselines and counts: a raw TCP loopback copy of the same bytes
 * into fresh shared memory and into touched memory (transfers read as a
 * fraction of it), Redis commands per task and CPU time per task over every
 * process of the cluster (driver, nodes, Redis).
 */
import * as ray from "../../src/index.js";
import { Redis } from "ioredis";
import { LocalCluster } from "../../src/cluster/local-cluster.js";
import { SERVED } from "../../src/cluster/holders.js";
import { commandCounts, cpuMs, cpuSplit, rawLoopbackBroadcast, rawLoopbackCopy, type RawBroadcast } from "../lib/loopback.js";
import { repeat } from "../lib/harness.js";
import { barPanels, newResult } from "../lib/report.js";
import { formatNumber, mapFigure, summarize } from "../lib/stats.js";
import type { Suite } from "../lib/suite.js";

const NODE_CPUS = 2;
/** CPU (ms) and minor page faults of the sender and of each receiver over one transfer or broadcast. */
interface Usage {
  readonly sender: { user: number; sys: number; faults: number };
  readonly receivers: { user: number; sys: number; faults: number }[];
}
const BIG = 25_000_000; // float64: 200 MB
const BROADCAST = 12_500_000; // float64: 100 MB

const suite: Suite = async (budget, progress) => {
  const reps = budget.quick ? 3 : 5;
  const tiny = budget.quick ? 10_000 : 20_000;
  const result = newResult("cluster", "Cluster mode on loopback: Redis + 2 nodes x 2 CPUs", budget.quick, { nodes: 2, cpusPerNode: NODE_CPUS, tinyTasks: tiny, bigBytes: BIG * 8 });
  // Throughput, not fault tolerance, is measured here (bench/cluster-faults.ts does that): on a loaded
  // machine, a node whose event loop first touches 200 MB of fresh memory may miss heartbeats for seconds.
  process.env["RAYTS_NODE_DEAD_MS"] ??= "60000";
  progress.step("starting Redis and two nodes");
  const cluster = await LocalCluster.start([{ numCpus: NODE_CPUS, objectStoreMemory: 2 ** 31 }, { numCpus: NODE_CPUS, objectStoreMemory: 2 ** 31 }]);
  let seedCluster: number[] = [];
  const admin = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password, lazyConnect: true });
  /** Redis commands and CPU time of every cluster process over `run`. */
  const counted = async <T>(run: () => Promise<T>): Promise<{ value: T; commands: Map<string, number>; cpu: number; each: number[] }> => {
    const pids = [process.pid, cluster.redis.pid, ...cluster.nodes.map((node) => node.pid)];
    await admin.config("RESETSTAT");
    const before = pids.map(cpuMs);
    const value = await run();
    const each = pids.map((pid, index) => cpuMs(pid) - (before[index] as number));
    const cpu = each.reduce((sum, ms) => sum + ms, 0);
    const commands = commandCounts(await admin.info("commandstats"));
    commands.delete("config|resetstat");
    commands.delete("config");
    return { value, commands, cpu, each };
  };
  const total = (counts: Map<string, number>): number => [...counts.values()].reduce((sum, n) => sum + n, 0);
  try {
    await admin.connect();
    await ray.init({ address: cluster.address, redisPassword: cluster.password });
    const [a, b] = ray.nodes();
    if (a === undefined || b === undefined) throw new Error("expected two nodes");

    const inc = ray.remote((x: number) => x + 1);
    const tinyRun = await counted(() => repeat("tiny tasks", progress, reps, () => ray.get(Array.from({ length: tiny }, (_, i) => inc.remote(i)))));
    const tinyMs = tinyRun.value;
    const tinyCount = tiny * (reps + 1); // with the warmup
    result.derived["tiny: tasks per Redis command"] = Number((tinyCount / total(tinyRun.commands)).toFixed(1));
    result.derived["tiny: CPU ms per 1000 tasks, all processes"] = Number(((tinyRun.cpu / tinyCount) * 1000).toFixed(1));
    const rate = summarize(tinyMs.map((ms) => tiny / (ms / 1000)));
    result.rows.push({ group: "tiny tasks across 2 nodes", runtime: "rayts cluster", unit: "tasks/s", figure: rate, better: "higher" });
    result.targets.push({ figure: "cross-node tiny-task throughput", target: ">= 20,000 tasks/s", measured: `${formatNumber(rate.median)} tasks/s`, met: rate.median >= 20_000 });

    const make = ray.remote((n: number) => new Float64Array(n).fill(1));
    const length = ray.remote((values: Float64Array) => values.length);
    const onA = { scheduling: { nodeId: a.nodeId } };
    const onB = { scheduling: { nodeId: b.nodeId } };
    const transfer: number[] = [];
    const pull: number[] = [];
    const rawFresh: number[] = [];
    const rawTouched: number[] = [];
    const touched = new Uint8Array(BIG * 8).fill(1);
    for (let rep = 0; rep < reps; rep++) {
      const big = make.options(onA).remote(BIG);
      await ray.wait([big]);
      progress.step(`200 MB node to node ${rep + 1}/${reps}`);
      let start = performance.now();
      await ray.get(length.options(onB).remote(big));
      transfer.push(performance.now() - start);
      progress.step(`200 MB to the driver ${rep + 1}/${reps}`);
      start = performance.now();
      await ray.get(big);
      pull.push(performance.now() - start);
      progress.step(`raw TCP loopback copies ${rep + 1}/${reps}`);
      rawFresh.push(await rawLoopbackCopy(a.address, BIG * 8, () => new Uint8Array(new SharedArrayBuffer(BIG * 8))));
      rawTouched.push(await rawLoopbackCopy(a.address, BIG * 8, () => touched));
    }
    const gbps = (ms: number): number => (BIG * 8) / 1e9 / (ms / 1000);
    const nodeRate = summarize(transfer.map(gbps));
    result.rows.push({ group: "200 MB Float64Array", runtime: "node A -> node B (task arg)", unit: "GB/s", figure: nodeRate, better: "higher" });
    result.rows.push({ group: "200 MB Float64Array", runtime: "node A -> driver (get)", unit: "GB/s", figure: summarize(pull.map(gbps)), better: "higher" });
    const rawRate = summarize(rawFresh.map(gbps));
    result.rows.push({ group: "200 MB Float64Array", runtime: "raw TCP loopback into fresh memory", unit: "GB/s", figure: rawRate, better: "higher" });
    result.rows.push({ group: "200 MB Float64Array", runtime: "raw TCP loopback into touched memory", unit: "GB/s", figure: summarize(rawTouched.map(gbps)), better: "higher" });
    result.derived["node-to-node transfer / raw loopback into fresh memory"] = Number((nodeRate.median / rawRate.median).toFixed(2));
    result.targets.push({ figure: "node-to-node transfer of 200 MB", target: ">= 1 GB/s", measured: `${nodeRate.median.toFixed(2)} GB/s`, met: nodeRate.median >= 1 });

    const whereAmI = ray.remote(() => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      return ray.getRuntimeContext().nodeAddress;
    });
    const seedRun = await counted(() => repeat("10,000 x 1 ms tasks on 2 nodes", progress, reps, () => ray.get(Array.from({ length: 10_000 }, () => whereAmI.remote()))));
    seedCluster = seedRun.value;
    result.derived["1 ms tasks: tasks per Redis command"] = Number((10_000 * (reps + 1) / total(seedRun.commands)).toFixed(1));
    const seedPer1000 = (ms: number): number => Number(((ms / (10_000 * (reps + 1))) * 1000).toFixed(1));
    result.derived["1 ms tasks: CPU ms per 1000 tasks, all processes"] = seedPer1000(seedRun.cpu);
    const [driverCpu = 0, redisCpu = 0, ...nodeCpu] = seedRun.each;
    result.derived["1 ms tasks: CPU ms per 1000 tasks, driver / nodes / Redis"] = `${seedPer1000(driverCpu)} / ${nodeCpu.map(seedPer1000).join(" + ")} / ${seedPer1000(redisCpu)}`;

    progress.step("starting a third node");
    await cluster.addNode({ numCpus: NODE_CPUS, objectStoreMemory: 2 ** 31 });
    while (ray.nodes().length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    const all = ray.nodes();
    // The transfer alone: a task that only takes the argument (a sum over 100 MB costs more CPU than moving it).
    const take = ray.remote((values: Float64Array) => values.length);
    const nodePids = cluster.nodes.map((node) => node.pid);
    const one: number[] = [];
    const three: number[] = [];
    const oneCpu: Usage[] = [];
    const threeCpu: Usage[] = [];
    const raw1: RawBroadcast[] = [];
    const raw3: RawBroadcast[] = [];
    const raw1Touched: RawBroadcast[] = [];
    const raw3Touched: RawBroadcast[] = [];
    /** Bytes the nodes sent on to each other per broadcast (fan-out), in object sizes. */
    const passedOn: number[] = [];
    const nodesSent = async (): Promise<number> => {
      const counts = await admin.hgetall(SERVED);
      return cluster.nodes.reduce((total, node) => total + Number(counts[node.nodeId] ?? 0), 0);
    };
    const rawEnv = process.env["GLIBC_TUNABLES"] === undefined ? { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" } : process.env;
    /** CPU of the driver (the sender) and of each node (the receivers) over `run`. */
    const usage = async (run: () => Promise<unknown>): Promise<{ ms: number; cpu: Usage }> => {
      const pids = [process.pid, ...nodePids];
      const before = pids.map(cpuSplit);
      const start = performance.now();
      await run();
      const ms = performance.now() - start;
      const used = pids.map((pid, index) => {
        const now = cpuSplit(pid);
        const then = before[index] as Usage["sender"];
        return { user: now.user - then.user, sys: now.sys - then.sys, faults: now.faults - then.faults };
      });
      return { ms, cpu: { sender: used[0] as Usage["sender"], receivers: used.slice(1) } };
    };
    for (let rep = 0; rep < reps; rep++) {
      // A fresh object each time, so that no node holds it yet.
      const single = ray.put(new Float64Array(BROADCAST).fill(rep));
      progress.step(`100 MB to one node ${rep + 1}/${reps}`);
      const target = all[rep % 3] as ray.NodeInfo;
      const alone = await usage(() => ray.get(take.options({ scheduling: { nodeId: target.nodeId } }).remote(single)));
      one.push(alone.ms);
      oneCpu.push({ sender: alone.cpu.sender, receivers: alone.cpu.receivers.filter((_, index) => cluster.nodes[index]?.nodeId === target.nodeId) });
      const shared = ray.put(new Float64Array(BROADCAST).fill(rep));
      progress.step(`100 MB to three nodes ${rep + 1}/${reps}`);
      const sentBefore = await nodesSent();
      const together = await usage(() => ray.get(all.map((node) => take.options({ scheduling: { nodeId: node.nodeId } }).remote(shared))));
      three.push(together.ms);
      passedOn.push((await nodesSent()) - sentBefore);
      threeCpu.push(together.cpu);
      progress.step(`raw loopback broadcasts ${rep + 1}/${reps}`);
      raw1.push(await rawLoopbackBroadcast(a.address, BROADCAST * 8, 1, true, rawEnv));
      raw3.push(await rawLoopbackBroadcast(a.address, BROADCAST * 8, 3, true, rawEnv));
      raw1Touched.push(await rawLoopbackBroadcast(a.address, BROADCAST * 8, 1, false, rawEnv));
      raw3Touched.push(await rawLoopbackBroadcast(a.address, BROADCAST * 8, 3, false, rawEnv));
    }
    const oneFigure = summarize(one);
    const threeFigure = summarize(three);
    result.rows.push({ group: "100 MB broadcast", runtime: "driver -> 1 node", unit: "ms", figure: oneFigure, better: "lower" });
    result.rows.push({ group: "100 MB broadcast", runtime: "driver -> 3 nodes", unit: "ms", figure: threeFigure, better: "lower" });
    const raw1Figure = summarize(raw1.map((run) => run.ms));
    const raw3Figure = summarize(raw3.map((run) => run.ms));
    const raw1TouchedFigure = summarize(raw1Touched.map((run) => run.ms));
    const raw3TouchedFigure = summarize(raw3Touched.map((run) => run.ms));
    result.rows.push({ group: "100 MB broadcast", runtime: "raw TCP loopback -> 1 receiver, fresh memory", unit: "ms", figure: raw1Figure, better: "lower" });
    result.rows.push({ group: "100 MB broadcast", runtime: "raw TCP loopback -> 3 receivers, fresh memory", unit: "ms", figure: raw3Figure, better: "lower" });
    result.rows.push({ group: "100 MB broadcast", runtime: "raw TCP loopback -> 1 receiver, touched memory", unit: "ms", figure: raw1TouchedFigure, better: "lower" });
    result.rows.push({ group: "100 MB broadcast", runtime: "raw TCP loopback -> 3 receivers, touched memory", unit: "ms", figure: raw3TouchedFigure, better: "lower" });
    const ratio = threeFigure.median / oneFigure.median;
    const floor = raw3Figure.median / raw1Figure.median;
    result.derived["broadcast to 3 nodes / one transfer"] = Number(ratio.toFixed(2));
    result.derived["raw loopback floor: 3 receivers / 1 receiver, fresh memory"] = Number(floor.toFixed(2));
    result.derived["raw loopback floor: 3 receivers / 1 receiver, touched memory"] = Number((raw3TouchedFigure.median / raw1TouchedFigure.median).toFixed(2));
    result.derived["broadcast ratio / raw fresh-memory floor ratio"] = Number((ratio / floor).toFixed(2));
    const median = (values: number[]): number => summarize(values).median;
    result.derived["broadcast: bytes the nodes passed on to each other, in object sizes (fan-out; the driver sent the rest of 3)"] = Number((median(passedOn) / (BROADCAST * 8)).toFixed(2));
    const per = (runs: Usage[], pick: (run: Usage) => number[]): number => median(runs.flatMap(pick));
    result.derived["one transfer: receiver CPU ms (user + kernel)"] = per(oneCpu, (run) => run.receivers.map((r) => r.user + r.sys));
    result.derived["one transfer: receiver kernel CPU ms"] = per(oneCpu, (run) => run.receivers.map((r) => r.sys));
    result.derived["one transfer: receiver page faults"] = per(oneCpu, (run) => run.receivers.map((r) => r.faults));
    result.derived["one transfer: sender (driver) CPU ms"] = per(oneCpu, (run) => [run.sender.user + run.sender.sys]);
    result.derived["broadcast: CPU ms per receiver (user + kernel)"] = per(threeCpu, (run) => run.receivers.map((r) => r.user + r.sys));
    result.derived["broadcast: kernel CPU ms per receiver"] = per(threeCpu, (run) => run.receivers.map((r) => r.sys));
    result.derived["broadcast: sender (driver) CPU ms"] = per(threeCpu, (run) => [run.sender.user + run.sender.sys]);
    result.derived["raw 1 receiver, fresh memory: receiver CPU ms (kernel)"] = `${median(raw1.map((run) => run.receivers[0]?.user ?? NaN)) + median(raw1.map((run) => run.receivers[0]?.sys ?? NaN))} (${median(raw1.map((run) => run.receivers[0]?.sys ?? NaN))})`;
    result.derived["raw 1 receiver, touched memory: receiver CPU ms (kernel)"] = `${median(raw1Touched.map((run) => run.receivers[0]?.user ?? NaN)) + median(raw1Touched.map((run) => run.receivers[0]?.sys ?? NaN))} (${median(raw1Touched.map((run) => run.receivers[0]?.sys ?? NaN))})`;
    result.derived["raw 3 receivers, fresh memory: CPU ms per receiver (kernel)"] = `${median(raw3.flatMap((run) => run.receivers.map((r) => r.user + r.sys)))} (${median(raw3.flatMap((run) => run.receivers.map((r) => r.sys)))})`;
    result.targets.push({ figure: "broadcast of 100 MB the driver put to 3 nodes vs one transfer", target: "<= 2x", measured: `${ratio.toFixed(2)}x (raw loopback floor in the same run: ${floor.toFixed(2)}x)`, met: ratio <= 2 });

    // The same broadcast of an object a task made on a fourth node (node to node, as between machines):
    // the source is a node daemon serving from its store, not this process, which also runs the program.
    progress.step("starting a fourth node, the source of node-to-node broadcasts");
    const source = await cluster.addNode({ numCpus: NODE_CPUS, objectStoreMemory: 2 ** 31 });
    while (ray.nodes().length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
    const onSource = { scheduling: { nodeId: source.nodeId } };
    const fromNodeOne: number[] = [];
    const fromNodeThree: number[] = [];
    const fromNodePassedOn: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const single = make.options(onSource).remote(BROADCAST);
      const shared = make.options(onSource).remote(BROADCAST);
      await ray.wait([single, shared], { numReturns: 2 });
      progress.step(`100 MB node to one node ${rep + 1}/${reps}`);
      const target = all[rep % 3] as ray.NodeInfo;
      let start = performance.now();
      await ray.get(take.options({ scheduling: { nodeId: target.nodeId } }).remote(single));
      fromNodeOne.push(performance.now() - start);
      progress.step(`100 MB node to three nodes ${rep + 1}/${reps}`);
      const sentBefore = await nodesSent();
      start = performance.now();
      await ray.get(all.map((node) => take.options({ scheduling: { nodeId: node.nodeId } }).remote(shared)));
      fromNodeThree.push(performance.now() - start);
      fromNodePassedOn.push((await nodesSent()) - sentBefore);
    }
    const nodeOneFigure = summarize(fromNodeOne);
    const nodeThreeFigure = summarize(fromNodeThree);
    result.rows.push({ group: "100 MB broadcast", runtime: "node -> 1 node", unit: "ms", figure: nodeOneFigure, better: "lower" });
    result.rows.push({ group: "100 MB broadcast", runtime: "node -> 3 nodes", unit: "ms", figure: nodeThreeFigure, better: "lower" });
    const nodeRatio = nodeThreeFigure.median / nodeOneFigure.median;
    result.derived["node-to-node broadcast to 3 nodes / one transfer"] = Number(nodeRatio.toFixed(2));
    result.derived["node-to-node broadcast: bytes all nodes sent, in object sizes (the source's share included)"] = Number((median(fromNodePassedOn) / (BROADCAST * 8)).toFixed(2));
    result.targets.push({ figure: "broadcast of 100 MB from a node to 3 nodes vs one transfer", target: "<= 2x", measured: `${nodeRatio.toFixed(2)}x`, met: nodeRatio <= 2 });
  } finally {
    await ray.shutdown();
    admin.disconnect();
    await cluster.shutdown();
  }
  const idealCluster = 10_000 / (2 * NODE_CPUS);
  const seedFigure = summarize(seedCluster);
  result.rows.push({ group: "10,000 x 1 ms tasks", runtime: "rayts cluster (2 nodes x 2 CPUs)", unit: "ms", figure: seedFigure, better: "lower", note: `ideal ${idealCluster} ms` });
  result.targets.push({ figure: "10,000 x 1 ms tasks on 2 nodes vs ideal", target: "<= 1.3x ideal", measured: `${(seedFigure.median / idealCluster).toFixed(2)}x ideal (${idealCluster} ms)`, met: seedFigure.median / idealCluster <= 1.3 });

  await ray.init({ numCpus: NODE_CPUS });
  try {
    const whereAmI = ray.remote(() => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      return 0;
    });
    const local = await repeat("10,000 x 1 ms tasks, local", progress, reps, () => ray.get(Array.from({ length: 10_000 }, () => whereAmI.remote())));
    const figure = summarize(local);
    const idealLocal = 10_000 / NODE_CPUS;
    result.rows.push({ group: "10,000 x 1 ms tasks", runtime: `rayts local (${NODE_CPUS} CPUs)`, unit: "ms", figure, better: "lower", note: `ideal ${idealLocal} ms` });
    result.derived["1 ms tasks: local / ideal"] = Number((figure.median / idealLocal).toFixed(2));
    result.derived["1 ms tasks: cluster / ideal"] = Number((seedFigure.median / idealCluster).toFixed(2));
    result.derived["1 ms tasks: cluster speed-up over local"] = Number(mapFigure(figure, (v) => v / seedFigure.median).median.toFixed(2));
  } finally {
    await ray.shutdown();
  }
  result.notes.push(`nodes are declared dead after ${process.env["RAYTS_NODE_DEAD_MS"] ?? ""} ms without a heartbeat (RAYTS_NODE_DEAD_MS), so that a node stalled by the machine's load is not mistaken for a dead one`);
  result.notes.push("the broadcast's tasks only take their argument (its length), as in the node-to-node row: the figure is the move of the bytes, not a computation over them");
  result.notes.push("the raw loopback broadcast rows are the floor of a broadcast on this machine: the same bytes from one process to one receiver process, then to three at once, with no framing and no copy beyond the kernel's");
  result.notes.push("all processes share this machine's cores: the nodes, Redis and the driver compete for them, unlike separate machines");
  result.notes.push("transfers include the receiver's first touch of fresh memory (page faults), which dominates on virtual machines; node daemons use transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), and so does this driver");
  return { result, chart: { kind: "bars", title: "Cluster mode on loopback", panels: barPanels(result.rows) } };
};

export default suite;
