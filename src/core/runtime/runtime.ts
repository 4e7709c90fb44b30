/**
 * The driver runtime: the composition root of the parts of a local runtime.
 * One instance lives between `init` and `shutdown`; the public API in
 * api.ts is a thin facade over it. Each part sits behind an interface in its
 * own file, with today's in-process implementation:
 *
 * - {@link TransportHost}/{@link Transport} (transport.ts): the worker-thread
 *   channels of worker-pool.ts;
 * - {@link SchedulingPolicy} (scheduling-policy.ts): scheduler.ts's
 *   micro-batching policy, injectable;
 * - {@link LocalObjectStore} (local-object-store.ts): object-store.ts;
 * - {@link OwnershipTable} (ownership.ts) and {@link ObjectDirectory}
 *   (object-directory.ts, behind lending.ts);
 * - {@link ControlPlane} (control-plane.ts): {@link LocalControlPlane};
 * - {@link EventSink} (events.ts): whoever observes.
 *
 * The work itself is done by the task lifecycle (driver-tasks.ts), the
 * object API (driver-objects.ts), the message handlers
 * (worker-messages.ts), the failure handling (worker-failures.ts) and the
 * actor manager (actor-manager.ts), which see each other through
 * {@link DriverParts}.
 */
import { totalmem } from "node:os";
import { ActorManager, type FoundActor } from "../actors/actor-manager.js";
import type { DriverBackend, WaitResult } from "./backend.js";
import { FinalizerTurns, MemoryPressure } from "../store/collector.js";
import { LocalControlPlane, type ClusterResources, type ControlPlane, type NodeInfo } from "./control-plane.js";
import { Dependencies, newTask } from "../scheduling/dependencies.js";
import { DriverLoop } from "./driver-loop.js";
import { DriverObjects } from "./driver-objects.js";
import { workerName, type DriverParts, type Owner } from "./driver-parts.js";
import { TaskLifecycle } from "./driver-tasks.js";
import { errorToData, RayError } from "../api/errors.js";
import { EventBus, largestObjects, taskEventCalls, type EventSink, type ObjectProbe, type Observation, type RuntimeProbe, type WorkerName } from "./events.js";
import { nextId, state } from "./global-state.js";
import { Lending } from "../store/lending.js";
import type { LocalObjectStore } from "../store/local-object-store.js";
import { LocalObjectDirectory, type ObjectDirectory } from "../store/object-directory.js";
import type { ObjectRef } from "../api/object-ref.js";
import { ObjectStore, type ObjectStoreStats } from "../store/object-store.js";
import type { ResolvedActorOptions, ResolvedInitOptions } from "../api/options.js";
import { LocalOwnershipTable, type OwnershipTable } from "../store/ownership.js";
import type { FromWorker, ResolvedTaskOptions } from "../protocol/protocol.js";
import { microBatching, TaskWorker } from "../scheduling/scheduler.js";
import type { SchedulingPolicy, SchedulingPolicyFactory } from "../scheduling/scheduling-policy.js";
import type { Transport, TransportHost } from "../transport/transport.js";
import { driverHandlers, handleBatch, type MessageHandlers } from "./worker-messages.js";
import { WorkerFailures } from "./worker-failures.js";
import { ChildReuse } from "./child-reuse.js";
import { ThreadPool } from "../transport/worker-pool.js";
import { registerLocalDriver } from "./driver-factory.js";
import { GeneratorStreams } from "./generator-task.js";
import { MemoryMonitor, systemMemoryReader } from "./memory-monitor.js";

export type { ObjectStoreStats } from "../store/object-store.js";
export type { ClusterResources, NodeInfo } from "./control-plane.js";

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

/** Parts a runtime can be given instead of its defaults (tests, other placements). */
export interface RuntimeComponents {
  /** Makes the scheduling policy (default: micro-batching, see scheduler.ts). */
  readonly policy?: SchedulingPolicyFactory;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class DriverRuntime implements DriverBackend {
  readonly #options: ResolvedInitOptions;
  readonly #parts: DriverParts;
  readonly #store: LocalObjectStore;
  readonly #policy: SchedulingPolicy;
  readonly #tasks: TaskLifecycle;
  readonly #objects: DriverObjects;
  readonly #actors: ActorManager;
  readonly #ownership: OwnershipTable<Owner>;
  readonly #control: ControlPlane;
  readonly #owners = new Map<Transport, Owner>();
  readonly #taskPool: TransportHost;
  readonly #actorPool: TransportHost;
  readonly #handlers: MessageHandlers;
  readonly #loop: DriverLoop;
  readonly #actorHandles = new FinalizationRegistry<number>((actor) => this.#actors.handleDropped(actor));
  readonly #running: Float64Array;
  readonly #started: Promise<void>;
  readonly #sinks = new EventBus();
  /** The state recorder and dashboard of this runtime, when started. */
  observation: Observation | undefined;

  constructor(options: ResolvedInitOptions, components: RuntimeComponents = {}) {
    this.#options = options;
    // Parts refer to each other through this one object, filled in below.
    const parts = { options, owners: this.#owners, events: undefined, taskEvents: undefined } as Mutable<DriverParts>;
    this.#parts = parts;
    const pressure = new MemoryPressure(driverCollectBytes(options.objectStoreMemory), "full", true);
    parts.turns = new FinalizerTurns(FINALIZER_TURN_EVERY, pressure);
    const store = new ObjectStore(options.objectStoreMemory, (value) => parts.lending.dropped(value), pressure, {
      enabled: options.objectSpilling,
      threshold: options.objectSpillingThreshold,
      directory: options.objectSpillingDirectory,
      limit: options.objectSpillingLimit,
      events: () => parts.events,
      pressure,
    });
    this.#store = parts.store = store;
    this.#ownership = parts.ownership = new LocalOwnershipTable<Owner>(store, () => this.#owners.values());
    this.#control = parts.control = new LocalControlPlane(() => this.resources(true));
    const directory: ObjectDirectory<number, Owner> = new LocalObjectDirectory();
    parts.lending = new Lending(store, (peer, message) => parts.loop.send(peer, message), directory);
    this.#tasks = parts.tasks = new TaskLifecycle(parts, this);
    parts.reuse = new ChildReuse(parts);
    this.#objects = parts.objects = new DriverObjects(parts);
    parts.dependencies = new Dependencies(store, (task) => {
      parts.taskEvents?.taskQueued(task);
      parts.tasks.ready(task);
    });
    this.#policy = parts.policy = (components.policy ?? microBatching)(options.numCpus, parts.tasks.sendTask);
    this.#loop = parts.loop = new DriverLoop(() => parts.policy.dispatch());
    parts.streams = new GeneratorStreams<Transport, Owner>({
      store: () => parts.store,
      addRef: (id, delta) => parts.ownership.addRef(id, delta),
      learn: (owner, value) => parts.lending.learn(owner, value),
      send: (peer, message) => parts.loop.send(peer, message),
      isLive: (task) => parts.tasks.live.has(task),
      created: (id, bytes, peer, owner) => parts.events?.emit({ kind: "objectCreated", id, bytes, owner: workerName(peer, owner) }),
      waitStarted: () => parts.loop.waitStarted(),
      waitEnded: () => parts.loop.waitEnded(),
      lendItem: (owner, id) => parts.ownership.borrow(owner, id),
      isDead: (peer) => peer.dead,
    });
    const failures = new WorkerFailures(parts);
    this.#handlers = driverHandlers(parts, failures);
    parts.onBatch = this.#onBatch;
    parts.onExit = failures.exited;
    parts.announceNames = (peer) => this.#sendNames(peer);
    const running = new SharedArrayBuffer(8 * (options.numCpus + MAX_ACTORS));
    this.#running = parts.running = new Float64Array(running);
    const collectBytes = driverCollectBytes(options.objectStoreMemory) / 2;
    const limits = options.workerMaxHeapMB === undefined ? undefined : { maxOldGenerationSizeMb: options.workerMaxHeapMB };
    this.#taskPool = parts.taskHost = new ThreadPool("task", options.numCpus, state.ids.buffer as SharedArrayBuffer, running, collectBytes, limits);
    this.#actorPool = new ThreadPool("actor", MAX_ACTORS, state.ids.buffer as SharedArrayBuffer, running, collectBytes, limits);
    parts.memory =
      options.memoryMonitorRefreshMs > 0
        ? new MemoryMonitor(
            { refreshMs: options.memoryMonitorRefreshMs, threshold: options.memoryUsageThreshold, read: options.memoryUsageReader ?? systemMemoryReader() },
            { running: () => failures.runningTasks() },
          )
        : undefined;
    this.#actors = parts.actors = new ActorManager(
      {
        newTask,
        admit: (task, owner) => parts.tasks.admit(task, owner),
        events: () => parts.events,
        taskEvents: () => parts.taskEvents,
        resolveArgs: (task, args) => {
          parts.dependencies.resolve(task, args);
          parts.tasks.captureDependencies(task);
        },
        settle: parts.tasks.settle,
        encodeArgs: (args, name) => parts.tasks.encodeArgs(args, name),
        lend: (owner, value) => parts.lending.lend(owner, value),
        define: (owner, link, fn) => parts.tasks.define(owner, link, fn),
        send: (link, message) => parts.loop.send(link, message),
        addRefs: (ids, delta) => parts.ownership.addRefs(ids, delta),
        startThread: (slot, make) => {
          const thread = make(this.#actorPool.start(slot, this.#onBatch, parts.onExit));
          this.#owners.set(thread.link, thread);
          this.#sendNames(thread.link);
          parts.events?.emit({ kind: "workerStarted", worker: `actor-${thread.link.index}` });
          return thread;
        },
        running: (link) => this.#running[link.index],
        announceName: (key, actor) => {
          for (const link of this.#owners.keys()) {
            parts.loop.send(link, { kind: "names", set: actor === undefined ? [] : [actor], removed: actor === undefined ? [key] : [] });
          }
        },
      },
      this.#control,
      options.numCpus,
      options.numCpus,
      MAX_ACTORS,
    );
    state.codec.onActorExport = (actor) => this.#actors.exported(actor);
    state.remoteActors?.attach(parts);
    const hellos: Promise<void>[] = [];
    for (let index = 0; index < options.numCpus; index++) {
      const worker = new TaskWorker(this.#taskPool.start(index, this.#onBatch, parts.onExit));
      this.#owners.set(worker.link, worker);
      this.#policy.workers.push(worker);
      hellos.push(new Promise((resolve) => (worker.link.onHello = resolve)));
    }
    this.#started = Promise.all(hellos).then(() => undefined);
  }

  /** Resolves once every task worker is up. */
  ready(): Promise<void> {
    return this.#started;
  }

  /** A batch from a peer: each message to its kind's handler, then one tick. */
  readonly #onBatch = (peer: Transport, batch: FromWorker[]): void => {
    const owner = this.#owners.get(peer);
    if (owner === undefined) return;
    handleBatch(this.#handlers, { peer, owner }, batch);
    this.#loop.scheduleTick();
  };

  /** A new thread learns the named actors, so `getActor` works in its tasks. */
  #sendNames(peer: Transport): void {
    const named = this.#actors.named();
    if (named.length > 0) this.#loop.send(peer, { kind: "names", set: named, removed: [] });
  }

  // ---- refs ----

  trackActorHandle(handle: object, actor: number): void {
    if (this.#actors.handleMade(actor)) this.#actorHandles.register(handle, actor);
  }

  track(ref: ObjectRef<unknown>): void {
    this.#ownership.track(ref);
  }

  // ---- tasks (see driver-tasks.ts) ----

  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    return this.#tasks.submitTask(fn, args, options);
  }

  cancel(ref: ObjectRef<unknown>, force: boolean): void {
    this.#tasks.cancel(ref, force);
  }

  // ---- streaming generators (see generator-task.ts) ----

  openStream(task: number, backpressure: number): void {
    this.#parts.streams.open(task, backpressure);
  }

  async nextItem(task: number): Promise<ObjectRef<unknown> | undefined> {
    const id = await this.#parts.streams.next(task);
    return id === undefined ? undefined : this.#ownership.firstRef(id);
  }

  closeStream(task: number): void {
    if (!this.#loop.closed) this.#parts.streams.close(task);
  }

  // ---- objects (see driver-objects.ts) ----

  put(value: unknown): ObjectRef<unknown> {
    return this.#objects.put(value);
  }

  get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    return this.#objects.get(refs, timeout);
  }

  getOne(ref: ObjectRef<unknown>, timeout: number | undefined): Promise<unknown> {
    return this.#objects.getOne(ref, timeout);
  }

  wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    return this.#objects.wait(refs, numReturns, timeout);
  }

  // ---- actors (see actor-manager.ts) ----

  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    return this.#actors.createActor(cls, args, options, methods);
  }

  submitCall(actorId: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    const id = nextId();
    this.#actors.call(actorId, method, this.#tasks.encodeArgs(args, method), id);
    return this.#ownership.firstRef(id);
  }

  getActor(name: string, namespace?: string): FoundActor | undefined {
    return this.#actors.getActor(name, namespace);
  }

  kill(id: number): void {
    this.#actors.kill(id);
  }

  // ---- resources and lifecycle ----

  resources(total: boolean): ClusterResources {
    const cpus = this.#options.numCpus;
    return {
      CPU: total ? cpus : Math.max(0, cpus - this.#policy.usedSlots()),
      memory: Math.max(0, totalmem() - this.#options.objectStoreMemory),
      object_store_memory: total ? this.#store.capacity : this.#store.capacity - this.#store.bytesUsed,
      [`node:${this.#control.address}`]: 1,
    };
  }

  nodes(): NodeInfo[] {
    return this.#control.liveNodes();
  }

  // ---- observation (see events.ts) ----

  /** Sends lifecycle events to `sink` from now on; returns a function that stops it. */
  observe(sink: EventSink): () => void {
    const remove = this.#sinks.add(sink);
    // One sink (the usual case) is called directly, without the bus's loop.
    const route = (): void => {
      const events = (this.#parts.events = this.#sinks.size === 0 ? undefined : this.#sinks.size === 1 ? this.#sinks.only() : this.#sinks);
      const calls = (this.#parts.taskEvents = taskEventCalls(events));
      this.#store.onFreed = calls === undefined ? undefined : (id, bytes) => calls.objectFreed(id, bytes);
    };
    route();
    return () => {
      remove();
      route();
    };
  }

  /** Live facts for the state API, read on demand. */
  readonly probe: RuntimeProbe = {
    liveTasks: () => this.#tasks.live.values(),
    runningTasks: () => {
      const running = new Map<WorkerName, number>();
      for (const [peer, owner] of this.#owners) if (!peer.dead) running.set(workerName(peer, owner), this.#running[peer.index] ?? 0);
      return running;
    },
    objects: (limit?: number) => {
      const entries = largestObjects(this.#store.entries(), limit);
      // Who keeps them alive is looked up for the listed objects only (a snapshot lists a few of many).
      const listed = limit === undefined ? undefined : new Set(entries.map((entry) => entry.id));
      const pinnedBy = new Map<number, number[]>();
      for (const task of this.#tasks.live.values()) {
        for (const id of task.pins) if (listed === undefined || listed.has(id)) (pinnedBy.get(id) ?? pinnedBy.set(id, []).get(id))?.push(task.id);
      }
      const borrowedBy = this.#ownership.borrowers((owner) => workerName(owner.link, owner));
      // Built field by field: V8 makes `{ ...entry, more }` a slow object (about 20 µs each).
      return entries.map((entry): ObjectProbe => ({
        id: entry.id,
        bytes: entry.bytes,
        status: entry.status,
        refCount: entry.refCount,
        pinnedBy: pinnedBy.get(entry.id) ?? [],
        borrowedBy: borrowedBy.get(entry.id) ?? {},
      }));
    },
    slots: () => ({ used: this.#policy.usedSlots(), total: this.#options.numCpus }),
    store: () => ({ bytesUsed: this.#store.bytesUsed, capacity: this.#store.capacity, numObjects: this.#store.stats().numObjects }),
    node: () => ({ nodeId: this.#control.nodeId, address: this.#control.address }),
  };

  storeStats(): ObjectStoreStats {
    return this.#store.stats();
  }

  async shutdown(): Promise<void> {
    this.#loop.close();
    const observation = this.observation;
    this.observation = undefined;
    const error = errorToData(new RayError("the runtime was shut down"));
    for (const task of [...this.#tasks.live.values()]) this.#tasks.settle(task, { ok: false, error });
    this.#store.failPending(error);
    this.#store.close();
    this.#parts.memory?.close();
    state.codec.onActorExport = undefined;
    await Promise.all([this.#taskPool.close(), this.#actorPool.close(), observation?.close()]);
  }
}

registerLocalDriver((options) => new DriverRuntime(options));
