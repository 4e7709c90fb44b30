/**
 * Memory protection, as Ray's memory monitor: every `memoryMonitorRefreshMs`
 * the monitor reads the memory in use (the cgroup's, when the process runs
 * under a cgroup v2 memory limit, else the machine's). Past
 * `memoryUsageThreshold` it stops the worker thread of the newest running
 * task that can be retried (else of the newest task), one at a time, so that
 * the process lives on; the tasks it stopped are retried once memory is back
 * below the threshold, and a task with no retries left fails with
 * OutOfMemoryError. Worker heap limits (`workerMaxHeapMB`) are the other
 * half: a thread that passes its heap limit dies alone, and its task fails
 * the same way.
 */
import { existsSync, readFileSync } from "node:fs";
import { freemem, totalmem } from "node:os";
import { join } from "node:path";
import { errorToData, OutOfMemoryError, type ErrorData } from "../api/errors.js";
import type { MemoryReading } from "../api/memory-options.js";

export type { MemoryReading } from "../api/memory-options.js";

/** A task running on a worker thread, as the monitor may stop it. */
export interface RunningTask {
  readonly id: number;
  readonly name: string;
  readonly attempts: number;
  readonly options: { readonly maxRetries: number };
}

/** What the monitor needs of the runtime. */
export interface MonitorHost {
  /** Tasks running now on task worker threads, each with a way to stop its thread. */
  running(): Iterable<{ readonly task: RunningTask; readonly worker: object; stop(): void }>;
}

export interface MonitorOptions {
  readonly refreshMs: number;
  readonly threshold: number;
  readonly read: () => MemoryReading;
}

/** The cgroup v2 folder of this process, when it has a memory limit there. */
function cgroupFolder(): string | undefined {
  try {
    const line = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"));
    if (line === undefined) return undefined;
    const folder = join("/sys/fs/cgroup", line.slice(3).trim());
    return existsSync(join(folder, "memory.max")) && existsSync(join(folder, "memory.current")) ? folder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads memory use: a cgroup v2 limit when one is set (`memory.current`
 * less the inactive page cache, of `memory.max`), else the machine's
 * (total less available).
 */
export function systemMemoryReader(): () => MemoryReading {
  const folder = cgroupFolder();
  const machine = (): MemoryReading => ({ used: totalmem() - freemem(), total: totalmem() });
  if (folder === undefined) return machine;
  return () => {
    try {
      const max = readFileSync(join(folder, "memory.max"), "utf8").trim();
      if (max === "max") return machine();
      const current = Number(readFileSync(join(folder, "memory.current"), "utf8").trim());
      const inactive = /^inactive_file (\d+)$/m.exec(readFileSync(join(folder, "memory.stat"), "utf8"));
      return { used: Math.max(0, current - Number(inactive?.[1] ?? 0)), total: Number(max) };
    } catch {
      return machine();
    }
  };
}

/** True when a worker thread died of its heap limit (`resourceLimits`, ERR_WORKER_OUT_OF_MEMORY). */
export function isHeapOutOfMemory(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth++) {
    if ((cause as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY" || /reaching memory limit/.test(cause.message)) return true;
  }
  return false;
}

/** The error of a task whose worker was stopped for memory and that has no retries left. */
export function outOfMemoryData(taskName: string, why: string, maxRetries: number): ErrorData {
  return errorToData(
    new OutOfMemoryError(
      `task ${taskName} was stopped because ${why}, and it has no retries left (maxRetries: ${maxRetries}); ` +
        "give it maxRetries, use less memory per task, raise workerMaxHeapMB or memoryUsageThreshold, or run fewer tasks at once",
    ),
  );
}

/** The error of an actor call whose thread died of its heap limit and that has no retries left. */
export function actorCallOutOfMemoryData(callName: string, why: string, maxTaskRetries: number): ErrorData {
  return errorToData(
    new OutOfMemoryError(
      `actor call ${callName} was stopped because ${why}, and it has no retries left (maxTaskRetries: ${maxTaskRetries}); ` +
        "give the actor maxTaskRetries (and maxRestarts), hold less state in it, or raise workerMaxHeapMB",
    ),
  );
}

function percent(reading: MemoryReading): string {
  return `${((100 * reading.used) / reading.total).toFixed(1)}%`;
}

export class MemoryMonitor {
  readonly #options: MonitorOptions;
  readonly #host: MonitorHost;
  readonly #timer: NodeJS.Timeout;
  /** Threads stopped for memory whose exit has not been reported yet, with why. */
  readonly #stopped = new Map<object, string>();
  /** Retries held back until memory is below the threshold again. */
  #later: (() => void)[] = [];
  #kills = 0;

  constructor(options: MonitorOptions, host: MonitorHost) {
    this.#options = options;
    this.#host = host;
    this.#timer = setInterval(() => this.check(), options.refreshMs);
    this.#timer.unref();
  }

  /** Worker threads stopped so far. */
  get kills(): number {
    return this.#kills;
  }

  /** One reading, and what it calls for. */
  check(): void {
    let reading: MemoryReading;
    try {
      reading = this.#options.read();
    } catch {
      return; // a reader that fails says nothing about memory
    }
    if (!(reading.total > 0) || reading.used / reading.total <= this.#options.threshold) {
      const later = this.#later;
      this.#later = [];
      for (const retry of later) retry();
      return;
    }
    // One at a time: the next reading shows what the last stop gave back.
    if (this.#stopped.size > 0) return;
    let newest: { task: RunningTask; worker: object; stop(): void } | undefined;
    let newestRetriable: typeof newest;
    for (const candidate of this.#host.running()) {
      if (newest === undefined || candidate.task.id > newest.task.id) newest = candidate;
      if (candidate.task.attempts < candidate.task.options.maxRetries && (newestRetriable === undefined || candidate.task.id > newestRetriable.task.id)) {
        newestRetriable = candidate;
      }
    }
    const victim = newestRetriable ?? newest;
    if (victim === undefined) return;
    this.#stopped.set(
      victim.worker,
      `memory use (${reading.used} of ${reading.total} bytes, ${percent(reading)}) passed memoryUsageThreshold (${this.#options.threshold}) and the memory monitor stopped its worker, the newest ${victim === newestRetriable ? "retriable " : ""}task running`,
    );
    this.#kills++;
    victim.stop();
  }

  /** Why a dead worker thread was stopped for memory (once), or undefined. */
  takeStopped(worker: object): string | undefined {
    const why = this.#stopped.get(worker);
    this.#stopped.delete(worker);
    return why;
  }

  /** Runs `retry` once a reading is below the threshold again. */
  retryLater(retry: () => void): void {
    this.#later.push(retry);
  }

  /** Stops reading (shutdown); held retries are dropped with the runtime. */
  close(): void {
    clearInterval(this.#timer);
    this.#later = [];
    this.#stopped.clear();
  }
}
