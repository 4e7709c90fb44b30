/**
 * What the driver does when a worker thread ends: its borrows end, the
 * tasks it held are retried on a fresh thread (or failed once out of
 * retries), its actors are restarted or failed (actor-manager.ts), and the
 * tasks it submitted that nothing else wants share its fate. Also which
 * tasks are parked in a nested `get`/`wait` on each worker: they had
 * started, so a crash costs them a retry.
 */
import type { DriverParts, Owner } from "./driver-parts.js";
import { workerName } from "./driver-parts.js";
import { errorToData, TaskCancelledError, WorkerCrashedError, type ErrorData } from "../api/errors.js";
import { isHeapOutOfMemory, outOfMemoryData } from "./memory-monitor.js";
import { TaskWorker, type Task } from "../scheduling/scheduler.js";
import type { Transport } from "../transport/transport.js";

function crashData(message: string): ErrorData {
  return errorToData(new WorkerCrashedError(message));
}

/** Why a thread ended, in one line; a thread that exited by itself (`process.exit()`) is told by its exit code. */
function exitReason(error: unknown): string {
  if (!(error instanceof Error)) return "the worker exited";
  const exitCode = /terminated Unexpectedly[\s\S]*exitCode: `(\d+)`/.exec(error.message)?.[1];
  return exitCode === undefined ? (error.message.split("\n")[0] ?? "") : `its thread exited with code ${exitCode}`;
}

/** What a runtime does when one of its threads ends. */
export class WorkerFailures {
  readonly #parts: DriverParts;
  /** Per task worker, the tasks parked there in a nested `get`/`wait` (with counts). */
  readonly #parked = new Map<TaskWorker, Map<number, number>>();

  constructor(parts: DriverParts) {
    this.#parts = parts;
  }

  /** A task on `owner` waits in a nested `get`/`wait`: its slot is free meanwhile. */
  blocked(owner: Owner, task: number): void {
    if (!(owner instanceof TaskWorker)) return;
    owner.blocked++;
    const parked = this.#parked.get(owner);
    if (parked === undefined) this.#parked.set(owner, new Map([[task, 1]]));
    else parked.set(task, (parked.get(task) ?? 0) + 1);
  }

  unblocked(owner: Owner, task: number): void {
    if (!(owner instanceof TaskWorker)) return;
    owner.blocked--;
    const parked = this.#parked.get(owner);
    const count = parked?.get(task) ?? 0;
    if (count <= 1) parked?.delete(task);
    else parked?.set(task, count - 1);
  }

  /** A peer ended (reported once by its host). */
  readonly exited = (peer: Transport, error: unknown): void => {
    const parts = this.#parts;
    const owner = parts.owners.get(peer);
    parts.owners.delete(peer);
    parts.loop.forget(peer);
    if (owner === undefined || parts.loop.closed) return;
    const started = owner instanceof TaskWorker ? this.#started(owner) : undefined;
    // Before the thread's borrows end: the children of tasks that run again are kept for them.
    if (started !== undefined) for (const id of started) parts.reuse.retrying(id);
    parts.lending.dropBorrows(owner);
    parts.streams.ownerDied(owner);
    const reason = exitReason(error);
    parts.events?.emit({ kind: "workerExited", worker: workerName(peer, owner), reason });
    if (owner instanceof TaskWorker) this.#taskWorkerDied(owner, started ?? new Set(), reason, isHeapOutOfMemory(error));
    else parts.actors.threadDied(owner, reason, isHeapOutOfMemory(error) ? this.#heapLimit() : undefined);
    this.#orphaned(owner, reason);
    parts.loop.scheduleTick();
  };

  /**
   * Tasks submitted from the dead thread whose results nothing else holds
   * (no ref, no dependent task) share its fate, as in Ray: the task that
   * wanted them is gone, and if it runs again it submits them anew.
   */
  #orphaned(owner: Owner, reason: string): void {
    const parts = this.#parts;
    const submitted = parts.ownership.takeSubmitted(owner);
    let error: ErrorData | undefined;
    for (const id of submitted) {
      const task = parts.tasks.live.get(id);
      if (task === undefined || task.actor !== undefined || task.cancelled !== "no" || parts.ownership.count(id) > 0) continue;
      error ??= crashData(`the worker that submitted this task died (${reason})`);
      task.cancelled = "soft";
      const worker = task.worker;
      if (worker === undefined) {
        parts.tasks.settle(task, { ok: false, error });
        continue;
      }
      // Placed: the worker skips it if it has not started; its slot is released when it reports.
      parts.loop.send(worker.link, { kind: "cancel", task: id });
      parts.store.settle(id, { ok: false, error });
    }
  }

  /**
   * Retries what the dead thread held on a fresh one. Every task that had
   * started there spends one retry: the one running, and those parked in a
   * nested `get`/`wait` (their state died with the thread). Tasks queued
   * behind them had not started and are retried for free.
   */
  #taskWorkerDied(worker: TaskWorker, started: ReadonlySet<number>, reason: string, heapOutOfMemory: boolean): void {
    const parts = this.#parts;
    // Stopped by the memory monitor (retried once memory is back), or dead of its heap limit.
    const stopped = parts.memory?.takeStopped(worker);
    const oom = stopped ?? (heapOutOfMemory ? this.#heapLimit() : undefined);
    this.#parked.delete(worker);
    const tasks = [...worker.assigned.values()];
    worker.reset();
    worker.defined = new Set();
    worker.blocks = new Set();
    worker.link = parts.taskHost.start(worker.link.index, parts.onBatch, parts.onExit);
    parts.events?.emit({ kind: "workerStarted", worker: `task-${worker.link.index}` });
    parts.owners.set(worker.link, worker);
    parts.announceNames(worker.link);
    for (const task of tasks.reverse()) {
      task.worker = undefined;
      if (task.cancelled === "force") {
        parts.tasks.settle(task, { ok: false, error: errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled (force)`)) });
      } else if (task.cancelled === "soft") {
        parts.tasks.settle(task, { ok: false, error: errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled`)) });
      } else if (started.has(task.id) && task.attempts >= task.options.maxRetries) {
        const message = `the worker running ${task.name} died (${reason}) and the task ran out of retries (maxRetries: ${task.options.maxRetries})`;
        parts.tasks.settle(task, { ok: false, error: oom === undefined ? crashData(message) : outOfMemoryData(task.name, oom, task.options.maxRetries) });
      } else {
        if (started.has(task.id)) task.attempts++;
        parts.events?.emit({ kind: "taskRetried", task, reason: oom ?? `its worker died (${reason})` });
        if (stopped !== undefined && started.has(task.id)) {
          parts.memory?.retryLater(() => {
            if (!parts.tasks.live.has(task.id) || parts.loop.closed) return;
            parts.policy.queue.unshift(task);
            parts.loop.scheduleTick();
          });
        } else parts.policy.queue.unshift(task);
      }
    }
  }

  /** Why a thread that died of its heap limit died. */
  #heapLimit(): string {
    return `its worker passed its heap limit (workerMaxHeapMB: ${this.#parts.options.workerMaxHeapMB ?? "Node's default"})`;
  }

  /** The tasks that had started on a task worker: the one running and those parked in a nested `get`/`wait`. */
  #started(worker: TaskWorker): Set<number> {
    const started = new Set(this.#parked.get(worker)?.keys());
    started.add(this.#parts.running[worker.link.index] as number);
    return started;
  }

  /** Tasks running on task workers now, for the memory monitor. */
  *runningTasks(): Generator<{ task: Task; worker: TaskWorker; stop(): void }> {
    const parts = this.#parts;
    for (const worker of parts.policy.workers) {
      if (worker.link.dead) continue;
      const task = parts.tasks.live.get(parts.running[worker.link.index] ?? 0);
      if (task !== undefined && task.worker === worker) yield { task, worker, stop: () => worker.link.terminate() };
    }
  }
}
