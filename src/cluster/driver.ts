/**
 * The cluster backend of a driver (`init({ address })`): the owner of the
 * tasks, actors and objects it creates. It places work on nodes with the
 * scheduling policy (placement.ts, driver-tasks.ts), sends it in batches
 * over each node's Redis stream (driver-outbox.ts), reads results from its
 * own result stream, and pulls large values from their holders
 * (driver-objects.ts). The numeric ids of the core's ObjectRef and actor
 * handles map to globally unique ids (`<driver>.<n>`) inside this backend.
 */
import { deserialize } from "node:v8";
import type { Redis } from "ioredis";
import type { Backend, WaitResult } from "../core/runtime/backend.js";
import { errorToData, GetTimeoutError, NodeDiedError, RayError, TaskCancelledError } from "../core/api/errors.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import type { ResolvedTaskOptions } from "../core/protocol/protocol.js";
import type { ClusterResources, NodeInfo, ObjectStoreStats } from "../core/runtime/runtime.js";
import { NO_SPILLS } from "../core/store/spill.js";
import { type ControlPlane, PREFIX } from "./control-plane.js";
import { ClusterState } from "../dashboard/cluster-state.js";
import { DriverActors } from "./driver-actors.js";
import { makeActorHandle } from "../core/api/actor-handle.js";
import { DriverObjects } from "./driver-objects.js";
import { DriverOutbox } from "./driver-outbox.js";
import { DriverTasks } from "./driver-tasks.js";
import { FaultInjector, FaultySender } from "./fault-injection.js";
import { faultSettings } from "./fault-settings.js";
import { Liveness } from "./liveness.js";
import { Lineage } from "./lineage.js";
import { NodeTable, type NodeEntry } from "./node-table.js";
import { holdsMarkers } from "./nested-refs.js";
import { RemoteGenerators } from "./remote-generators.js";
import { ObjectServer } from "./object-server.js";
import type { OwnershipTable } from "./objects.js";
import { Placement } from "./placement.js";
import type { FromNode, OwnerLine, ResultBatch } from "./wire.js";
import { readAfterDeleting } from "./result-reader.js";
import { DemandPublisher } from "./status-demand.js";

/** Where the calling code runs, as `getRuntimeContext()` reports it. */
export interface DriverContext {
  readonly nodeId: string;
  readonly nodeAddress: string;
  readonly workerId: string;
}

export class ClusterBackend implements Backend {
  readonly driverId: string;
  readonly #plane: ControlPlane;
  readonly #store: DriverObjects;
  readonly #objects: OwnershipTable;
  readonly #nodes: NodeTable;
  readonly #placement: Placement;
  readonly #outbox: DriverOutbox;
  readonly #tasks: DriverTasks;
  readonly #actors: DriverActors;
  #reader!: Redis;
  #server!: ObjectServer;
  #address = "127.0.0.1";
  #closed = false;
  #loop: Promise<void> | undefined;
  #waiting = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #state: ClusterState | undefined;
  /** Fault tolerance: this driver's heartbeat and watch, and the lineage of its task outputs. */
  #liveness: Liveness | undefined;
  readonly #lineage: Lineage;
  /** Streaming generators this driver submitted (see remote-generators.ts). */
  readonly #generators: RemoteGenerators;
  /** What this driver holds back, for `rayts status` (see status-demand.ts). */
  #demand: DemandPublisher | undefined;

  constructor(plane: ControlPlane, driverId: string, objectStoreMemory = Number.POSITIVE_INFINITY) {
    this.#plane = plane;
    this.driverId = driverId;
    this.#nodes = new NodeTable(plane, (node) => this.#nodeGone(node));
    this.#placement = new Placement(this.#nodes);
    const injector = FaultInjector.fromEnv();
    this.#outbox = new DriverOutbox(plane, injector === undefined ? undefined : new FaultySender(injector));
    this.#store = new DriverObjects(driverId, plane, this.#nodes, this.#outbox);
    this.#store.capacity = objectStoreMemory;
    this.#objects = this.#store.table;
    this.#generators = new RemoteGenerators({
      objects: this.#objects,
      firstRef: (object) => this.#store.firstRef(object),
      send: (nodeId, message) => this.#outbox.send(nodeId, message),
      revive: (value) => (holdsMarkers(value) ? this.#store.revive(value) : value),
      streamCall: (object, backpressure) => this.#actors.streamCall(object, backpressure),
    });
    this.#tasks = new DriverTasks({
      driverId,
      plane,
      objects: this.#store,
      placement: this.#placement,
      outbox: this.#outbox,
      generators: this.#generators,
      lineage: () => this.#lineage,
      actorWire: (handle) => this.#actors.wireOf(handle),
    });
    this.#lineage = new Lineage(this.#objects, (work) => this.#tasks.whenReady(work));
    this.#store.lineage = this.#lineage;
    this.#actors = new DriverActors({
      driverId,
      objects: this.#objects,
      names: this.#nodes.names,
      plane,
      fnKey: (fn) => this.#tasks.fnKey(fn),
      object: (ref) => this.#store.object(ref),
      firstRef: (object) => this.#store.firstRef(object),
      wires: (args, pins) => this.#tasks.wires(args, pins),
      place: (numCpus, options, locality) => this.#placement.choose(this.#placement.demand(numCpus, options, locality)),
      node: (nodeId) => this.#nodes.get(nodeId),
      refreshNodes: () => this.#nodes.refresh(),
      send: (nodeId, message) => this.#outbox.send(nodeId, message),
      start: (work) => this.#tasks.start(work),
    });
    this.#nodes.onActor = (event) => this.#actors.announced(event);
    this.#store.adoptActor = (wire) => makeActorHandle(this.#actors.adopt(wire), wire.name, wire.methods, wire.streaming);
  }

  get #results(): string {
    return `${PREFIX}results:${this.driverId}`;
  }

  async start(): Promise<void> {
    this.#address = this.#plane.redis.stream.localAddress ?? "127.0.0.1";
    const token = await this.#plane.token();
    this.#store.token = token;
    this.#server = new ObjectServer(token, (gid) => this.#store.payload(gid), (line) => process.stderr.write(`rayts driver: ${line}\n`));
    const port = await this.#server.listen(this.#address);
    await this.#plane.registerHolder(this.driverId, `${this.#address}:${port}`);
    await this.#nodes.start();
    if (this.#nodes.list().length === 0) throw new RayError(`no node has joined the cluster at ${this.#plane.address}; start one with \`rayts start\``);
    this.#placement.local = (this.#nodes.byAddress(this.#address) ?? this.#nodes.byAddress(this.#plane.host))?.nodeId;
    this.#liveness = new Liveness(this.#plane, { kind: "driver", id: this.driverId }, faultSettings(), {
      log: () => undefined,
      unreachable: (error) => this.#unreachable(error),
    });
    await this.#liveness.start();
    const demand = (this.#demand = new DemandPublisher(this.#plane.redis, this.driverId, () => this.#placement.pending()));
    this.#placement.onChange = () => {
      demand.changed();
    };
    this.#reader = await this.#plane.connection(`rayts-driver-${this.driverId}-results`);
    this.#loop = this.#readResults();
    this.#plane.unref();
    this.#server.unref();
  }

  /** Keeps the process alive while a `get` or `wait` is pending (connections alone do not). */
  #waitStarted(): void {
    if (this.#waiting++ === 0) this.#keepAlive = setInterval(() => undefined, 2 ** 30);
  }

  #waitEnded(): void {
    if (--this.#waiting === 0) clearInterval(this.#keepAlive);
  }

  /** The state API over every node (`ray.state`, `ray.timeline()`), made on first use. */
  state(): ClusterState {
    return (this.#state ??= new ClusterState(this.#plane.redis));
  }

  /** Where the driver runs. */
  context(): DriverContext {
    return { nodeId: this.#placement.local ?? this.driverId, nodeAddress: this.#address, workerId: this.driverId };
  }

  // ---- refs and tasks ----

  track(ref: ObjectRef<unknown>): void {
    this.#store.track(ref);
  }

  trackActorHandle(): void {
    // Actors live until killed or until their owner shuts down.
  }

  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    return this.#tasks.submit(fn, this.#store.arrowArgs(args), options);
  }

  // ---- results ----

  async #readResults(): Promise<void> {
    let last = "0-0";
    let read: string[] = [];
    while (!this.#closed) {
      let reply: unknown;
      try {
        reply = await readAfterDeleting(this.#reader, this.#results, last, read);
        read = [];
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
        if (this.#closed) return;
        process.stderr.write(`rayts driver: reading results failed: ${String(error)}\n`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply as [Buffer, [Buffer, Buffer[]][]][]) {
        for (const [entryId, fields] of entries) {
          last = entryId.toString();
          read.push(last);
          const batch = deserialize(fields[1] as Buffer) as ResultBatch;
          // What the tasks printed there, before the results that follow it.
          if (batch.lines !== undefined) printLines(batch.lines);
          if (batch.died !== undefined) this.#nodes.drop(batch.died.nodeId);
          // Results of a node declared dead are fenced off: its work was placed again.
          if (this.#lineage.dead.has(batch.node)) continue;
          for (const result of batch.results) this.#onResult(result);
        }
      }
    }
  }

  #onResult(result: FromNode): void {
    if (result.k === "item") { this.#generators.item(result); return; }
    const object = this.#objects.byGid(result.id);
    if (object === undefined) return;
    if (object.state !== undefined) {
      // A task cancelled after it left may still finish on its node: a large result is freed there.
      if (object.cancelled && result.k === "big") this.#outbox.send(result.holder, { k: "free", ids: [object.gid] });
      return;
    }
    if (object.node !== undefined && object.demand !== undefined) this.#placement.release(object.node as NodeEntry, object.demand);
    object.node = undefined;
    switch (result.k) {
      case "ok":
        this.#store.settleInline(object, result.v);
        return;
      case "big":
        this.#objects.settle(object, { ok: true, inline: false, size: result.size, holders: [result.holder] });
        return;
      case "err":
        // An argument lost with a dead node: rebuild it from its lineage and run the task again.
        if (result.e.code === "OBJECT_LOST" && this.#lineage.retryAfterLoss(object)) return;
        this.#objects.settle(object, { ok: false, error: result.e });
        return;
    }
  }

  #nodeGone(node: NodeEntry): void {
    this.#lineage.dead.add(node.nodeId);
    const error = errorToData(new NodeDiedError(`node ${node.nodeId} (${node.address}) died while running this task, and the task ran out of retries (maxRetries)`));
    for (const object of [...this.#objects.all()]) {
      if (object.node === node) {
        object.node = undefined;
        object.sent = false;
        // As Ray does for a dead node: place the task again while maxRetries lasts.
        if (object.retry !== undefined && object.retriesLeft > 0) {
          object.retriesLeft--;
          object.retry();
          continue;
        }
        this.#objects.settle(object, { ok: false, error });
      }
    }
    this.#actors.nodeGone(node.nodeId);
    for (const { go } of node.waiting.splice(0)) go();
    this.#placement.onChange();
    if (this.#placement.local === node.nodeId) this.#placement.local = undefined;
  }

  /** Redis stayed out of reach past the reconnect window: everything pending fails with that error. */
  #unreachable(error: RayError): void {
    process.stderr.write(`rayts driver: ${error.message}\n`);
    const data = errorToData(error);
    this.#tasks.gaveUp = data;
    for (const object of [...this.#objects.all()]) if (object.state === undefined) this.#objects.settle(object, { ok: false, error: data });
  }

  /** Fault-tolerance counters: nodes this driver declared dead, actor restarts, lineage re-runs. */
  faultStats(): {
    declared: readonly { nodeId: string; at: number; claimed: number }[];
    actorRestarts: number;
    reconstructions: number;
    deadNodes: number;
    lineage: { bytes: number; maxBytes: number; evictions: number };
  } {
    const lineage = { bytes: this.#lineage.bytes, maxBytes: this.#lineage.maxBytes, evictions: this.#lineage.evictions };
    return { declared: this.#liveness?.declared ?? [], actorRestarts: this.#actors.restarts, reconstructions: this.#lineage.reruns, deadNodes: this.#lineage.dead.size, lineage };
  }

  // ---- objects ----

  put(value: unknown): ObjectRef<unknown> {
    return this.#store.firstRef(this.#store.putObject(value));
  }

  async get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    const objects = refs.map((ref) => this.#store.object(ref));
    this.#waitStarted();
    try {
      const count = await this.#objects.whenSettled(objects, objects.length, timeout);
      if (count < objects.length) {
        throw new GetTimeoutError(`get() timed out after ${timeout} ms with ${objects.length - count} of ${objects.length} objects not ready`);
      }
      const values = objects.map((object) => this.#store.value(object));
      return values.some((value) => value instanceof Promise) ? await Promise.all(values) : values;
    } finally {
      this.#waitEnded();
    }
  }

  async wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    const objects = refs.map((ref) => this.#store.object(ref));
    this.#waitStarted();
    try {
      await this.#objects.whenSettled(objects, numReturns, timeout);
    } finally {
      this.#waitEnded();
    }
    const result: WaitResult<unknown> = [[], []];
    let ready = 0;
    refs.forEach((ref, index) => {
      const isReady = ready < numReturns && objects[index]?.state !== undefined;
      if (isReady) ready++;
      result[isReady ? 0 : 1].push(ref);
    });
    return result;
  }

  cancel(ref: ObjectRef<unknown>, force: boolean): void {
    const object = this.#objects.byNum(ref.num);
    if (object === undefined || object.state !== undefined) return;
    if (object.sent && object.node !== undefined) {
      // Settled here at once, as a local cancel is: the node stops it (force) or drops its result.
      this.#outbox.send(object.node.nodeId, { k: "cancel", id: object.gid, force });
      if (object.demand !== undefined) this.#placement.release(object.node as NodeEntry, object.demand);
      object.node = undefined;
      object.cancelled = true;
    }
    this.#objects.settle(object, { ok: false, error: errorToData(new TaskCancelledError(`task ${object.gid} was cancelled`)) });
  }

  // ---- streaming generators (see remote-generators.ts) ----

  openStream(task: number, backpressure: number): void {
    this.#generators.open(task, backpressure);
  }

  nextItem(task: number): Promise<ObjectRef<unknown> | undefined> {
    return this.#generators.next(task);
  }

  closeStream(task: number): void {
    this.#generators.close(task);
  }

  // ---- actors (see driver-actors.ts) ----

  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    return this.#actors.create(cls, this.#store.arrowArgs(args), options, methods);
  }

  submitCall(actorNum: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    return this.#actors.call(actorNum, method, this.#store.arrowArgs(args));
  }

  getActor(name: string, namespace?: string): { id: number; name: string; methods: readonly string[]; streaming: readonly string[] } | undefined {
    return this.#actors.getActor(name, namespace);
  }

  kill(actorNum: number): void {
    this.#actors.kill(actorNum);
  }

  // ---- cluster state ----

  resources(total: boolean): ClusterResources {
    const sum: Record<string, number> = { CPU: 0, memory: 0, object_store_memory: 0 };
    for (const node of this.#nodes.list()) {
      for (const [name, amount] of Object.entries(node.resources)) sum[name] = (sum[name] ?? 0) + amount;
      if (!total) {
        // Tasks only: an actor holds no CPU between its calls (as in local mode and in Ray).
        const busy = Math.max(node.live.load.busyCpus, Math.min(node.taskCpus, node.resources["CPU"] ?? 0));
        sum["CPU"] = (sum["CPU"] ?? 0) - busy;
        for (const [name, amount] of Object.entries(node.used)) sum[name] = (sum[name] ?? 0) - amount;
      }
    }
    return sum as unknown as ClusterResources;
  }

  nodes(): NodeInfo[] {
    return this.#nodes.list().map((node) => ({
      nodeId: node.nodeId,
      address: node.address,
      alive: true,
      resources: { ...node.resources } as unknown as ClusterResources,
    }));
  }

  storeStats(): ObjectStoreStats {
    return { numObjects: this.#objects.size, bytesUsed: this.#store.heldBytes, capacity: this.#store.capacity, putCount: this.#objects.puts, freedCount: this.#objects.freed, numSpilled: 0, ...NO_SPILLS };
  }

  /** Kills the actors this driver owns, leaves the cluster and closes every connection. */
  async shutdown(): Promise<void> {
    this.#waitStarted(); // the connections are unref'd: hold the process until they are closed
    try {
      await this.#close();
    } finally {
      this.#waitEnded();
    }
  }

  async #close(): Promise<void> {
    this.#actors.killOwned();
    const error = errorToData(new RayError("the driver was shut down"));
    for (const object of [...this.#objects.all()]) if (object.state === undefined) this.#objects.settle(object, { ok: false, error });
    this.#store.releaseAll();
    this.#outbox.flush();
    this.#closed = true;
    this.#outbox.closed = true;
    await this.#demand?.close();
    await this.#liveness?.stop();
    await this.#nodes.stop();
    this.#reader.disconnect();
    await this.#loop?.catch(() => undefined);
    try {
      await this.#plane.redis.multi().del(this.#results).hdel(`${PREFIX}holders`, this.driverId).exec();
    } catch {
      // Redis already gone: nothing to clean.
    }
    await this.#server.close();
    await this.#plane.close();
  }
}

/** Writes lines tasks printed on a node to this process's stdout and stderr (each to the stream it was printed to). */
function printLines(lines: readonly OwnerLine[]): void {
  let out = "";
  let err = "";
  for (const line of lines) {
    if (line.s === "out") out += `${line.t}\n`;
    else err += `${line.t}\n`;
  }
  if (out !== "") process.stdout.write(out);
  if (err !== "") process.stderr.write(err);
}
