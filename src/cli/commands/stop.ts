/**
 * `rayts stop`: stops every process `rayts start` started on this machine
 * (nodes first, so they leave the cluster while Redis still runs).
 */
import { parseArgs } from "node:util";
import { allSessions } from "../../cluster/session.js";

export const summary = "stop the nodes and Redis that `rayts start` started on this machine";

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the process group of `pid` (SIGTERM, then SIGKILL after 10 s); false when it was not running. */
export async function stopGroup(pid: number): Promise<boolean> {
  if (!alive(pid)) return false;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    process.kill(pid, "SIGTERM");
  }
  for (let waited = 0; waited < 10_000 && alive(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return true;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: "boolean", short: "h", default: false } }, strict: true });
  if (values.help) {
    process.stdout.write("Usage: rayts stop\n");
    return 0;
  }
  let stopped = 0;
  for (const phase of ["node-", "redis-"]) {
    const jobs: Promise<void>[] = [];
    for (const session of allSessions()) {
      for (const { name, pid } of session.pids()) {
        if (!name.startsWith(phase)) continue;
        jobs.push(
          stopGroup(pid).then((was) => {
            if (was) {
              stopped++;
              process.stdout.write(`rayts: stopped ${name} (pid ${pid})\n`);
            }
            session.removePid(name);
          }),
        );
      }
    }
    await Promise.all(jobs);
  }
  process.stdout.write(stopped === 0 ? "rayts: nothing was running\n" : `rayts: stopped ${stopped} process${stopped === 1 ? "" : "es"}\n`);
  return 0;
}
