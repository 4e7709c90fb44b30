/**
 * Where the CPU of many 1 ms tasks on a cluster goes: Redis and two nodes
 * of 2 CPUs on loopback, this process as the driver, 10,000 tasks of 1 ms
 * returning their node's address, run REPS times after a warm-up. Prints,
 * per 1000 tasks, the CPU milliseconds of each process (driver, each node,
 * Redis) and the Redis commands by name, and the run time against the
 * ideal (10,000 ms / total slots). Counts, not durations, are what it is
 * for: they hold on a loaded machine.
 * Run: `node bench/prepare.mjs && node .rayts-tmp/bench-build/bench/cluster-seed-cpu.js [reps]`;
 * RAYTS_NODE_CPU_PROF=<dir> also writes a CPU profile of each node daemon there;
 * MONITOR=1 also counts the commands by key (Redis MONITOR, which costs Redis CPU).
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Redis } from "ioredis";
import * as ray from "../src/index.js";
import { LocalCluster } from "../src/cluster/local-cluster.js";
import { commandCounts, cpuMs } from "./lib/loopback.js";

const TASKS = 10_000;

/** CPU ms of each thread of a process, grouped: its main thread, worker threads ("node" threads other than the main one), and the rest by thread name (V8 helpers, libuv). */
function threadCpu(pid: number): Map<string, number> {
  const groups = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = (readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const group = tid === String(pid) ? "main" : comm === "node" ? "workers" : comm;
      groups.set(group, (groups.get(group) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // the thread ended
    }
  }
  return groups;
}
const NODE_CPUS = 2;
const reps = Number(process.argv[2] ?? "3");

const cluster = await LocalCluster.start([{ numCpus: NODE_CPUS }, { numCpus: NODE_CPUS }]);
const admin = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password });
try {
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  const whereAmI = ray.remote(() => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    return ray.getRuntimeContext().nodeAddress;
  });
  const run = (): Promise<string[]> => ray.get(Array.from({ length: TASKS }, () => whereAmI.remote()));
  await run();
  const processes: [string, number][] = [["driver", process.pid], ...cluster.nodes.map((node, index): [string, number] => [`node ${index + 1}`, node.pid]), ["redis", cluster.redis.pid]];
  const byKey = new Map<string, number>();
  const monitor = process.env["MONITOR"] === "1" ? await admin.monitor() : undefined;
  monitor?.on("monitor", (_time: string, args: string[]) => {
    const key = `${args[0] ?? ""} ${(args[1] ?? "").replace(/[0-9a-f]{10,}/g, "<id>")}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
  });
  await admin.config("RESETSTAT");
  const before = processes.map(([, pid]) => cpuMs(pid));
  const threadsBefore = cluster.nodes.map((node) => threadCpu(node.pid));
  const driverBefore = process.cpuUsage();
  const times: number[] = [];
  const split = new Map<string, number>();
  for (let rep = 0; rep < reps; rep++) {
    const start = performance.now();
    const where = await run();
    times.push(performance.now() - start);
    for (const address of where) split.set(address, (split.get(address) ?? 0) + 1);
  }
  const driverUsage = process.cpuUsage(driverBefore);
  const tasks = TASKS * reps;
  const per1000 = (ms: number): string => ((ms / tasks) * 1000).toFixed(1);
  const lines: string[] = [`load ${loadavg().map((l) => l.toFixed(2)).join(" ")}, ${reps} x ${TASKS} tasks`];
  let sum = 0;
  processes.forEach(([name, pid], index) => {
    const ms = cpuMs(pid) - (before[index] as number);
    sum += ms;
    lines.push(`  ${name.padEnd(8)} ${per1000(ms).padStart(7)} CPU ms / 1000 tasks`);
  });
  cluster.nodes.forEach((node, index) => {
    const now = threadCpu(node.pid);
    const then = threadsBefore[index] ?? new Map<string, number>();
    const parts = [...now].map(([group, ms]) => [group, ms - (then.get(group) ?? 0)] as const).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
    lines.push(`    node ${index + 1} threads: ${parts.map(([group, ms]) => `${group} ${per1000(ms)}`).join(", ")}`);
  });
  lines.push(`  ${"all".padEnd(8)} ${per1000(sum).padStart(7)} CPU ms / 1000 tasks (driver user ${per1000(driverUsage.user / 1000)}, system ${per1000(driverUsage.system / 1000)})`);
  const commands = [...commandCounts(await admin.info("commandstats"))].filter(([name]) => !name.startsWith("config") && !name.startsWith("info"));
  const total = commands.reduce((n, [, calls]) => n + calls, 0);
  lines.push(`  redis commands per 1000 tasks: ${((total / tasks) * 1000).toFixed(1)}`);
  for (const [name, calls] of commands.sort((a, b) => b[1] - a[1])) lines.push(`    ${name.padEnd(14)} ${((calls / tasks) * 1000).toFixed(1)}`);
  monitor?.disconnect();
  for (const [key, calls] of [...byKey].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`    by key: ${key.padEnd(40)} ${((calls / tasks) * 1000).toFixed(1)}`);
  const ideal = TASKS / (2 * NODE_CPUS);
  const sorted = [...times].sort((a, b) => a - b);
  lines.push(`  run ms: ${times.map((t) => t.toFixed(0)).join(" ")}; median ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(0)} = ${((sorted[Math.floor(sorted.length / 2)] as number) / ideal).toFixed(2)}x ideal`);
  lines.push(`  tasks per node: ${[...split].map(([address, n]) => `${address} ${n}`).join(", ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await ray.shutdown();
  admin.disconnect();
  await cluster.shutdown();
}
