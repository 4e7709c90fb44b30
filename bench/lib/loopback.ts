/**
 * Same-run baselines for the cluster suite, so that its figures read as
 * fractions of what this machine can do at that moment:
 * - a raw TCP copy of N bytes over loopback, from another process that
 *   serves them from memory it already touched, read straight into the
 *   destination (no framing, no copies), once into fresh shared memory (as
 *   a pull lands) and once into a buffer touched before;
 * - CPU time of a set of processes (Linux /proc), and Redis command counts
 *   (INFO commandstats), to count the work per task.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";

/** Milliseconds of one raw loopback copy of `bytes` bytes into `into()` (called when the copy starts). */
export async function rawLoopbackCopy(host: string, bytes: number, into: () => Uint8Array): Promise<number> {
  const serve = `const b=Buffer.alloc(${bytes},1);require("net").createServer((s)=>s.end(b)).listen(0,${JSON.stringify(host)},function(){process.stdout.write(this.address().port+"\\n")})`;
  const child = spawn(process.execPath, ["-e", serve], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (data: Buffer) => resolve(Number(data.toString())));
      child.once("exit", (code) => reject(new Error(`the loopback server exited with code ${String(code)}`)));
    });
    const start = performance.now();
    const dest = into();
    const spare = new Uint8Array(64 * 1024);
    let filled = 0;
    await new Promise<void>((resolve, reject) => {
      const socket = connect({
        host,
        port,
        onread: {
          buffer: () => (filled < dest.byteLength ? dest.subarray(filled) : spare),
          callback: (n: number) => {
            filled += n;
            return true;
          },
        },
      });
      socket.on("end", () => resolve());
      socket.on("error", reject);
    });
    const ms = performance.now() - start;
    if (filled !== bytes) throw new Error(`the loopback copy moved ${filled} of ${bytes} bytes`);
    return ms;
  } finally {
    child.kill();
  }
}

/** CPU milliseconds (user + system, every thread) a process used so far; NaN where /proc is missing. */
export function cpuMs(pid: number): number {
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Calls per Redis command from INFO commandstats text. */
export function commandCounts(info: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1] as string, Number(match[2]));
  return counts;
}

/** CPU milliseconds of a process split into user and kernel time, and its minor page faults; NaN where /proc is missing. */
export function cpuSplit(pid: number): { user: number; sys: number; faults: number } {
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
    return { user: (Number(fields[11]) * 1000) / 100, sys: (Number(fields[12]) * 1000) / 100, faults: Number(fields[7]) };
  } catch {
    return { user: NaN, sys: NaN, faults: NaN };
  }
}

/** One raw broadcast: wall time, and CPU and faults of the sender and of each receiver. */
export interface RawBroadcast {
  readonly ms: number;
  readonly sender: { user: number; sys: number; faults: number };
  readonly receivers: { user: number; sys: number; faults: number }[];
}

/**
 * The floor of a broadcast on this machine: `receivers` processes (with the
 * node daemons' environment, `env`) each read `bytes` bytes at once over
 * TCP loopback from one sender process that serves them from memory it
 * already touched, straight into one destination per receiver: fresh shared
 * memory (as a pull lands), or memory the receiver touched before. One
 * process per receiver, as one node daemon per node. Run with 1 receiver
 * and with 3 in the same run: their ratio bounds what a broadcast can cost
 * against one transfer when every byte crosses loopback.
 */
export async function rawLoopbackBroadcast(host: string, bytes: number, receivers: number, fresh: boolean, env: NodeJS.ProcessEnv): Promise<RawBroadcast> {
  const serve = `const b=Buffer.alloc(${bytes},1);require("net").createServer((s)=>s.once("data",()=>s.end(b))).listen(0,${JSON.stringify(host)},function(){process.stdout.write(this.address().port+"\\n")})`;
  const sender = spawn(process.execPath, ["-e", serve], { stdio: ["ignore", "pipe", "inherit"] });
  const children: ChildProcess[] = [sender];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      sender.stdout.once("data", (data: Buffer) => resolve(Number(data.toString())));
      sender.once("exit", (code) => reject(new Error(`the loopback server exited with code ${String(code)}`)));
    });
    const receive = `
const net = require("net");
let dest = ${fresh ? "undefined" : `new Uint8Array(new SharedArrayBuffer(${bytes})).fill(1)`};
process.on("message", () => {
  ${fresh ? `dest = new Uint8Array(new SharedArrayBuffer(${bytes}));` : ""}
  let filled = 0;
  const spare = new Uint8Array(65536);
  const socket = net.connect({ host: ${JSON.stringify(host)}, port: ${port}, onread: { buffer: () => (filled < dest.length ? dest.subarray(filled) : spare), callback: (n) => { filled += n; return true; } } });
  socket.write("go");
  socket.on("end", () => process.send(filled));
});
process.send("ready");`;
    const readers = Array.from({ length: receivers }, () => spawn(process.execPath, ["-e", receive], { stdio: ["ignore", "inherit", "inherit", "ipc"], env }));
    children.push(...readers);
    await Promise.all(readers.map((reader) => new Promise((resolve) => reader.once("message", resolve))));
    const pids = children.map((child) => child.pid ?? -1);
    const before = pids.map(cpuSplit);
    const start = performance.now();
    const filled = await Promise.all(readers.map((reader) => new Promise<number>((resolve) => {
      reader.once("message", (n) => resolve(n as number));
      reader.send("go");
    })));
    const ms = performance.now() - start;
    if (filled.some((n) => n !== bytes)) throw new Error(`a raw broadcast receiver got ${filled.join(", ")} of ${bytes} bytes`);
    const used = pids.map((pid, index) => {
      const now = cpuSplit(pid);
      const then = before[index] as { user: number; sys: number; faults: number };
      return { user: now.user - then.user, sys: now.sys - then.sys, faults: now.faults - then.faults };
    });
    return { ms, sender: used[0] as RawBroadcast["sender"], receivers: used.slice(1) };
  } finally {
    for (const child of children) child.kill();
  }
}
