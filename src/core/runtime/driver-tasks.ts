/**
 * The life of a task in the driver, from submit to settled: admission
 * (result entry, pins, dependency waits, owner), placement through the
 * scheduling policy, the first definition of its function on a worker, and
 * its outcome (value, error, retry, cancel). Actor calls share admission and
 * settlement; their placement is the actor manager's.
 */
import { captureFailure, NO_CAPTURE, prepareCaptures } from "./captures.js";
import type { Backend } from "./backend.js";
import { taskWorkerName, type DriverParts, type Owner } from "./driver-parts.js";
import { errorToData, ObjectStoreFullError, RayError, TaskCancelledError, type ErrorData } from "../api/errors.js";
import { nextId, state } from "./global-state.js";
import { currentNum, isObjectRef, type ObjectRef } from "../api/object-ref.js";
import type { Settled } from "../store/object-store.js";
import { isBoxed, type Encoded, type ResolvedTaskOptions } from "../protocol/protocol.js";
import { isSideTask, TaskWorker, type Task } from "../scheduling/scheduler.js";
import { encodeArg, isLargeCopy, needsArrow, releaseArg, sizeOf } from "../codec/serialization.js";
import type { Transport } from "../transport/transport.js";
import { newTask } from "../scheduling/dependencies.js";

/**
 * Offered each task a worker submitted, once it can run; returns true when it
 * took the task, which it then settles through `parts.tasks` (a cluster node
 * runs some on other nodes).
 */
export type NestedPlacer = (task: Task, parts: DriverParts) => boolean;

/** Tasks of one runtime from submit to settled. */
export class TaskLifecycle {
  readonly #parts: DriverParts;
  /** The backend tasks' captured values are prepared with. */
  readonly #backend: Backend;
  /** Tasks from submit until settled, by id (also their result's object id). */
  readonly live = new Map<number, Task>();
  /** Finished tasks whose result waits for room, with their arguments already unpinned. */
  readonly #unpinned = new WeakSet<Task>();
  /** Tasks submitted by workers, offered to {@link NestedPlacer} when one is set. */
  readonly #nested = new WeakSet<Task>();
  #inTick = false;

  constructor(parts: DriverParts, backend: Backend) {
    this.#parts = parts;
    this.#backend = backend;
  }

  /** Encodes arguments; a top-level ObjectRef becomes an `r` entry, a dependency. */
  encodeArgs(args: readonly unknown[], name: string): Encoded[] {
    // Primitives encode as themselves: then the (fresh, rest-parameter) array serves as it is.
    let primitive = true;
    for (const arg of args) {
      if (typeof arg === "object" || typeof arg === "function" || typeof arg === "symbol" || (typeof arg === "string" && arg.length > 1024)) {
        primitive = arg === null;
        if (!primitive) break;
      }
    }
    if (primitive) return args as Encoded[];
    const encoded: Encoded[] = [];
    for (let index = 0; index < args.length; index++) {
      const arg = args[index];
      if (isObjectRef(arg)) encoded.push({ t: "r", id: currentNum(arg, `argument ${index} of ${name}`) });
      else if (needsArrow(arg)) {
        // Put first (see DriverObjects.putArrow); the task depends on it and its pin keeps it alive.
        const id = nextId();
        this.#parts.objects.putArrow(id, arg);
        this.#parts.ownership.addRef(id, -1);
        encoded.push({ t: "r", id });
      } else encoded.push(encodeArg(arg, `argument ${index} of ${name}`));
    }
    return encoded;
  }

  /**
   * Registers a task: its result entry (with one count, for the driver's
   * first ref or the submitting worker's borrow), pins, and dependency waits.
   * Returns whether it can run now.
   */
  admit(task: Task, owner?: Owner): boolean {
    const parts = this.#parts;
    parts.store.expect(task.id, 1);
    if (owner !== undefined) {
      parts.ownership.borrow(owner, task.id);
      parts.ownership.submitted(owner, task.id);
    }
    parts.store.pin(task.pins, 1);
    this.live.set(task.id, task);
    parts.dependencies.resolve(task, task.args);
    this.captureDependencies(task);
    parts.taskEvents?.taskSubmitted(task, owner?.link === undefined ? undefined : parts.running[owner.link.index] || undefined);
    return task.deps === 0;
  }

  /**
   * A compiled function's captures are dependencies of its tasks (and of
   * its actors' constructors): Arrow data and values put by a worker may
   * still be on their way. A capture that failed, or that the defining
   * thread never put, fails the task with its error.
   */
  captureDependencies(task: Task): void {
    if (task.method !== undefined) return;
    const def = this.#parts.control.fetchFunction(task.fn);
    if (def === undefined || def.kind !== "module") return;
    const store = this.#parts.store;
    prepareCaptures(task.fn, this.#backend);
    for (const [name, id] of Object.entries(def.captures)) {
      const settled = id === NO_CAPTURE ? undefined : store.peek(id);
      if (settled?.ok === true) continue;
      if (settled !== undefined || id === NO_CAPTURE || !store.has(id)) {
        const reason = settled !== undefined ? settled.error.message : id === NO_CAPTURE ? "it was never put" : "it is no longer in the object store";
        task.depError ??= captureFailure(def, name, reason);
        continue;
      }
      task.deps++;
      store.onSettled(id, (result) => {
        if (!result.ok) task.depError ??= captureFailure(def, name, result.error.message);
        if (--task.deps === 0) this.ready(task);
      });
    }
  }

  /** A task whose inputs all exist: run it, or fail it with its dependency's error. */
  ready(task: Task): void {
    if (task.cancelled !== "no") return;
    const parts = this.#parts;
    if (task.actor !== undefined) {
      if (task.method === undefined) parts.actors.initReady(task.actor);
      else parts.actors.pump(task.actor);
      return;
    }
    if (task.depError !== undefined) {
      this.settle(task, { ok: false, error: task.depError });
      return;
    }
    if (parts.control.fetchFunction(task.fn) === undefined) {
      const error = new RayError(`task ${task.name} calls remote function ${task.fn}, which the driver does not know`);
      this.settle(task, { ok: false, error: errorToData(error) });
      return;
    }
    if (state.placeNested !== undefined && this.#nested.has(task) && state.placeNested(task, parts)) return;
    const queue = parts.policy.queue;
    queue.push(task);
    // A long synchronous submit loop would leave the workers idle until it
    // ends: every 32 queued tasks, and after every task that carries a large
    // copy (each costs the submit loop milliseconds), take in finished
    // results and place work now instead of at the end of the tick.
    const large = task.args.some(isLargeCopy);
    if (((queue.size & 31) === 0 || large) && !this.#inTick) {
      this.#inTick = true;
      try {
        if (large || (queue.size & 127) === 0) {
          for (const worker of parts.policy.workers) {
            for (let batch = worker.link.receive(); batch !== undefined; batch = worker.link.receive()) parts.onBatch(worker.link, batch);
          }
        }
        parts.loop.tick();
      } finally {
        this.#inTick = false;
      }
    } else parts.loop.scheduleTick();
  }

  /** Submits a task from the driver; returns the ref of its result. */
  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    const numCpus = this.#parts.options.numCpus;
    if (options.numCpus > numCpus) {
      throw new RangeError(`Expected \`numCpus\` of task ${options.name} to be at most the runtime's ${numCpus} CPUs, got ${options.numCpus}`);
    }
    const id = nextId();
    this.submit(newTask(id, fn, this.encodeArgs(args, options.name), options));
    return this.#parts.ownership.firstRef(id);
  }

  /** Admits a task; `owner` is the worker that submitted it and holds its ref. */
  submit(task: Task, owner?: Owner): void {
    if (owner !== undefined && state.placeNested !== undefined && task.actor === undefined) this.#nested.add(task);
    const runnable = this.admit(task, owner);
    const numCpus = this.#parts.options.numCpus;
    // A nested task the placer sees may run on another node with more CPUs: the placer decides.
    if (task.options.numCpus > numCpus && !this.#nested.has(task)) {
      const error = new RangeError(`task ${task.name} asks for ${task.options.numCpus} CPUs; the runtime has ${numCpus}`);
      this.settle(task, { ok: false, error: errorToData(error) });
    } else if (runnable) this.ready(task);
  }

  /** Puts a task on a worker's outbox, defining its function there first if needed (the policy's `assign`). */
  readonly sendTask = (worker: TaskWorker, task: Task): void => {
    const parts = this.#parts;
    const failed = this.define(worker, worker.link, task.fn);
    if (failed !== undefined) {
      this.settle(task, { ok: false, error: failed });
      return;
    }
    // Primitive arguments go as they are; only boxed ones may need lending or trimming.
    const args = task.args.some(isBoxed) ? task.args.map((arg) => parts.lending.lend(worker, arg)) : task.args;
    parts.taskEvents?.taskAssigned(task, taskWorkerName(worker.link.index));
    worker.link.queueRun(task.id, task.fn, task.name === parts.control.fetchFunction(task.fn)?.name ? 0 : task.name, args, isSideTask(task));
    parts.loop.touch(worker.link);
  };

  /** Sends a function's definition to a worker once; returns the error of a capture that cannot be sent. */
  define(owner: Owner, link: Transport, fn: number): ErrorData | undefined {
    if (owner.defined.has(fn)) return undefined;
    const parts = this.#parts;
    const def = parts.control.fetchFunction(fn);
    if (def === undefined) return errorToData(new RayError(`remote function ${fn} is not defined in the driver`));
    const captures: Record<string, Encoded> = {};
    if (def.kind === "module") {
      for (const [name, id] of Object.entries(def.captures)) {
        // Checked when the task was admitted; this guards against a capture lost since.
        const settled = id === NO_CAPTURE ? undefined : parts.store.read(id);
        if (settled === undefined || !settled.ok) return captureFailure(def, name, settled === undefined ? "it is not in the object store" : settled.error.message);
        captures[name] = parts.lending.lend(owner, settled.value);
      }
    }
    owner.defined.add(fn);
    parts.loop.send(link, { kind: "define", fn, def, captures });
    return undefined;
  }

  /** Records a task's outcome, wakes waiters, unpins its inputs. */
  readonly settle = (task: Task, settled: Settled): void => {
    if (!this.live.delete(task.id)) return;
    const parts = this.#parts;
    if (!settled.ok) parts.events?.emit({ kind: "taskFailed", task, error: settled.error, runUs: undefined });
    parts.ownership.settled(task.id);
    parts.reuse.settled(task.id);
    parts.policy.release(task);
    parts.store.settle(task.id, settled);
    if (!this.#unpinned.delete(task)) parts.store.pin(task.pins, -1);
    for (const arg of task.args) releaseArg(arg);
  };

  /** Bookkeeping when a worker reports a task finished; returns the task unless it was cancelled or already settled. */
  finished(owner: Owner, id: number, us: number): Task | undefined {
    const parts = this.#parts;
    const task = this.live.get(id);
    if (task === undefined) {
      if (owner instanceof TaskWorker) {
        const stale = owner.assigned.get(id);
        if (stale !== undefined) parts.policy.release(stale);
      }
      return undefined;
    }
    if (owner instanceof TaskWorker) parts.policy.record(task.fn, us);
    else {
      const actor = task.actor === undefined ? undefined : parts.actors.get(task.actor);
      if (actor !== undefined) {
        actor.ended(id);
        if (actor.orphaned) queueMicrotask(() => parts.actors.retireIfIdle(actor));
      }
    }
    return task;
  }

  /** A task's value arrived; stores it once it fits (after a collection if need be). */
  done(task: Task, value: Encoded, reclaimed = false): void {
    const store = this.#parts.store;
    const bytes = sizeOf(value);
    if (!store.fits(bytes) && !reclaimed && bytes <= store.capacity) {
      // The task has run: its arguments may be spilled to make room for its result.
      store.pin(task.pins, -1);
      this.#unpinned.add(task);
      this.#parts.objects.afterReclaim(bytes, () => this.done(task, value, true));
      return;
    }
    if (!store.fits(bytes)) {
      const error = new ObjectStoreFullError(
        `the result of ${task.name} (${bytes} bytes) does not fit in the object store (${store.bytesUsed} of ${store.capacity} bytes used${store.spillLimits()})`,
      );
      this.settle(task, { ok: false, error: errorToData(error) });
      return;
    }
    this.settle(task, { ok: true, value });
  }

  /** A task threw: retried if its options allow, failed otherwise. */
  failed(task: Task, error: ErrorData): void {
    if (error.code === "RAY_TASK_ERROR" && task.options.retryExceptions && task.attempts < task.options.maxRetries) {
      task.attempts++;
      this.#parts.events?.emit({ kind: "taskRetried", task, reason: error.message });
      if (task.actor !== undefined) return;
      this.#parts.policy.release(task);
      this.#parts.policy.queue.unshift(task);
      this.#parts.loop.scheduleTick();
      return;
    }
    this.settle(task, { ok: false, error });
  }

  cancel(ref: ObjectRef<unknown>, force: boolean): void {
    this.#cancel(ref.num, force);
  }

  #cancel(id: number, force: boolean): void {
    const parts = this.#parts;
    const task = this.live.get(id);
    if (task === undefined || task.cancelled !== "no") return;
    parts.events?.emit({ kind: "taskCancelled", task, force });
    // Recursive, as Ray's: the tasks it submitted are cancelled too.
    for (const child of parts.reuse.children(task.id)) this.#cancel(child, force);
    const error = errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled`));
    if (task.actor !== undefined) {
      task.cancelled = "soft";
      parts.actors.cancel(task);
      this.settle(task, { ok: false, error });
      return;
    }
    const worker = task.worker;
    if (worker === undefined) {
      // Not placed yet: it never runs (or it went to another node, which is told).
      task.cancelled = "soft";
      state.cancelNested?.(task, force);
      this.settle(task, { ok: false, error });
      return;
    }
    if (force && parts.running[worker.link.index] === task.id) {
      // Running: stop its thread. The exit settles it; the other tasks there are retried for free.
      task.cancelled = "force";
      worker.link.terminate();
      return;
    }
    // Placed but not started (or running, without force): the worker skips it or its result is dropped.
    task.cancelled = "soft";
    parts.loop.send(worker.link, { kind: "cancel", task: task.id });
    parts.store.settle(task.id, { ok: false, error });
  }
}
