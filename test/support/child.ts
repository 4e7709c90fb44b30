/**
 * Runs a small rayts script in a child `node --import tsx` process, so tests
 * can watch what only a whole process shows: its exit, its stdout, `gc()`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** URL of the public barrel, for scripts written to `.rayts-tmp/`. */
export const INDEX_URL = new URL("../../src/index.ts", import.meta.url).href;

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

let counter = 0;

/**
 * Writes `source` to `.rayts-tmp/<name>-<n>.ts` (gitignored) and runs it with
 * `node [nodeArgs] --import tsx`. The placeholder `RAYTS` in the source is
 * replaced by the barrel's URL. Kills the child after `timeoutMs`. `env` is
 * added to this process's environment.
 */
export async function runScript(
  name: string,
  source: string,
  options: { nodeArgs?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildResult> {
  const dir = join(REPO, ".rayts-tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${process.pid}-${++counter}.ts`);
  writeFileSync(file, source.replaceAll("RAYTS", INDEX_URL));
  try {
    return await new Promise<ChildResult>((resolve, reject) => {
      const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", file], {
        cwd: REPO,
        env: options.env === undefined ? process.env : { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, options.timeoutMs ?? 30_000);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The JSON a child printed on its line starting with `prefix`, after
 * checking that it exited cleanly; a failure shows the child's output.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON it expects
export function resultOf<T>(run: ChildResult, prefix = "RESULT "): T {
  assert.equal(run.code, 0, run.stderr);
  const line = run.stdout.split("\n").find((l) => l.startsWith(prefix));
  assert.ok(line !== undefined, run.stdout + run.stderr);
  return JSON.parse(line.slice(prefix.length)) as T;
}
