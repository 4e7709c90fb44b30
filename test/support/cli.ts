/**
 * The `rayts` command line as the tests run it: each command in its own
 * process from the repository root, so the driver or cluster under test
 * keeps serving meanwhile. `runCli` waits for a command to end; a
 * {@link CliProcess} is one that keeps running (`logs --follow`) and is
 * watched as its output arrives.
 *
 * The command is the built bin, `dist/cli/rayts.js`, when dist/ is newer
 * than every source file (`npm test` builds before testing): it starts in a
 * fraction of the CPU time the TypeScript loader takes. Otherwise (no build,
 * or sources edited since) it is `node --import tsx src/cli/rayts.ts`.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { REPO } from "./child.js";
import { builtAfter } from "../../src/cluster/launch.js";

/** Node arguments that run the CLI: the build when it is up to date, else the sources. */
function cliArgs(): string[] {
  const built = join(REPO, "dist/cli/rayts.js");
  if (builtAfter(built, join(REPO, "src"))) return [built];
  return ["--import", "tsx", join(REPO, "src/cli/rayts.ts")];
}

const CLI = cliArgs();

/** How a command ended: its exit code (null when a signal ended it) and its output. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `rayts` command and its output so far. */
export class CliProcess {
  stdout = "";
  stderr = "";
  /** The exit code once the process has ended (null when a signal ended it or it could not start). */
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  readonly #name: string;

  /** Starts `rayts ...args` with `env` added to this process's environment. */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.#name = `rayts ${args.join(" ")}`;
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      child.on("error", (error) => {
        this.stderr += String(error);
        resolve(null);
      });
      child.on("close", (code) => resolve(code));
    });
  }

  /** Resolves once the output of `stream` so far matches `pattern`; rejects if the process ends first. */
  shows(pattern: RegExp, stream: "stdout" | "stderr"): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(this[stream])) resolve();
      };
      this.#child[stream].on("data", check);
      void this.exited.then(() => reject(new Error(`${this.#name} exited: ${this.stderr}`)));
      check();
    });
  }

  /** Sends SIGINT (Ctrl-C) and returns the exit code. */
  interrupt(): Promise<number | null> {
    this.#child.kill("SIGINT");
    return this.exited;
  }

  /** Kills the process if it still runs (clean-up after a failed check). */
  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
  }
}

/** Runs `rayts ...args` to its end, with `env` added to this process's environment. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const run = new CliProcess(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** The sessions `rayts start` made under `dir` (its RAYTS_TMPDIR), and every pid they recorded. */
export function recordedSessions(dir: string): { sessions: string[]; pids: number[] } {
  const sessions = readdirSync(dir).filter((name) => name.startsWith("session_2"));
  const pids: number[] = [];
  for (const session of sessions) {
    const pidDir = join(dir, session, "pids");
    for (const file of readdirSync(pidDir)) pids.push(Number(readFileSync(join(pidDir, file), "utf8")));
  }
  return { sessions, pids };
}
