/**
 * Broadcast of one 100 MB object to 3 nodes against one transfer, with
 * fan-out off (every receiver pulls from the source: a star) and on (each
 * receiver pulls first from the one that began before it: a chain), on two
 * networks in the same run:
 * - link-limited: each node in its own network namespace, its link capped
 *   at NETNS_RATE_MBIT (default 300) Mbit/s each way (bench/lib/netns.ts),
 *   as machines with their own network cards; there the ratio shows the
 *   algorithm: a star sends the bytes three times over the source's link;
 * - loopback: the same daemons on 127.0.0.x, where the 2-core CPU, not a
 *   link, is the limit.
 * Eight node daemons per network (1 CPU each): a source and three receivers
 * with fan-out off, the same with it on; measurements alternate between
 * the two groups. Bytes each node's object server sent come from the
 * cluster's stats (`rayts:served`).
 * Needs root and iproute2 for the link-limited part (skipped otherwise,
 * saying so). Namespaces are removed at the end, also on failure.
 * Run: node --import tsx --expose-gc bench/netns-broadcast.ts [--quick]
 * Writes bench/results/netns-broadcast.json (.quick.json with --quick).
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import * as ray from "../src/index.js";
import { SERVED } from "../src/cluster/holders.js";
import type { NodeOptions } from "../src/cluster/node-daemon.js";
import { freePort, newPassword, startRedisServer, type RedisServerProcess } from "../src/cluster/redis-server.js";
import { Netns, netnsUnavailable } from "./lib/netns.js";
import { REPO } from "./lib/raycompile.js";
import { barPanels, newResult, printTable, writeResult, type SuiteResult } from "./lib/report.js";
import { summarize } from "./lib/stats.js";

const FLOATS = 12_500_000; // 100 MB
const BYTES = FLOATS * 8;
const quick = process.argv.includes("--quick");
const reps = Number(process.env["REPS"] ?? (quick ? 2 : 4));
const rateMbit = Number(process.env["NETNS_RATE_MBIT"] ?? 300);

/** A node daemon started by this bench. */
interface Daemon {
  readonly nodeId: string;
  readonly pid: number;
}

const daemonEntry = fileURLToPath(new URL(`../src/cluster/daemon-main.${import.meta.url.endsWith(".js") ? "js" : "ts"}`, import.meta.url));

/** Starts a node daemon (inside a namespace when `prefix` is `ip netns exec ...`), with fan-out on or off. */
async function startDaemon(prefix: readonly string[], options: NodeOptions, fanOut: boolean, logFile: string): Promise<Daemon> {
  const out = openSync(logFile, "a");
  const node = [process.execPath, ...process.execArgv.filter((flag) => flag !== "--expose-gc"), daemonEntry, JSON.stringify(options)];
  const [command, ...args] = [...prefix, ...node] as [string, ...string[]];
  const child = spawn(command, args, {
    stdio: ["ignore", out, out, "ipc"],
    detached: true,
    env: { ...process.env, RAYTS_OBJECT_FANOUT: fanOut ? "1" : "0", RAYTS_NODE_DEAD_MS: "60000", GLIBC_TUNABLES: process.env["GLIBC_TUNABLES"] ?? "glibc.malloc.hugetlb=1" },
  });
  closeSync(out);
  const reply = await new Promise<{ ready: boolean; nodeId?: string; error?: string }>((resolve) => {
    child.once("message", (message) => resolve(message as { ready: boolean; nodeId?: string }));
    child.once("exit", (code) => resolve({ ready: false, error: `exited with code ${String(code)}; see ${logFile}` }));
  });
  if (!reply.ready || reply.nodeId === undefined || child.pid === undefined) throw new Error(`node ${options.nodeIpAddress} did not start: ${reply.error ?? "no reason given"}`);
  child.removeAllListeners("exit");
  child.disconnect();
  return { nodeId: reply.nodeId, pid: child.pid };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

interface Measured {
  one: number[];
  three: number[];
  /** Bytes the source node sent per broadcast, in object sizes. */
  sourceShare: number[];
  /** Bytes all nodes sent per broadcast, in object sizes. */
  totalShare: number[];
}

/** Runs the measurements on one network: `hosts[i]` gives node i's address and command prefix. */
async function measure(label: string, redisHost: string, hosts: readonly { address: string; prefix: readonly string[] }[]): Promise<{ star: Measured; fan: Measured }> {
  const dir = mkdtempSync(join(tmpdir(), "rayts-netns-bench-"));
  const password = newPassword();
  const pids: number[] = [];
  let redis: RedisServerProcess | undefined;
  let admin: Redis | undefined;
  try {
    redis = await startRedisServer({ host: redisHost, port: await freePort(redisHost), password, logFile: join(dir, "redis.log"), detached: true });
    pids.push(redis.pid);
    const address = `${redis.host}:${redis.port}`;
    const daemons: Daemon[] = [];
    for (const [index, host] of hosts.entries()) {
      process.stderr.write(`${label}: starting node ${index + 1}/${hosts.length} at ${host.address}\n`);
      const options: NodeOptions = {
        redisAddress: address,
        redisPassword: password,
        nodeIpAddress: host.address,
        numCpus: 1,
        resources: {},
        objectStoreMemory: 2 ** 31,
        head: index === 0,
        logDir: dir,
      };
      const daemon = await startDaemon(host.prefix, options, index >= 4, join(dir, `node-${host.address}.log`));
      pids.push(daemon.pid);
      daemons.push(daemon);
    }
    const stats = new Redis({ host: redis.host, port: redis.port, password });
    admin = stats;
    await ray.init({ address, redisPassword: password });
    while (ray.nodes().length < hosts.length) await new Promise((resolve) => setTimeout(resolve, 50));
    const make = ray.remote((n: number) => new Float64Array(n).fill(1));
    const take = ray.remote((values: Float64Array) => values.length);
    const on = (daemon: Daemon | undefined): { scheduling: { nodeId: string } } => ({ scheduling: { nodeId: daemon?.nodeId ?? "" } });
    const sent = async (): Promise<Map<string, number>> => new Map(Object.entries(await stats.hgetall(SERVED)).map(([key, value]) => [key, Number(value)]));
    const groups = { star: daemons.slice(0, 4), fan: daemons.slice(4, 8) };
    const results: { star: Measured; fan: Measured } = {
      star: { one: [], three: [], sourceShare: [], totalShare: [] },
      fan: { one: [], three: [], sourceShare: [], totalShare: [] },
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let rep = 0; rep < reps + 1; rep++) {
      // Alternate which group goes first; rep 0 is a warm-up.
      for (const name of rep % 2 === 0 ? (["star", "fan"] as const) : (["fan", "star"] as const)) {
        const [source, ...receivers] = groups[name];
        process.stderr.write(`${label}: ${name} rep ${rep}/${reps}\n`);
        const single = make.options(on(source)).remote(FLOATS);
        await ray.wait([single]);
        let start = performance.now();
        await ray.get(take.options(on(receivers[rep % 3])).remote(single));
        const one = performance.now() - start;
        const shared = make.options(on(source)).remote(FLOATS);
        await ray.wait([shared]);
        const before = await sent();
        start = performance.now();
        await ray.get(receivers.map((receiver) => take.options(on(receiver)).remote(shared)));
        const three = performance.now() - start;
        // Counters land just after the responses they count.
        let after = await sent();
        const total = (counts: Map<string, number>): number => groups[name].reduce((sum, daemon) => sum + (counts.get(daemon.nodeId) ?? 0), 0);
        for (let tries = 0; tries < 100 && total(after) - total(before) < 3 * BYTES; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          after = await sent();
        }
        if (rep > 0) {
          results[name].one.push(one);
          results[name].three.push(three);
          const id = source?.nodeId ?? "";
          results[name].sourceShare.push(((after.get(id) ?? 0) - (before.get(id) ?? 0)) / BYTES);
          results[name].totalShare.push((total(after) - total(before)) / BYTES);
        }
        gc?.();
      }
    }
    return results;
  } finally {
    await ray.shutdown().catch(() => undefined);
    admin?.disconnect();
    for (const pid of pids) killGroup(pid);
  }
}

/** Adds one network's rows and ratios. */
function report(result: SuiteResult, group: string, key: string, measured: { star: Measured; fan: Measured }): void {
  const median = (values: number[]): number => summarize(values).median;
  for (const [name, label] of [["star", "fan-out off (star)"], ["fan", "fan-out on (chain)"]] as const) {
    const m = measured[name];
    result.rows.push({ group, runtime: `source -> 1 node, ${label}`, unit: "ms", figure: summarize(m.one), better: "lower" });
    result.rows.push({ group, runtime: `source -> 3 nodes, ${label}`, unit: "ms", figure: summarize(m.three), better: "lower" });
    result.derived[`${key}, ${label}: broadcast to 3 / one transfer`] = Number((median(m.three) / median(m.one)).toFixed(2));
    result.derived[`${key}, ${label}: bytes the source sent per broadcast, in object sizes`] = Number(median(m.sourceShare).toFixed(2));
    result.derived[`${key}, ${label}: bytes all nodes sent per broadcast, in object sizes`] = Number(median(m.totalShare).toFixed(2));
  }
  result.derived[`${key}: one transfer, fan-out on / off`] = Number((median(measured.fan.one) / median(measured.star.one)).toFixed(2));
  result.derived[`${key}: broadcast, fan-out on / off`] = Number((median(measured.fan.three) / median(measured.star.three)).toFixed(2));
}

const result = newResult("netns-broadcast", "Broadcast of 100 MB to 3 nodes: fan-out off and on, link-limited and loopback", quick, {
  objectBytes: BYTES,
  nodesPerGroup: 4,
  cpusPerNode: 1,
  linkMbitEachWay: rateMbit,
  reps,
});
const startLoad = loadavg()[0] ?? 0;
const unavailable = netnsUnavailable();
if (unavailable === undefined) {
  const net = Netns.create(8, rateMbit);
  try {
    const measured = await measure("namespaces", net.gateway, net.hosts.map((host) => ({ address: host.address, prefix: net.exec(host) })));
    report(result, `100 MB, links capped at ${rateMbit} Mbit/s each way`, `${rateMbit} Mbit/s links`, measured);
    const ideal = (BYTES * 8) / (rateMbit * 1e6) * 1000;
    result.derived[`${rateMbit} Mbit/s links: one transfer at the link's rate, ms`] = Math.round(ideal);
  } finally {
    net.destroy();
  }
} else {
  result.notes.push(`the link-limited part did not run: it ${unavailable}`);
}
const loopback = await measure("loopback", "127.0.0.2", Array.from({ length: 8 }, (_, index) => ({ address: `127.0.0.${index + 2}`, prefix: [] })));
report(result, "100 MB on loopback (CPU-bound)", "loopback", loopback);
result.notes.push(`load average ${startLoad.toFixed(2)} at the start and ${(loadavg()[0] ?? 0).toFixed(2)} at the end, on ${result.machine.cores} cores: other work shared the CPUs`);
result.notes.push("each namespace's link is a veth pair into a bridge, both ends capped by tc tbf (burst 256 KiB, at most 20 ms queued); Redis and the driver are in the root namespace");
result.notes.push("the source is a node that made the object in a task; the receivers' tasks only take it as an argument (its length)");
printTable(result);
writeResult(quick ? { ...result, suite: `${result.suite}.quick` } : result, { kind: "bars", title: result.title, panels: barPanels(result.rows) }, pathToFileURL(join(REPO, "bench/results/")));
process.exit(0);
