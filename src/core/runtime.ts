/**
 * The driver runtime: owns the object store, the task workers, the actors,
 * and routes every message. One instance lives between `init` and
 * `shutdown`; the public API in api.ts is a thin facade over it.
 */
import { networkInterfaces, totalmem } from "node:os";
import { MessageChannel } from "node:worker_threads";
import { ActorManager, type FoundActor } from "./actor-manager.js";
import type { ActorThread } from "./actor-threads.js";
import { ActorClass, makeActorHandle } from "./actor.js";
import type { Backend, WaitResult } from "./backend.js";
import {
  errorFromData,
  errorToData,
  GetTimeoutError,
  ObjectStoreFullError,
  RayError,
  TaskCancelledError,
  WorkerCrashedError,
  type ErrorData,
} from "./errors.js";
import { EventBus, type EventSink, type ObjectProbe, type Observation, type RuntimeProbe, type WorkerName } from "./events.js";
import { nextId, state } from "./global-state.js";
import { isObjectRef, ObjectRef } from "./object-ref.js";
import { ObjectStore, type ObjectStoreStats, type Settled } from "./object-store.js";
import type { ResolvedActorOptions, ResolvedInitOptions } from "./options.js";
import { HANDLE_KEY, isBoxed, type Encoded, type FromWorker, type HandleData, type ResolvedTaskOptions, type ToWorker } from "./protocol.js";
import { captureFailure, NO_CAPTURE, prepareCaptures } from "./captures.js";
import { FinalizerTurns, MemoryPressure } from "./collector.js";
import { Dependencies, newTask } from "./dependencies.js";
import { Lending } from "./lending.js";
import { isHeapOutOfMemory, MemoryMonitor, outOfMemoryData, systemMemoryReader } from "./memory-monitor.js";
import { RemoteFunction } from "./remote-function.js";
import { isSideTask, Scheduler, TaskWorker, type Task } from "./scheduler.js";
import { decode, encode, encodeArg, isLargeCopy, needsArrow, preloadArrow, releaseArg, setActorExportHook, sizeOf } from "./serialization.js";
import { ThreadPool, type WorkerLink } from "./worker-pool.js";

export type { ObjectStoreStats } from "./object-store.js";

/** Resources as Ray names them. */
export interface ClusterResources {
  CPU: number;
  memory: number;
  object_store_memory: number;
  [node: `node:${string}`]: number;
}

/** One node of the cluster. */
export interface NodeInfo {
  nodeId: string;
  address: string;
  alive: boolean;
  resources: ClusterResources;
}

/** Largest number of actor threads (shared and dedicated) one runtime runs at once. */
const MAX_ACTORS = 4096;

/**
 * Shared bytes stored between two collections the driver asks for (see
 * collector.ts): a quarter of the store, at most 256 MB, so that a small
 * store does not fill up with objects only a collection would free.
 */
function driverCollectBytes(capacity: number): number {
  return Math.max(1024 * 1024, Math.min(256 * 1024 * 1024, Math.floor(capacity / 4)));
}

/** Settlements of `get`/`wait` between two turns given to finalizers. */
const FINALIZER_TURN_EVERY = 64;

function nodeAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

function crashData(message: string): ErrorData {
  return errorToData(new WorkerCrashedError(message));
}

type Owner = TaskWorker | ActorThread;

export class DriverRuntime implements Backend {
  readonly #options: ResolvedInitOptions;
  readonly #store: ObjectStore;
  readonly #scheduler: Scheduler;
  readonly #taskPool: ThreadPool;
  readonly #actorPool: ThreadPool;
  readonly #tasks = new Map<number, Task>();
  readonly #dependencies: Dependencies;
  readonly #actors: ActorManager;
  readonly #owners = new Map<WorkerLink, Owner>();
  readonly #lending: Lending;
  readonly #dirty = new Set<WorkerLink>();
  /** Per task worker, the tasks parked there in a nested `get`/`wait` (with counts). */
  readonly #parked = new Map<TaskWorker, Map<number, number>>();
  /** Pending tasks submitted from inside a task or call, by the thread that submitted them. */
  readonly #submitted = new Map<Owner, Set<number>>();
  readonly #submitter = new Map<number, Owner>();
  readonly #registry = new FinalizationRegistry<number>((id) => this.#store.addRef(id, -1));
  readonly #pressure: MemoryPressure;
  readonly #turns: FinalizerTurns;
  /** The memory monitor, unless turned off. */
  readonly #memory: MemoryMonitor | undefined;
  /** Finished tasks whose result waits for room, with their arguments already unpinned. */
  readonly #unpinned = new WeakSet<Task>();
  /** Bytes of put values waiting for room (see #afterReclaim). */
  #roomBytes = 0;
  readonly #actorHandles = new FinalizationRegistry<number>((actor) => this.#actors.handleDropped(actor));
  readonly #running: Float64Array;
  readonly #address = nodeAddress();
  /**
   * A handle that keeps the process alive while the driver awaits a `get` or
   * `wait`. Workers and their ports are unref'd, so a script exits after its
   * last await, as a Ray driver does; tasks nobody waits for do not hold it.
   */
  readonly #keepAlive = new MessageChannel();
  #waiting = 0;
  #tickScheduled = false;
  #inTick = false;
  #closed = false;
  readonly #started: Promise<void>;
  /** Where lifecycle events go; undefined while nobody records (see events.ts). */
  #events: EventSink | undefined;
  readonly #sinks = new EventBus();
  /** The state recorder and dashboard of this runtime, when started. */
  observation: Observation | undefined;

  constructor(options: ResolvedInitOptions) {
    this.#options = options;
    this.#pressure = new MemoryPressure(driverCollectBytes(options.objectStoreMemory), "full", true);
    this.#turns = new FinalizerTurns(FINALIZER_TURN_EVERY, this.#pressure);
    this.#store = new ObjectStore(options.objectStoreMemory, (value) => this.#lending.dropped(value), this.#pressure, {
      enabled: options.objectSpilling,
      threshold: options.objectSpillingThreshold,
      directory: options.objectSpillingDirectory,
      limit: options.objectSpillingLimit,
      events: () => this.#events,
      pressure: this.#pressure,
    });
    this.#lending = new Lending(this.#store, (link, message) => this.#send(link, message));
    this.#dependencies = new Dependencies(this.#store, (task) => {
      this.#events?.emit({ kind: "taskQueued", task });
      this.#ready(task);
    });
    this.#scheduler = new Scheduler(options.numCpus, (worker, task) => this.#sendTask(worker, task));
    const running = new SharedArrayBuffer(8 * (options.numCpus + MAX_ACTORS));
    this.#running = new Float64Array(running);
    const collectBytes = driverCollectBytes(options.objectStoreMemory) / 2;
    const limits = options.workerMaxHeapMB === undefined ? undefined : { maxOldGenerationSizeMb: options.workerMaxHeapMB };
    this.#taskPool = new ThreadPool("task", options.numCpus, state.ids.buffer as SharedArrayBuffer, running, collectBytes, limits);
    this.#actorPool = new ThreadPool("actor", MAX_ACTORS, state.ids.buffer as SharedArrayBuffer, running, collectBytes, limits);
    if (options.memoryMonitorRefreshMs > 0) {
      const read = options.memoryUsageReader ?? systemMemoryReader();
      this.#memory = new MemoryMonitor({ refreshMs: options.memoryMonitorRefreshMs, threshold: options.memoryUsageThreshold, read }, {
        running: () => this.#runningTasks(),
      });
    }
    this.#actors = new ActorManager(
      {
        newTask,
        admit: (task, owner) => this.#admit(task, owner),
        events: () => this.#events,
        resolveArgs: (task, args) => {
          this.#dependencies.resolve(task, args);
          this.#captureDependencies(task);
        },
        settle: (task, settled) => this.#settle(task, settled),
        encodeArgs: (args, name) => this.#encodeArgs(args, name),
        lend: (owner, value) => this.#lending.lend(owner, value),
        define: (owner, link, fn) => this.#define(owner, link, fn),
        send: (link, message) => this.#send(link, message),
        addRefs: (ids, delta) => this.#store.addRefs(ids, delta),
        startThread: (slot, make) => {
          const thread = make(this.#actorPool.start(slot, this.#onMessages, this.#onExit));
          this.#owners.set(thread.link, thread);
          this.#sendNames(thread.link);
          this.#events?.emit({ kind: "workerStarted", worker: `actor-${thread.link.index}` });
          return thread;
        },
        running: (link) => this.#running[link.index],
        announceName: (key, actor) => {
          for (const link of this.#owners.keys()) {
            this.#send(link, { kind: "names", set: actor === undefined ? [] : [actor], removed: actor === undefined ? [key] : [] });
          }
        },
      },
      options.numCpus,
      options.numCpus,
      MAX_ACTORS,
    );
    setActorExportHook((actor) => this.#actors.exported(actor));
    this.#keepAlive.port1.on("message", () => undefined);
    this.#keepAlive.port1.unref();
    const hellos: Promise<void>[] = [];
    for (let index = 0; index < options.numCpus; index++) {
      const worker = new TaskWorker(this.#taskPool.start(index, this.#onMessages, this.#onExit));
      this.#owners.set(worker.link, worker);
      this.#scheduler.workers.push(worker);
      hellos.push(new Promise((resolve) => (worker.link.onHello = resolve)));
    }
    this.#started = Promise.all(hellos).then(() => undefined);
  }

  /** Resolves once every task worker is up. */
  ready(): Promise<void> {
    return this.#started;
  }

  // ---- work accounting and the per-tick flush ----

  #waitStarted(): void {
    if (this.#waiting++ === 0) this.#keepAlive.port1.ref();
  }

  #waitEnded(): void {
    if (--this.#waiting === 0) this.#keepAlive.port1.unref();
  }

  #send(link: WorkerLink, message: ToWorker): void {
    link.send(message);
    this.#dirty.add(link);
    this.#scheduleTick();
  }

  #scheduleTick(): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    queueMicrotask(this.#tick);
  }

  /** Once per tick: place ready tasks, then post each worker's messages as one batch. */
  readonly #tick = (): void => {
    // First: a throw below must not leave every later tick unscheduled.
    this.#tickScheduled = false;
    if (this.#closed) return;
    this.#scheduler.dispatch();
    for (const link of this.#dirty) link.flush();
    this.#dirty.clear();
  };

  // ---- refs ----

  /** A new driver ref to an existing object: one more count. */
  #newRef<T>(id: number): ObjectRef<T> {
    const ref = new ObjectRef<T>(id);
    this.track(ref);
    return ref;
  }

  /** The first ref of an object created with a count of one for it. */
  #firstRef<T>(id: number): ObjectRef<T> {
    const ref = new ObjectRef<T>(id);
    this.#registry.register(ref, id);
    return ref;
  }

  trackActorHandle(handle: object, actor: number): void {
    this.#actors.handleMade(actor);
    this.#actorHandles.register(handle, actor);
  }

  track(ref: ObjectRef<unknown>): void {
    this.#store.addRef(ref.id, 1);
    this.#registry.register(ref, ref.id);
  }

  readonly #revive = (data: HandleData): unknown => {
    switch (data[HANDLE_KEY]) {
      case "ref":
        return this.#newRef(data.id);
      case "fn":
        return new RemoteFunction(data.id, data.taskOptions);
      case "cls":
        return new ActorClass(data.classId, data.name, data.methods, data.actorOptions);
      case "actor":
        return makeActorHandle(data.__rayts$actor.id, data.__rayts$actor.name, data.__rayts$actor.methods);
    }
  };

  // ---- tasks ----

  /** Encodes arguments; a top-level ObjectRef becomes an `r` entry, a dependency. */
  #encodeArgs(args: readonly unknown[], name: string): Encoded[] {
    // Primitives encode as themselves: then the (fresh, rest-parameter) array serves as it is.
    let primitive = true;
    for (const arg of args) {
      if (typeof arg === "object" || typeof arg === "function" || typeof arg === "symbol" || (typeof arg === "string" && arg.length > 1024)) {
        primitive = primitive && arg === null;
        if (!primitive) break;
      }
    }
    if (primitive) return args as Encoded[];
    const encoded: Encoded[] = [];
    for (let index = 0; index < args.length; index++) {
      const arg = args[index];
      if (isObjectRef(arg)) encoded.push({ t: "r", id: arg.id });
      else if (needsArrow(arg)) {
        // Put first (see #putArrow); the task depends on it and its pin keeps it alive.
        const id = nextId();
        this.#putArrow(id, arg);
        this.#store.addRef(id, -1);
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
  #admit(task: Task, owner?: Owner): boolean {
    this.#store.expect(task.id, 1);
    if (owner !== undefined) {
      owner.borrows.set(task.id, (owner.borrows.get(task.id) ?? 0) + 1);
      this.#submitter.set(task.id, owner);
      const submitted = this.#submitted.get(owner);
      if (submitted === undefined) this.#submitted.set(owner, new Set([task.id]));
      else submitted.add(task.id);
    }
    this.#store.pin(task.pins, 1);
    this.#tasks.set(task.id, task);
    this.#dependencies.resolve(task, task.args);
    this.#captureDependencies(task);
    this.#events?.emit({ kind: "taskSubmitted", task, parent: owner?.link === undefined ? undefined : this.#running[owner.link.index] || undefined });
    return task.deps === 0;
  }

  /**
   * A compiled function's captures are dependencies of its tasks (and of
   * its actors' constructors): Arrow data and values put by a worker may
   * still be on their way. A capture that failed, or that the defining
   * thread never put, fails the task with its error.
   */
  #captureDependencies(task: Task): void {
    if (task.method !== undefined) return;
    const def = state.functions.get(task.fn);
    if (def === undefined || def.kind !== "module") return;
    prepareCaptures(task.fn, this);
    for (const [name, id] of Object.entries(def.captures)) {
      const settled = id === NO_CAPTURE ? undefined : this.#store.peek(id);
      if (settled?.ok === true) continue;
      if (settled !== undefined || id === NO_CAPTURE || !this.#store.has(id)) {
        const reason = settled !== undefined ? settled.error.message : id === NO_CAPTURE ? "it was never put" : "it is no longer in the object store";
        task.depError ??= captureFailure(def, name, reason);
        continue;
      }
      task.deps++;
      this.#store.onSettled(id, (result) => {
        if (!result.ok) task.depError ??= captureFailure(def, name, result.error.message);
        if (--task.deps === 0) this.#ready(task);
      });
    }
  }

  /** A task whose inputs all exist: run it, or fail it with its dependency's error. */
  #ready(task: Task): void {
    if (task.cancelled !== "no") return;
    if (task.actor !== undefined) {
      if (task.method === undefined) this.#actors.initReady(task.actor);
      else this.#actors.pump(task.actor);
      return;
    }
    if (task.depError !== undefined) {
      this.#settle(task, { ok: false, error: task.depError });
      return;
    }
    if (!state.functions.has(task.fn)) {
      const error = new RayError(`task ${task.name} calls remote function ${task.fn}, which the driver does not know`);
      this.#settle(task, { ok: false, error: errorToData(error) });
      return;
    }
    const queue = this.#scheduler.queue;
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
          for (const worker of this.#scheduler.workers) {
            for (let batch = worker.link.receive(); batch !== undefined; batch = worker.link.receive()) this.#onMessages(worker.link, batch);
          }
        }
        this.#tick();
      } finally {
        this.#inTick = false;
      }
    } else this.#scheduleTick();
  }

  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    if (options.numCpus > this.#options.numCpus) {
      throw new RangeError(
        `Expected \`numCpus\` of task ${options.name} to be at most the runtime's ${this.#options.numCpus} CPUs, got ${options.numCpus}`,
      );
    }
    const id = nextId();
    this.#submit(newTask(id, fn, this.#encodeArgs(args, options.name), options));
    return this.#firstRef(id);
  }

  /** Admits a task; `owner` is the worker that submitted it and holds its ref. */
  #submit(task: Task, owner?: Owner): void {
    const runnable = this.#admit(task, owner);
    if (task.options.numCpus > this.#options.numCpus) {
      const error = new RangeError(`task ${task.name} asks for ${task.options.numCpus} CPUs; the runtime has ${this.#options.numCpus}`);
      this.#settle(task, { ok: false, error: errorToData(error) });
    } else if (runnable) this.#ready(task);
  }

  /** Puts a task on a worker's outbox, defining its function there first if needed. */
  #sendTask(worker: TaskWorker, task: Task): void {
    const failed = this.#define(worker, worker.link, task.fn);
    if (failed !== undefined) {
      this.#settle(task, { ok: false, error: failed });
      return;
    }
    // Primitive arguments go as they are; only boxed ones may need lending or trimming.
    const args = task.args.some(isBoxed) ? task.args.map((arg) => this.#lending.lend(worker, arg)) : task.args;
    this.#events?.emit({ kind: "taskAssigned", task, worker: `task-${worker.link.index}` });
    worker.link.queueRun(task.id, task.fn, task.name === state.functions.get(task.fn)?.name ? 0 : task.name, args, isSideTask(task));
    this.#dirty.add(worker.link);
    this.#scheduleTick();
  }

  /** Sends a function's definition to a worker once; returns the error of a capture that cannot be sent. */
  #define(owner: Owner, link: WorkerLink, fn: number): ErrorData | undefined {
    if (owner.defined.has(fn)) return undefined;
    const def = state.functions.get(fn);
    if (def === undefined) return errorToData(new RayError(`remote function ${fn} is not defined in the driver`));
    const captures: Record<string, Encoded> = {};
    if (def.kind === "module") {
      for (const [name, id] of Object.entries(def.captures)) {
        // Checked when the task was admitted; this guards against a capture lost since.
        const settled = id === NO_CAPTURE ? undefined : this.#store.read(id);
        if (settled === undefined || !settled.ok) return captureFailure(def, name, settled === undefined ? "it is not in the object store" : settled.error.message);
        captures[name] = this.#lending.lend(owner, settled.value);
      }
    }
    owner.defined.add(fn);
    this.#send(link, { kind: "define", fn, def, captures });
    return undefined;
  }

  /** Records a task's outcome, wakes waiters, unpins its inputs. */
  #settle(task: Task, settled: Settled): void {
    if (!this.#tasks.delete(task.id)) return;
    if (!settled.ok) this.#events?.emit({ kind: "taskFailed", task, error: settled.error, runUs: undefined });
    const submitter = this.#submitter.get(task.id);
    if (submitter !== undefined) {
      this.#submitter.delete(task.id);
      this.#submitted.get(submitter)?.delete(task.id);
    }
    this.#scheduler.release(task);
    this.#store.settle(task.id, settled);
    if (!this.#unpinned.delete(task)) this.#store.pin(task.pins, -1);
    for (const arg of task.args) releaseArg(arg);
  }

  #onDone(task: Task, value: Encoded, reclaimed = false): void {
    if (!this.#store.fits(sizeOf(value)) && !reclaimed && sizeOf(value) <= this.#store.capacity) {
      // The task has run: its arguments may be spilled to make room for its result.
      this.#store.pin(task.pins, -1);
      this.#unpinned.add(task);
      this.#afterReclaim(sizeOf(value), () => this.#onDone(task, value, true));
      return;
    }
    if (!this.#store.fits(sizeOf(value))) {
      const error = new ObjectStoreFullError(
        `the result of ${task.name} (${sizeOf(value)} bytes) does not fit in the object store (${this.#store.bytesUsed} of ${this.#store.capacity} bytes used${this.#store.spillLimits()})`,
      );
      this.#settle(task, { ok: false, error: errorToData(error) });
      return;
    }
    this.#settle(task, { ok: true, value });
  }

  #onFail(task: Task, error: ErrorData): void {
    if (error.code === "RAY_TASK_ERROR" && task.options.retryExceptions && task.attempts < task.options.maxRetries) {
      task.attempts++;
      this.#events?.emit({ kind: "taskRetried", task, reason: error.message });
      this.#retry(task);
      return;
    }
    this.#settle(task, { ok: false, error });
  }

  #retry(task: Task): void {
    if (task.actor !== undefined) return;
    this.#scheduler.release(task);
    this.#scheduler.queue.unshift(task);
    this.#scheduleTick();
  }

  cancel(ref: ObjectRef<unknown>, force: boolean): void {
    const task = this.#tasks.get(ref.id);
    if (task === undefined || task.cancelled !== "no") return;
    this.#events?.emit({ kind: "taskCancelled", task, force });
    const error = errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled`));
    if (task.actor !== undefined) {
      task.cancelled = "soft";
      this.#actors.cancel(task);
      this.#settle(task, { ok: false, error });
      return;
    }
    const worker = task.worker;
    if (worker === undefined) {
      // Not placed yet: it never runs.
      task.cancelled = "soft";
      this.#settle(task, { ok: false, error });
      return;
    }
    if (force && this.#running[worker.link.index] === task.id) {
      // Running: stop its thread. The exit settles it; the other tasks there are retried for free.
      task.cancelled = "force";
      worker.link.terminate();
      return;
    }
    // Placed but not started (or running, without force): the worker skips it or its result is dropped.
    task.cancelled = "soft";
    this.#send(worker.link, { kind: "cancel", task: task.id });
    this.#store.settle(task.id, { ok: false, error });
  }

  // ---- objects ----

  put(value: unknown): ObjectRef<unknown> {
    const id = nextId();
    if (needsArrow(value)) {
      this.#putArrow(id, value);
      return this.#firstRef(id);
    }
    const encoded = encode(value, "the value given to put()");
    this.#putValue(id, encoded);
    this.#events?.emit({ kind: "objectCreated", id, bytes: sizeOf(encoded), owner: "driver" });
    return this.#firstRef(id);
  }

  /**
   * Stores a put value. One that does not fit now but could once dead
   * objects are freed is kept pending while the runtime collects; if it
   * still does not fit then, the object holds an ObjectStoreFullError. A
   * value larger than the whole store (or than the room pending puts leave)
   * throws at once.
   */
  #putValue(id: number, value: Encoded): void {
    const bytes = sizeOf(value);
    if (this.#store.fits(bytes) || bytes > this.#store.capacity || this.#roomBytes + bytes > this.#store.capacity + this.#store.spillRoom) {
      this.#store.put(id, value, 1);
      return;
    }
    this.#store.expect(id, 1);
    this.#roomBytes += bytes;
    this.#afterReclaim(bytes, () => {
      this.#roomBytes -= bytes;
      try {
        this.#store.fill(id, value);
      } catch (error) {
        this.#store.settle(id, { ok: false, error: errorToData(error) });
      }
    });
  }

  /**
   * Runs `then` once `bytes` more fit (after a full collection and the turn
   * that lets finalizers release what it found dead, then after spilling),
   * or when nothing more can make room. Callers queue in order.
   */
  #afterReclaim(bytes: number, then: () => void): void {
    this.#store.whenRoom(bytes, () => {
      then();
      this.#scheduleTick();
    });
  }

  /**
   * Arrow values are encoded with the user's own instance of apache-arrow,
   * reached through `import()` (a second copy of the library misreads
   * tables). The library is loaded only once an Arrow value is seen: loading
   * it slows `Array.prototype.concat` in the whole thread, because Arrow sets
   * `Symbol.isConcatSpreadable`. Until it is loaded the object is pending,
   * like a task result; tables are immutable, so nothing is lost by waiting.
   */
  #putArrow(id: number, value: unknown): void {
    this.#store.expect(id, 1);
    void preloadArrow().then(() => {
      try {
        this.#store.fill(id, encode(value, "the value given to put()"));
      } catch (error) {
        this.#store.settle(id, { ok: false, error: errorToData(error) });
      }
    });
  }

  get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    this.#store.checkKnown(refs.map((ref) => ref.id));
    this.#waitStarted();
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        const values: unknown[] = [];
        try {
          for (const ref of refs) {
            const settled = this.#store.read(ref.id) as Settled;
            if (!settled.ok) return reject(errorFromData(settled.error));
            values.push(decode(settled.value, this.#revive));
          }
        } catch (error) {
          // A value that cannot be decoded fails this get, not the runtime.
          return reject(error);
        }
        resolve(values);
      };
      this.#store.whenSettled(refs.map((ref) => ref.id), refs.length, timeout, (count) => {
        this.#waitEnded();
        if (count < refs.length) {
          reject(new GetTimeoutError(`get() timed out after ${timeout} ms with ${refs.length - count} of ${refs.length} objects not ready`));
        } else if (refs.some((ref) => {
          const settled = this.#store.peek(ref.id);
          return settled?.ok === true && needsArrow(settled.value);
        })) {
          void preloadArrow().then(finish);
        } else this.#turns.run(finish);
      });
    });
  }

  wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    this.#store.checkKnown(refs.map((ref) => ref.id));
    this.#waitStarted();
    return new Promise((resolve) => {
      this.#store.whenSettled(refs.map((ref) => ref.id), numReturns, timeout, () => {
        this.#waitEnded();
        const result: WaitResult<unknown> = [[], []];
        let ready = 0;
        for (const ref of refs) {
          const isReady = ready < numReturns && this.#store.isReady(ref.id);
          if (isReady) ready++;
          result[isReady ? 0 : 1].push(ref);
        }
        this.#turns.run(() => resolve(result));
      }, false);
    });
  }

  // ---- actors (see actor-manager.ts) ----

  /** A new thread learns the named actors, so `getActor` works in its tasks. */
  #sendNames(link: WorkerLink): void {
    const named = this.#actors.named();
    if (named.length > 0) this.#send(link, { kind: "names", set: named, removed: [] });
  }

  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    return this.#actors.createActor(cls, args, options, methods);
  }

  submitCall(actorId: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    const id = nextId();
    this.#actors.call(actorId, method, this.#encodeArgs(args, method), id);
    return this.#firstRef(id);
  }

  getActor(name: string, namespace?: string): FoundActor | undefined {
    return this.#actors.getActor(name, namespace);
  }

  kill(id: number): void {
    this.#actors.kill(id);
  }

  // ---- messages from workers ----

  readonly #onMessages = (link: WorkerLink, batch: FromWorker[]): void => {
    const owner = this.#owners.get(link);
    if (owner === undefined) return;
    for (const message of batch) this.#onMessage(link, owner, message);
    this.#scheduleTick();
  };

  #onMessage(link: WorkerLink, owner: Owner, message: FromWorker): void {
    switch (message.kind) {
      case "hello":
        link.attach(message.threadId);
        return;
      case "done":
        for (let index = 0; index < message.tasks.length; index++) {
          const value = message.values[index] as Encoded;
          this.#lending.learn(owner, value);
          const task = this.#finished(owner, message.tasks[index] as number, message.us[index] as number);
          if (task === undefined) continue;
          this.#events?.emit({ kind: "taskFinished", task, runUs: message.us[index] as number });
          this.#onDone(task, value);
        }
        return;
      case "fail": {
        const task = this.#finished(owner, message.task, message.us);
        if (task !== undefined) this.#onFail(task, message.error);
        return;
      }
      case "blocked":
        if (owner instanceof TaskWorker) {
          owner.blocked++;
          const parked = this.#parked.get(owner);
          if (parked === undefined) this.#parked.set(owner, new Map([[message.task, 1]]));
          else parked.set(message.task, (parked.get(message.task) ?? 0) + 1);
        }
        return;
      case "unblocked":
        if (owner instanceof TaskWorker) {
          owner.blocked--;
          const parked = this.#parked.get(owner);
          const count = parked?.get(message.task) ?? 0;
          if (count <= 1) parked?.delete(message.task);
          else parked?.set(message.task, count - 1);
        }
        return;
      case "defineFn":
        if (!state.functions.has(message.fn)) state.functions.set(message.fn, message.def);
        return;
      case "submit":
        for (const arg of message.args) this.#lending.learn(owner, arg);
        this.#submit(newTask(message.task, message.fn, [...message.args], message.options), owner);
        return;
      case "submitCall":
        for (const arg of message.args) this.#lending.learn(owner, arg);
        this.#actors.call(message.actor, message.method, [...message.args], message.task, owner);
        return;
      case "createActor":
        for (const arg of message.args) this.#lending.learn(owner, arg);
        this.#actors.exported(message.actor);
        this.#actors.create(message.actor, message.cls, [...message.args], message.options, message.methods);
        return;
      case "put":
        this.#lending.learn(owner, message.value);
        try {
          this.#putValue(message.id, message.value);
          this.#events?.emit({ kind: "objectCreated", id: message.id, bytes: sizeOf(message.value), owner: this.#workerName(link, owner) });
          owner.borrows.set(message.id, (owner.borrows.get(message.id) ?? 0) + 1);
        } catch (error) {
          this.#store.expect(message.id, 1);
          owner.borrows.set(message.id, (owner.borrows.get(message.id) ?? 0) + 1);
          this.#store.settle(message.id, { ok: false, error: errorToData(error) });
        }
        return;
      case "get":
        this.#getForWorker(link, owner, message.req, message.ids, message.timeout);
        return;
      case "wait":
        this.#waitForWorker(link, message.req, message.ids, message.numReturns, message.timeout);
        return;
      case "release":
        this.#lending.giveBack(owner, message.ids);
        return;
      case "cancelTask":
        this.cancel(new ObjectRef(message.id), message.force);
        return;
      case "kill":
        // A task cannot be told that the id was unknown; the handle's shape was checked where kill() was called.
        if (this.#actors.get(message.actor) !== undefined) this.kill(message.actor);
        return;
      case "log":
        (message.stream === "out" ? process.stdout : process.stderr).write(`${message.text}\n`);
        this.#events?.emit({ kind: "log", worker: this.#workerName(link, owner), stream: message.stream, text: message.text, task: message.task || undefined });
        return;
      case "actorReady":
        return;
      case "actorInitFailed":
        this.#actors.initFailed(message.actor, message.error);
        return;
    }
  }

  /** Bookkeeping when a worker reports a task finished; returns the task unless it was cancelled or already settled. */
  #finished(owner: Owner, id: number, us: number): Task | undefined {
    const task = this.#tasks.get(id);
    if (task === undefined) {
      if (owner instanceof TaskWorker) {
        const stale = owner.assigned.get(id);
        if (stale !== undefined) this.#scheduler.release(stale);
      }
      return undefined;
    }
    if (owner instanceof TaskWorker) this.#scheduler.record(task.fn, us);
    else {
      const actor = task.actor === undefined ? undefined : this.#actors.get(task.actor);
      if (actor !== undefined) {
        actor.inFlight.delete(id);
        if (actor.orphaned) queueMicrotask(() => this.#actors.retireIfIdle(actor));
      }
    }
    return task;
  }

  #getForWorker(link: WorkerLink, owner: Owner, req: number, ids: readonly number[], timeout: number | undefined): void {
    try {
      this.#store.whenSettled(ids, ids.length, timeout, (count) => {
        if (link.dead) return;
        if (count < ids.length) {
          this.#send(link, { kind: "timeout", req });
          return;
        }
        const values: (Encoded | ErrorData)[] = [];
        const errors: boolean[] = [];
        for (const id of ids) {
          const settled = this.#store.read(id) as Settled;
          values.push(settled.ok ? this.#lending.lend(owner, settled.value) : settled.error);
          errors.push(!settled.ok);
        }
        this.#send(link, { kind: "values", req, values, errors });
      });
    } catch (error) {
      this.#send(link, { kind: "values", req, values: [errorToData(error)], errors: [true] });
    }
  }

  #waitForWorker(link: WorkerLink, req: number, ids: readonly number[], numReturns: number, timeout: number | undefined): void {
    this.#store.whenSettled(ids, numReturns, timeout, () => {
      const ready: number[] = [];
      for (const id of ids) if (ready.length < numReturns && this.#store.isReady(id)) ready.push(id);
      if (!link.dead) this.#send(link, { kind: "waited", req, ready });
    }, false);
  }

  // ---- worker exits ----

  readonly #onExit = (link: WorkerLink, error: unknown): void => {
    const owner = this.#owners.get(link);
    this.#owners.delete(link);
    this.#dirty.delete(link);
    if (owner === undefined || this.#closed) return;
    this.#lending.dropBorrows(owner);
    const reason = error instanceof Error ? error.message.split("\n")[0] ?? "" : "the worker exited";
    this.#events?.emit({ kind: "workerExited", worker: this.#workerName(link, owner), reason });
    if (owner instanceof TaskWorker) this.#taskWorkerDied(owner, reason, isHeapOutOfMemory(error));
    else this.#actors.threadDied(owner, reason);
    this.#orphaned(owner, reason);
    this.#scheduleTick();
  };

  /**
   * Tasks submitted from the dead thread whose results nothing else holds
   * (no ref, no dependent task) share its fate, as in Ray: the task that
   * wanted them is gone, and if it runs again it submits them anew.
   */
  #orphaned(owner: Owner, reason: string): void {
    const submitted = this.#submitted.get(owner);
    if (submitted === undefined) return;
    this.#submitted.delete(owner);
    const error = crashData(`the worker that submitted this task died (${reason})`);
    for (const id of submitted) {
      this.#submitter.delete(id);
      const task = this.#tasks.get(id);
      if (task === undefined || task.actor !== undefined || task.cancelled !== "no" || this.#store.count(id) > 0) continue;
      task.cancelled = "soft";
      const worker = task.worker;
      if (worker === undefined) {
        this.#settle(task, { ok: false, error });
        continue;
      }
      // Placed: the worker skips it if it has not started; its slot is released when it reports.
      this.#send(worker.link, { kind: "cancel", task: id });
      this.#store.settle(id, { ok: false, error });
    }
  }

  /**
   * Retries what the dead thread held on a fresh one. Every task that had
   * started there spends one retry: the one running, and those parked in a
   * nested `get`/`wait` (their state died with the thread). Tasks queued
   * behind them had not started and are retried for free.
   */
  #taskWorkerDied(worker: TaskWorker, reason: string, heapOutOfMemory: boolean): void {
    // Stopped by the memory monitor (retried once memory is back), or dead of its heap limit.
    const stopped = this.#memory?.takeStopped(worker);
    const oom = stopped ?? (heapOutOfMemory ? `its worker passed its heap limit (workerMaxHeapMB: ${this.#options.workerMaxHeapMB ?? "Node's default"})` : undefined);
    const started = new Set(this.#parked.get(worker)?.keys());
    started.add(this.#running[worker.link.index] as number);
    this.#parked.delete(worker);
    const tasks = [...worker.assigned.values()];
    worker.reset();
    worker.defined = new Set();
    worker.blocks = new Set();
    worker.link = this.#taskPool.start(worker.link.index, this.#onMessages, this.#onExit);
    this.#events?.emit({ kind: "workerStarted", worker: `task-${worker.link.index}` });
    this.#owners.set(worker.link, worker);
    this.#sendNames(worker.link);
    for (const task of tasks.reverse()) {
      task.worker = undefined;
      if (task.cancelled === "force") {
        this.#settle(task, { ok: false, error: errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled (force)`)) });
      } else if (task.cancelled === "soft") {
        this.#settle(task, { ok: false, error: errorToData(new TaskCancelledError(`task ${task.name} (${task.id}) was cancelled`)) });
      } else if (started.has(task.id) && task.attempts >= task.options.maxRetries) {
        const message = `the worker running ${task.name} died (${reason}) and the task ran out of retries (maxRetries: ${task.options.maxRetries})`;
        this.#settle(task, { ok: false, error: oom === undefined ? crashData(message) : outOfMemoryData(task.name, oom, task.options.maxRetries) });
      } else {
        if (started.has(task.id)) task.attempts++;
        this.#events?.emit({ kind: "taskRetried", task, reason: oom ?? `its worker died (${reason})` });
        if (stopped !== undefined && started.has(task.id)) {
          this.#memory?.retryLater(() => {
            if (!this.#tasks.has(task.id) || this.#closed) return;
            this.#scheduler.queue.unshift(task);
            this.#scheduleTick();
          });
        } else this.#scheduler.queue.unshift(task);
      }
    }
  }

  /** Tasks running on task workers now, for the memory monitor. */
  *#runningTasks(): Generator<{ task: Task; worker: TaskWorker; stop(): void }> {
    for (const worker of this.#scheduler.workers) {
      if (worker.link.dead) continue;
      const task = this.#tasks.get(this.#running[worker.link.index] ?? 0);
      if (task !== undefined && task.worker === worker) yield { task, worker, stop: () => worker.link.terminate() };
    }
  }

  // ---- resources and lifecycle ----

  resources(total: boolean): ClusterResources {
    const cpus = this.#options.numCpus;
    return {
      CPU: total ? cpus : Math.max(0, cpus - this.#scheduler.usedSlots()),
      memory: Math.max(0, totalmem() - this.#options.objectStoreMemory),
      object_store_memory: total ? this.#store.capacity : this.#store.capacity - this.#store.bytesUsed,
      [`node:${this.#address}`]: 1,
    };
  }

  nodes(): NodeInfo[] {
    return [{ nodeId: `local-${process.pid}`, address: this.#address, alive: true, resources: this.resources(true) }];
  }

  // ---- observation (see events.ts) ----

  #workerName(link: WorkerLink, owner: Owner): WorkerName {
    return owner instanceof TaskWorker ? `task-${link.index}` : `actor-${link.index}`;
  }

  /** Sends lifecycle events to `sink` from now on; returns a function that stops it. */
  observe(sink: EventSink): () => void {
    const remove = this.#sinks.add(sink);
    // One sink (the usual case) is called directly, without the bus's loop.
    const route = (): void => {
      this.#events = this.#sinks.size === 0 ? undefined : this.#sinks.size === 1 ? this.#sinks.only() : this.#sinks;
    };
    route();
    return () => {
      remove();
      route();
    };
  }

  /** Live facts for the state API, read on demand. */
  readonly probe: RuntimeProbe = {
    liveTasks: () => this.#tasks.values(),
    runningTasks: () => {
      const running = new Map<WorkerName, number>();
      for (const [link, owner] of this.#owners) if (!link.dead) running.set(this.#workerName(link, owner), this.#running[link.index] ?? 0);
      return running;
    },
    objects: () => {
      const pinnedBy = new Map<number, number[]>();
      for (const task of this.#tasks.values()) for (const id of task.pins) (pinnedBy.get(id) ?? pinnedBy.set(id, []).get(id))?.push(task.id);
      const borrowedBy = new Map<number, Record<string, number>>();
      for (const [link, owner] of this.#owners) {
        for (const [id, count] of owner.borrows) {
          const holders = borrowedBy.get(id) ?? borrowedBy.set(id, {}).get(id) ?? {};
          holders[this.#workerName(link, owner)] = count;
        }
      }
      const objects: ObjectProbe[] = [];
      for (const entry of this.#store.entries()) {
        objects.push({ ...entry, pinnedBy: pinnedBy.get(entry.id) ?? [], borrowedBy: borrowedBy.get(entry.id) ?? {} });
      }
      return objects;
    },
    slots: () => ({ used: this.#scheduler.usedSlots(), total: this.#options.numCpus }),
    store: () => ({ bytesUsed: this.#store.bytesUsed, capacity: this.#store.capacity, numObjects: this.#store.stats().numObjects }),
    node: () => ({ nodeId: `local-${process.pid}`, address: this.#address }),
  };

  storeStats(): ObjectStoreStats {
    return this.#store.stats();
  }

  async shutdown(): Promise<void> {
    this.#closed = true;
    const observation = this.observation;
    this.observation = undefined;
    const error = errorToData(new RayError("the runtime was shut down"));
    for (const task of [...this.#tasks.values()]) this.#settle(task, { ok: false, error });
    this.#store.failPending(error);
    this.#store.close();
    this.#keepAlive.port1.close();
    setActorExportHook(undefined);
    this.#memory?.close();
    await Promise.all([this.#taskPool.close(), this.#actorPool.close(), observation?.close()]);
  }
}
