/**
 * Starts a node daemon as a child process in its own process group, its
 * output going to a log file, and waits until it has joined the cluster.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RayError } from "../core/api/errors.js";
import type { NodeOptions } from "./node-daemon.js";

/** A node daemon process that has joined. */
export interface LaunchedNode {
  readonly nodeId: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** The dashboard's address, when this node is a head that serves it. */
  readonly dashboardUrl: string | undefined;
}

/**
 * Whether the build's `file` exists and is at least as new as every file
 * under `sources` (src/core/worker/worker-dev.mjs makes the same check in
 * plain JavaScript, before any TypeScript loader runs).
 */
export function builtAfter(file: string, sources: string): boolean {
  try {
    const builtAt = statSync(file).mtimeMs;
    for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && statSync(join(entry.parentPath, entry.name)).mtimeMs > builtAt) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** `args` without the TypeScript loader (`--import tsx`). */
function withoutTsx(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--import" && args[i + 1] === "tsx") i++;
    else if (args[i] !== "--import=tsx") kept.push(args[i] ?? "");
  }
  return kept;
}

/**
 * Node arguments and entry of the daemon: the one beside this module when
 * built; run from the TypeScript sources (tests, examples under tsx), the
 * build's entry without the TypeScript loader when dist/ is up to date (the
 * same code, started in a fraction of the CPU time), else the sources'.
 */
function daemonCommand(): { nodeArgs: string[]; entry: string } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith(".js")) return { nodeArgs: process.execArgv, entry: self.replace(/launch\.js$/, "daemon-main.js") };
  const built = fileURLToPath(new URL("../../dist/cluster/daemon-main.js", import.meta.url));
  if (builtAfter(built, fileURLToPath(new URL("../", import.meta.url)))) return { nodeArgs: withoutTsx(process.execArgv), entry: built };
  return { nodeArgs: process.execArgv, entry: self.replace(/launch\.ts$/, "daemon-main.ts") };
}

/**
 * The daemon's environment. Large objects land in fresh memory, and first
 * touching fresh pages costs more than the copy itself on many virtual
 * machines: glibc is asked to back large allocations with transparent huge
 * pages (512 times fewer page faults), unless the user set its tunables.
 */
function nodeEnv(): NodeJS.ProcessEnv {
  if (process.env["GLIBC_TUNABLES"] !== undefined) return process.env;
  return { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" };
}

/**
 * Extra node flags: with `RAYTS_NODE_CPU_PROF` set to a folder, each daemon
 * writes a V8 CPU profile there when it exits (for profiling a cluster).
 */
function profileFlags(): string[] {
  const dir = process.env["RAYTS_NODE_CPU_PROF"];
  return dir === undefined || dir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/** Starts a node daemon; `detached` lets it outlive the caller (the CLI). */
export async function launchNode(options: NodeOptions, logFile: string, detached: boolean): Promise<LaunchedNode> {
  const out = openSync(logFile, "a");
  const { nodeArgs, entry } = daemonCommand();
  const child = spawn(process.execPath, [...nodeArgs, ...profileFlags(), entry, JSON.stringify(options)], {
    stdio: ["ignore", out, out, "ipc"],
    detached: true,
    env: nodeEnv(),
  });
  closeSync(out);
  const reply = await new Promise<{ ready: boolean; nodeId?: string; error?: string; dashboardUrl?: string }>((resolve) => {
    child.once("message", (message) => resolve(message as { ready: boolean; nodeId?: string; error?: string; dashboardUrl?: string }));
    child.once("exit", (code) => resolve({ ready: false, error: `the node process exited with code ${code}; see ${logFile}` }));
  });
  if (!reply.ready || reply.nodeId === undefined || child.pid === undefined) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw new RayError(`node ${options.nodeIpAddress} did not start: ${reply.error ?? "unknown reason"}`);
  }
  child.removeAllListeners("exit");
  child.disconnect();
  if (detached) child.unref();
  return { nodeId: reply.nodeId, pid: child.pid, child, logFile, dashboardUrl: reply.dashboardUrl };
}
