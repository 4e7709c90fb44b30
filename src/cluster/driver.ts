/**
 * The cluster backend of a driver (`init({ address })`): the owner of the
 * tasks, actors and objects it creates. It places work on nodes with the
 * scheduling policy, sends it in batches over each node's Redis stream,
 * reads results from its own result stream, and pulls large values from
 * their holders. The numeric ids of the core's ObjectRef and actor handles
 * map to globally unique ids (`<driver>.<n>`) inside this backend.
 */
import { randomBytes } from "node:crypto";
import { serialize, deserialize } from "node:v8";
import type { Redis } from "ioredis";
import type { Backend, WaitResult } from "../core/runtime/backend.js";
import { errorFromData, errorToData, GetTimeoutError, NodeDiedError, ObjectLostError, RayError, TaskCancelledError } from "../core/api/errors.js";
import { nextId, state } from "../core/runtime/global-state.js";
import { isObjectRef, ObjectRef } from "../core/api/object-ref.js";
import type { ResolvedActorOptions, ResolvedInitOptions } from "../core/api/options.js";
import type { ResolvedTaskOptions } from "../core/protocol/protocol.js";
import type { ClusterResources, NodeInfo, ObjectStoreStats } from "../core/runtime/runtime.js";
import { NO_SPILLS } from "../core/store/spill.js";
import { ControlPlane, PREFIX } from "./control-plane.js";
import { ClusterState } from "../dashboard/cluster-state.js";
import { DriverActors, type Work } from "./driver-actors.js";
import { FaultInjector, FaultySender } from "./fault-injection.js";
import { faultSettings } from "./fault-settings.js";
import { encodeFunction, moduleCode, publishable } from "./functions.js";
import { Liveness } from "./liveness.js";
import { Lineage, taskSpecBytes } from "./lineage.js";
import { NodeTable, type NodeEntry } from "./node-table.js";
import { pullFromHolders } from "./holders.js";
import { holdsMarkers, holdsRefs, markRefs, refsIn } from "./nested-refs.js";
import { RemoteGenerators } from "./remote-generators.js";
import { reviveReturnedRefs } from "./returned-refs.js";
import { ObjectServer } from "./object-server.js";
import { OwnershipTable, type OwnedObject } from "./objects.js";
import { available, DefaultPolicy, type Demand } from "./scheduling.js";
import { Session } from "./session.js";
import { INLINE_LIMIT, inlineSize, toPayload, unshare, type ArgWire, type FromNode, type ResultBatch, type ToNode } from "./wire.js";
import { readAfterDeleting } from "./result-reader.js";

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});
/** Tasks without large arguments share this empty locality map. */
const NO_LOCALITY: ReadonlyMap<string, number> = new Map();

/** Messages per stream entry. */
const BATCH = 2000;

/** Where the calling code runs, as `getRuntimeContext()` reports it. */
export interface DriverContext {
  readonly nodeId: string;
  readonly nodeAddress: string;
  readonly workerId: string;
}

/** Connects a driver to the cluster named by `options.address`. */
export async function connectCluster(options: ResolvedInitOptions): Promise<ClusterBackend> {
  let address = options.address as string;
  let password = options.redisPassword;
  if (address === "auto") {
    const info = Session.latest()?.info();
    if (info === undefined) throw new RayError('init({ address: "auto" }) found no cluster started on this machine; run `rayts start --head` first');
    address = info.address;
    password ??= info.redisPassword;
  }
  if (password === undefined) {
    throw new TypeError(`Expected \`redisPassword\` with \`address\` "${address}": the cluster's Redis always has a password (printed by \`rayts start --head\`)`);
  }
  const driverId = `d${randomBytes(5).toString("hex")}`;
  const plane = await ControlPlane.connect(address, password, `rayts-driver-${driverId}`);
  try {
    const backend = new ClusterBackend(plane, driverId);
    await backend.start();
    return backend;
  } catch (error) {
    await plane.close();
    throw error;
  }
}

export class ClusterBackend implements Backend {
  readonly driverId: string;
  readonly #plane: ControlPlane;
  readonly #objects: OwnershipTable;
  readonly #nodes: NodeTable;
  readonly #policy = new DefaultPolicy();
  readonly #registry = new FinalizationRegistry<number>((num) => {
    const object = this.#objects.byNum(num);
    if (object !== undefined) this.#objects.addRef(object, -1);
  });
  readonly #actors: DriverActors;
  readonly #published = new Map<number, string>();
  readonly #codeSent = new Set<string>();
  #outbox = new Map<string, ToNode[]>();
  #dropLocations: string[] = [];
  #flushScheduled = false;
  #reader!: Redis;
  #server!: ObjectServer;
  #token = "";
  #address = "127.0.0.1";
  #local: string | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #waiting = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #state: ClusterState | undefined;
  /** Fault tolerance: this driver's heartbeat and watch, and the lineage of its task outputs. */
  #liveness: Liveness | undefined;
  readonly #lineage: Lineage;
  readonly #sender: FaultySender | undefined;
  /** Redis stayed out of reach past the reconnect window: every later submission fails with this. */
  #gaveUp: ReturnType<typeof errorToData> | undefined;
  /** Streaming generators this driver submitted (see remote-generators.ts). */
  readonly #generators: RemoteGenerators;

  constructor(plane: ControlPlane, driverId: string) {
    this.#plane = plane;
    this.driverId = driverId;
    this.#objects = new OwnershipTable(`${driverId}.`, (object) => this.#freed(object));
    this.#nodes = new NodeTable(plane, (node) => this.#nodeGone(node));
    this.#actors = new DriverActors({
      driverId,
      objects: this.#objects,
      names: this.#nodes.names,
      plane,
      fnKey: (fn) => this.#fnKey(fn),
      object: (ref) => this.#object(ref),
      firstRef: (object) => this.#firstRef(object),
      wires: (args, pins) => this.#wires(args, pins),
      place: (numCpus, options, locality) => this.#choose(this.#demand(numCpus, options, locality)),
      node: (nodeId) => this.#nodes.get(nodeId),
      send: (nodeId, message) => this.#send(nodeId, message),
      start: (work) => this.#start(work),
    });
    this.#nodes.onActor = (event) => this.#actors.announced(event);
    this.#lineage = new Lineage(this.#objects, (work) => this.#whenReady(work));
    const injector = FaultInjector.fromEnv();
    this.#sender = injector === undefined ? undefined : new FaultySender(injector);
    this.#generators = new RemoteGenerators({
      objects: this.#objects,
      firstRef: (object) => this.#firstRef(object),
      send: (nodeId, message) => this.#send(nodeId, message),
      revive: (value) => (holdsMarkers(value) ? this.#revive(value) : value),
    });
  }

  get #results(): string {
    return `${PREFIX}results:${this.driverId}`;
  }

  async start(): Promise<void> {
    this.#address = this.#plane.redis.stream.localAddress ?? "127.0.0.1";
    this.#token = await this.#plane.token();
    this.#server = new ObjectServer(this.#token, (gid) => this.#payload(gid), (line) => process.stderr.write(`rayts driver: ${line}\n`));
    const port = await this.#server.listen(this.#address);
    await this.#plane.registerHolder(this.driverId, `${this.#address}:${port}`);
    await this.#nodes.start();
    if (this.#nodes.list().length === 0) throw new RayError(`no node has joined the cluster at ${this.#plane.address}; start one with \`rayts start\``);
    this.#local = (this.#nodes.byAddress(this.#address) ?? this.#nodes.byAddress(this.#plane.host))?.nodeId;
    this.#liveness = new Liveness(this.#plane, { kind: "driver", id: this.driverId }, faultSettings(), {
      log: () => undefined,
      unreachable: (error) => this.#unreachable(error),
    });
    await this.#liveness.start();
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
    return { nodeId: this.#local ?? this.driverId, nodeAddress: this.#address, workerId: this.driverId };
  }

  // ---- refs ----

  #firstRef(object: OwnedObject): ObjectRef<unknown> {
    const ref = new ObjectRef(object.num);
    this.#registry.register(ref, object.num);
    return ref;
  }

  track(ref: ObjectRef<unknown>): void {
    const object = this.#objects.byNum(ref.num);
    if (object === undefined) return;
    this.#objects.addRef(object, 1);
    this.#registry.register(ref, ref.num);
  }

  trackActorHandle(): void {
    // Actors live until killed or until their owner shuts down.
  }

  #object(ref: ObjectRef<unknown>): OwnedObject {
    const object = this.#objects.byNum(ref.num);
    if (object === undefined) throw new RayError(`${String(ref)} is not known to this driver (it was freed, or made by another runtime)`);
    return object;
  }

  // ---- placing work ----

  #fnKey(fn: number): string {
    let key = this.#published.get(fn);
    if (key !== undefined) return key;
    const def = state.functions.get(fn);
    if (def === undefined) throw new RayError(`remote function ${fn} is not defined in the driver`);
    const published = publishable(
      def,
      (id) => {
        const object = this.#objects.byNum(id);
        if (object === undefined) throw new RayError(`a capture of ${def.name} (object ${id}) is not known to this driver`);
        this.#objects.pin(object); // definitions live as long as the driver
        return this.#wires([new ObjectRef(id)], []).wires[0] as ArgWire;
      },
      (url, name) => {
        const code = moduleCode(url, name);
        if (!this.#codeSent.has(code.hash)) {
          this.#codeSent.add(code.hash);
          void this.#plane.publishCode(code.hash, code.text);
        }
        return code;
      },
    );
    const encoded = encodeFunction(published);
    key = encoded.key;
    // Same connection as the task streams: published before any task naming it is read.
    void this.#plane.publishFunction(key, encoded.bytes);
    this.#published.set(fn, key);
    return key;
  }

  /** Argument wires: inline values, or refs to large objects (auto-put when passed by value). */
  #wires(args: readonly unknown[], pins: OwnedObject[]): { wires: ArgWire[]; locality: ReadonlyMap<string, number> } {
    let locality: Map<string, number> | undefined;
    const wires = args.map((arg): ArgWire => {
      let object: OwnedObject;
      if (isObjectRef(arg)) object = this.#object(arg);
      else if (holdsRefs(arg)) return { i: unshare(markRefs(arg, (ref) => this.#wires([ref], pins).wires[0] as ArgWire)) };
      else if (inlineSize(arg) <= INLINE_LIMIT) return { i: unshare(arg) };
      else {
        object = this.#putObject(arg);
        this.#objects.addRef(object, -1);
        this.#objects.pin(object);
        pins.push(object);
      }
      const settled = object.state;
      if (settled === undefined || !settled.ok) throw new RayError(`argument ${object.gid} is not ready`);
      if (settled.inline) return { i: settled.value };
      locality ??= new Map();
      for (const holder of settled.holders) locality.set(holder, (locality.get(holder) ?? 0) + settled.size);
      return { r: object.gid, size: settled.size, holders: settled.holders };
    });
    return { wires, locality: locality ?? NO_LOCALITY };
  }

  /** Runs `work` once every dependency has settled (in order for an actor's queue). */
  #whenReady(work: Work): void {
    const pending = work.deps.filter((dep) => dep.state === undefined);
    if (pending.length === 0) {
      this.#start(work);
      return;
    }
    void this.#objects.whenSettled(pending, pending.length, undefined).then(() => this.#start(work));
  }

  #start(work: Work): void {
    if (this.#gaveUp !== undefined) { work.fail(this.#gaveUp); return; }
    const failed = work.deps.find((dep) => dep.state?.ok === false);
    if (failed !== undefined && failed.state?.ok === false) {
      work.fail(failed.state.error);
      return;
    }
    try {
      work.send();
    } catch (error) {
      work.fail(errorToData(error));
    }
  }

  #demand(numCpus: number, options: { scheduling?: Demand["scheduling"]; resources?: Readonly<Record<string, number>> }, locality: ReadonlyMap<string, number>): Demand {
    return { numCpus, resources: options.resources ?? NO_RESOURCES, scheduling: options.scheduling ?? "DEFAULT", locality };
  }

  #choose(demand: Demand): NodeEntry {
    const choice = this.#policy.choose(this.#nodes.list(), demand, this.#local);
    if ("error" in choice) throw new RayError(`cannot place the task: ${choice.error}`);
    return choice.node as NodeEntry;
  }

  #hold(node: NodeEntry, demand: Demand): void {
    node.inFlight += demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) + amount;
  }

  #release(node: NodeEntry, demand: Demand): void {
    node.inFlight -= demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) - amount;
    while (node.waiting.length > 0 && (node.waiting[0] as () => boolean)()) node.waiting.shift();
  }

  #send(nodeId: string, message: ToNode): void {
    let list = this.#outbox.get(nodeId);
    if (list === undefined) this.#outbox.set(nodeId, (list = []));
    list.push(message);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    const outbox = this.#outbox;
    const dropLocations = this.#dropLocations;
    this.#outbox = new Map();
    this.#dropLocations = [];
    const write = (): Promise<unknown> => {
      const pipeline = this.#plane.redis.pipeline();
      for (const [nodeId, messages] of outbox) {
        for (let start = 0; start < messages.length; start += BATCH) {
          pipeline.xadd(`${PREFIX}tasks:${nodeId}`, "*", "m", serialize(messages.slice(start, start + BATCH)));
        }
      }
      if (dropLocations.length > 0) pipeline.del(...dropLocations.map((gid) => `${PREFIX}loc:${gid}`));
      return pipeline.exec();
    };
    const failed = (error: unknown): void => void process.stderr.write(`rayts driver: sending work failed: ${String(error)}\n`);
    // Fault injection: batches go one after another, a dropped one again after a backoff.
    if (this.#sender !== undefined) this.#sender.send("a task batch", write, failed);
    else void write().catch(failed);
  }

  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    const key = this.#fnKey(fn);
    const object = this.#objects.create(nextId());
    const streaming = options.numReturns === "streaming";
    if (streaming) this.#generators.submitted(object, options.generatorBackpressureNumObjects);
    const deps = refsIn(args).map((ref) => this.#object(ref));
    for (const dep of deps) this.#objects.pin(dep);
    object.deps = deps;
    const work: Work = {
      deps,
      fail: (error) => this.#objects.settle(object, { ok: false, error }),
      send: () => {
        if (object.state !== undefined) return; // cancelled while waiting
        const { wires, locality } = this.#wires(args, object.deps);
        const demand = this.#demand(options.numCpus, options, locality);
        const node = this.#choose(demand);
        const go = (): boolean => {
          if (object.state !== undefined) return true;
          if (this.#lineage.dead.has(node.nodeId)) {
            // The node died while the task waited for its resources there: place it again.
            this.#start(work);
            return true;
          }
          if (!available(node, demand)) return false;
          this.#hold(node, demand);
          object.node = node;
          object.demand = demand;
          object.sent = true;
          this.#send(node.nodeId, {
            k: "task",
            id: object.gid,
            owner: this.driverId,
            fn: key,
            name: options.name,
            args: wires,
            numCpus: options.numCpus,
            maxRetries: options.maxRetries,
            retryExceptions: options.retryExceptions,
            ...(streaming ? { stream: this.#generators.wire(object) } : {}),
          });
          return true;
        };
        if (!go()) node.waiting.push(go);
      },
    };
    object.retry = () => this.#start(work);
    object.retriesLeft = options.maxRetries;
    this.#lineage.record(object, work, () => taskSpecBytes(key, options.name, args));
    this.#whenReady(work);
    return this.#firstRef(object);
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
    if (object === undefined || object.state !== undefined) return;
    if (object.node !== undefined && object.demand !== undefined) this.#release(object.node as NodeEntry, object.demand);
    object.node = undefined;
    if (object.cancelled && !(result.k === "err" && result.e.code === "TASK_CANCELLED")) {
      if (result.k === "big") this.#send(result.holder, { k: "free", ids: [object.gid] });
      this.#objects.settle(object, { ok: false, error: errorToData(new TaskCancelledError(`task ${object.gid} was cancelled`)) });
      return;
    }
    switch (result.k) {
      case "ok":
        this.#objects.settle(object, { ok: true, inline: true, value: holdsMarkers(result.v) ? this.#revive(result.v) : result.v });
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
    for (const go of node.waiting.splice(0)) go();
    if (this.#local === node.nodeId) this.#local = undefined;
  }

  /** Redis stayed out of reach past the reconnect window: everything pending fails with that error. */
  #unreachable(error: RayError): void {
    process.stderr.write(`rayts driver: ${error.message}\n`);
    const data = errorToData(error);
    this.#gaveUp = data;
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

  #putObject(value: unknown): OwnedObject {
    const object = this.#objects.create(nextId());
    this.#objects.puts++;
    if (inlineSize(value) <= INLINE_LIMIT) {
      this.#objects.settle(object, { ok: true, inline: true, value: unshare(value) });
    } else {
      object.local = value;
      const size = toPayload(value).bytes.byteLength;
      this.#objects.settle(object, { ok: true, inline: false, size, holders: [this.driverId] });
      void this.#plane.addLocation(object.gid, this.driverId);
    }
    return object;
  }

  put(value: unknown): ObjectRef<unknown> {
    return this.#firstRef(this.#putObject(value));
  }

  #payload(gid: string): ReturnType<typeof toPayload> | undefined {
    const object = this.#objects.byGid(gid);
    return object?.local === undefined ? undefined : toPayload(object.local);
  }

  /** An object's value: inline, held here, or pulled once from a holder. */
  #value(object: OwnedObject): unknown {
    const settled = object.state;
    if (settled === undefined) throw new RayError(`object ${object.gid} is not ready`);
    if (!settled.ok) throw errorFromData(settled.error);
    if (settled.inline) return settled.value;
    if (object.local !== undefined) return object.local;
    object.pulled ??= this.#pull(object.gid, settled.holders).catch(async (error: unknown) => {
      if (!(error instanceof ObjectLostError)) throw error;
      // Every copy died with its nodes: rebuild it from its lineage (or fail with ObjectLostError).
      object.pulled = undefined;
      await this.#lineage.recover(object);
      return this.#value(object);
    });
    return object.pulled;
  }

  /** Refs nested in a returned value (see returned-refs.ts) become objects this driver owns. */
  #revive(value: unknown): unknown {
    return reviveReturnedRefs(value, (wire) => {
      if ("i" in wire) return this.#firstRef(this.#putObject(wire.i));
      const object = this.#objects.create(nextId(), wire.r);
      this.#objects.settle(object, { ok: true, inline: false, size: wire.size, holders: [...wire.holders] });
      return this.#firstRef(object);
    });
  }

  async #pull(gid: string, holders: readonly string[]): Promise<unknown> {
    const lost = (): ObjectLostError => new ObjectLostError(`object ${gid} was lost: every copy was on a node that died (holders ${holders.join(", ") || "none"})`);
    try {
      const { value } = await pullFromHolders(this.#plane.redis, gid, holders, this.#token, this.driverId, lost);
      return holdsMarkers(value) ? this.#revive(value) : value;
    } catch (error) {
      if (error instanceof ObjectLostError) throw error;
      // Every holder refused the connection: when they are nodes about to be declared dead, the object is lost.
      const all = [...new Set([...holders, ...(await this.#plane.locations(gid))])];
      const nodes = all.filter((holder) => holder !== this.driverId);
      const doubtful = nodes.length > 0 && nodes.every((id) => this.#lineage.dead.has(id) || this.#nodes.get(id) === undefined || this.#nodes.isSuspect(id));
      if (doubtful && (await this.#lineage.awaitDeath(nodes, faultSettings()))) {
        throw new ObjectLostError(`object ${gid} was lost: every copy was on a node that died (holders ${all.join(", ")})`);
      }
      throw error;
    }
  }

  #freed(object: OwnedObject): void {
    this.#lineage.release(object);
    const settled = object.state;
    object.local = undefined;
    object.pulled = undefined;
    if (settled?.ok !== true || settled.inline) return;
    for (const holder of settled.holders) if (holder !== this.driverId && !this.#lineage.dead.has(holder)) this.#send(holder, { k: "free", ids: [object.gid] });
    this.#dropLocations.push(object.gid);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  async get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    const objects = refs.map((ref) => this.#object(ref));
    this.#waitStarted();
    try {
      const count = await this.#objects.whenSettled(objects, objects.length, timeout);
      if (count < objects.length) {
        throw new GetTimeoutError(`get() timed out after ${timeout} ms with ${objects.length - count} of ${objects.length} objects not ready`);
      }
      const values = objects.map((object) => this.#value(object));
      return values.some((value) => value instanceof Promise) ? await Promise.all(values) : values;
    } finally {
      this.#waitEnded();
    }
  }

  async wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    const objects = refs.map((ref) => this.#object(ref));
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
      // The cancel may reach the node before the task does; the result is then dropped here.
      object.cancelled = true;
      this.#send(object.node.nodeId, { k: "cancel", id: object.gid, force });
      return;
    }
    this.#objects.settle(object, { ok: false, error: errorToData(new TaskCancelledError(`task ${object.gid} was cancelled`)) });
  }

  // ---- streaming generators (see remote-generators.ts) ----

  openStream(task: number): void {
    this.#generators.open(task);
  }

  nextItem(task: number): Promise<ObjectRef<unknown> | undefined> {
    return this.#generators.next(task);
  }

  closeStream(task: number): void {
    this.#generators.close(task);
  }

  // ---- actors (see driver-actors.ts) ----

  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    return this.#actors.create(cls, args, options, methods);
  }

  submitCall(actorNum: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    return this.#actors.call(actorNum, method, args);
  }

  getActor(name: string, namespace?: string): { id: number; name: string; methods: readonly string[] } | undefined {
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
        const busy = Math.max(node.live.load.busyCpus, Math.min(node.inFlight, node.resources["CPU"] ?? 0));
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
    return { numObjects: this.#objects.size, bytesUsed: this.#objects.bytesHeld(), capacity: 0, putCount: this.#objects.puts, freedCount: this.#objects.freed, numSpilled: 0, ...NO_SPILLS };
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
    this.#flush();
    this.#closed = true;
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
