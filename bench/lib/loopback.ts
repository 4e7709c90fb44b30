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
import { spawn } from "node:child_process";
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
