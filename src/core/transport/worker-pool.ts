/**
 * Thread lifecycle on `workerpool`: it spawns the worker threads, notices
 * when one dies and replaces it. On top of each thread rayts opens its own
 * MessageChannel and runs its protocol there (batched messages, no per-task
 * promise bookkeeping), because a per-call `exec` would cost more than the
 * task itself for small tasks.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from "node:worker_threads";
import workerpool from "workerpool";
import type { Encoded, FromWorker, RunCells, ToWorker } from "../protocol/protocol.js";
import type { BatchHandler, ExitHandler, Transport, TransportHost } from "./transport.js";

/** Path of the worker script: the built file, or a boot file that loads the TypeScript source. */
function workerScript(): string {
  const fromSource = import.meta.url.endsWith(".ts");
  return new URL(fromSource ? "../worker/worker-dev.mjs" : "../worker/worker.js", import.meta.url).pathname;
}

/** What a worker is told when it starts. */
export interface WorkerInfo {
  readonly index: number;
  readonly role: "task" | "actor";
  readonly ids: SharedArrayBuffer;
  /** One float per worker: the id of the task it is running, read after a crash. */
  readonly running: SharedArrayBuffer;
  /** Shared bytes forgotten or received between two collections the worker asks for. */
  readonly collectBytes: number;
}

/** The part of workerpool's private WorkerHandler rayts reads (see {@link ThreadPool.findThread}). */
interface WorkerpoolHandler {
  readonly worker: Worker | undefined;
}

/** One live worker thread and the channel rayts talks to it on. */
export class WorkerLink implements Transport {
  readonly index: number;
  readonly #port: MessagePort;
  readonly #pool: ThreadPool;
  #thread: Worker | undefined;
  #outbox: ToWorker[] = [];
  #runs: RunCells | undefined;
  #dead = false;
  /** Called once the worker has said hello. */
  onHello: (() => void) | undefined;

  constructor(index: number, port: MessagePort, pool: ThreadPool) {
    this.index = index;
    this.#port = port;
    this.#pool = pool;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Queues a message; everything queued in one tick is posted together by {@link flush}. */
  send(message: ToWorker): void {
    this.#closeRuns();
    this.#outbox.push(message);
  }

  /**
   * Queues a task. Consecutive tasks share one flat {@link RunCells}
   * message, so a batch of small tasks costs the structured clone one array
   * rather than an object per task.
   */
  queueRun(task: number, fn: number, name: string | 0, args: readonly Encoded[], side: boolean): void {
    const runs = (this.#runs ??= []);
    runs.push(task, fn, name, side, args.length);
    for (const arg of args) runs.push(arg);
  }

  #closeRuns(): void {
    if (this.#runs === undefined) return;
    this.#outbox.push(this.#runs);
    this.#runs = undefined;
  }

  flush(): void {
    this.#closeRuns();
    if (this.#outbox.length === 0 || this.#dead) return;
    const batch = this.#outbox;
    this.#outbox = [];
    this.#port.postMessage(batch);
  }

  /** Takes a batch that has arrived but not been dispatched yet, if any (for a driver busy in a long synchronous loop). */
  receive(): FromWorker[] | undefined {
    if (this.#dead) return undefined;
    return receiveMessageOnPort(this.#port)?.message as FromWorker[] | undefined;
  }

  /** Called on the worker's hello: finds its thread so it can be unref'd and, if need be, stopped. */
  attach(threadId: number): void {
    this.#thread = this.#pool.findThread(threadId);
    this.#thread?.unref();
    if (this.#pool.takePendingTerminate(this)) void this.#thread?.terminate();
    this.onHello?.();
  }

  /** Stops the thread at once (force cancel, actor kill). The exit is reported like a crash. */
  terminate(): void {
    if (this.#thread !== undefined) void this.#thread.terminate();
    else this.#pool.terminateLater(this);
  }

  /** @internal */
  markDead(): void {
    this.#dead = true;
    this.#outbox = [];
    this.#runs = undefined;
    // Not closed: a port whose peer still sits in workerpool's queue of
    // requests for a thread that never got ready would make that send throw.
    this.#port.removeAllListeners("message");
  }
}

/** A set of worker threads of one role (tasks or actors). */
export class ThreadPool implements TransportHost {
  readonly #pool: workerpool.Pool;
  readonly #role: "task" | "actor";
  readonly #ids: SharedArrayBuffer;
  readonly #running: SharedArrayBuffer;
  readonly #collectBytes: number;
  readonly #pendingTerminate = new Set<WorkerLink>();
  #closed = false;

  /** `resourceLimits`: each thread's heap limits (a thread that passes them dies alone, with ERR_WORKER_OUT_OF_MEMORY). */
  constructor(
    role: "task" | "actor",
    size: number,
    ids: SharedArrayBuffer,
    running: SharedArrayBuffer,
    collectBytes: number,
    resourceLimits?: { readonly maxOldGenerationSizeMb: number },
  ) {
    this.#role = role;
    this.#collectBytes = collectBytes;
    this.#ids = ids;
    this.#running = running;
    this.#pool = workerpool.pool(workerScript(), {
      workerType: "thread",
      minWorkers: role === "task" ? size : 0,
      maxWorkers: size,
      // A crashed worker's replacement may start while the old exit is reported.
      workerTerminateTimeout: 100,
      ...(resourceLimits === undefined ? {} : { workerThreadOpts: { resourceLimits } }),
    });
  }

  /**
   * Starts a worker's serve loop. `onMessage` gets its batches; `onExit` is
   * called once when the thread ends for any reason.
   */
  start(index: number, onMessage: BatchHandler, onExit: ExitHandler): WorkerLink {
    const { port1, port2 } = new MessageChannel();
    const link = new WorkerLink(index, port1, this);
    const info: WorkerInfo = { index, role: this.#role, ids: this.#ids, running: this.#running, collectBytes: this.#collectBytes };
    port1.on("message", (batch: FromWorker[]) => {
      if (!link.dead) onMessage(link, batch);
    });
    // Idle workers must not keep the process alive; the runtime holds a
    // separate handle while work is pending.
    port1.unref();
    const done = this.#pool.exec("serve", [port2, info], { transfer: [port2] });
    let reported = false;
    const exit = (error: unknown): void => {
      if (reported) return;
      reported = true;
      // What the thread posted before it ended (its logs, its last results) still counts.
      for (let left = receiveMessageOnPort(port1); left !== undefined && !link.dead; left = receiveMessageOnPort(port1)) {
        onMessage(link, left.message as FromWorker[]);
      }
      this.#pendingTerminate.delete(link);
      // What the thread posted before it ended (results, its last messages) counts.
      if (!this.#closed) for (let batch = link.receive(); batch !== undefined; batch = link.receive()) onMessage(link, batch);
      link.markDead();
      if (!this.#closed) onExit(link, error);
    };
    done.then(
      () => exit(undefined),
      (error: unknown) => exit(error),
    );
    return link;
  }

  /**
   * @internal The Node Worker with this thread id.
   *
   * The one place rayts reads workerpool's internals (its `workers` list of
   * handlers). The driver needs the Worker object for two things no public
   * workerpool API gives: `unref()`, so that idle threads let a script exit
   * (the runtime keeps the process alive itself while it awaits results),
   * and `terminate()` of one given thread at once (force cancel, actor kill)
   * while the exit is still reported through the `serve` call's promise.
   * `onCreateWorker` only sees the options a Worker is made from, not the
   * Worker; and cancelling the `serve` promise, the public way to stop a
   * thread, first waits for a cleanup reply (which a thread stuck in a loop
   * never sends) and reports the end before the thread has stopped, while
   * it may still write its slot of the shared "running" table.
   * test/worker-pool-internals.test.ts pins this contract, so an upgrade of
   * workerpool that changes it fails there rather than at a user's exit.
   */
  findThread(threadId: number): Worker | undefined {
    const handlers = (this.#pool as unknown as { workers?: WorkerpoolHandler[] }).workers;
    return handlers?.find((handler) => handler.worker?.threadId === threadId)?.worker;
  }

  /** Threads workerpool runs now (its public statistics), for tests and the state API. */
  threadCount(): number {
    return this.#pool.stats().totalWorkers;
  }

  /** @internal True (once) when a terminate was asked for before the worker said hello. */
  takePendingTerminate(link: WorkerLink): boolean {
    return this.#pendingTerminate.delete(link);
  }

  /** @internal A terminate asked for before the worker said hello. */
  terminateLater(link: WorkerLink): void {
    this.#pendingTerminate.add(link);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.terminate(true);
  }
}
