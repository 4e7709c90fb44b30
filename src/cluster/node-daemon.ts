/**
 * The node daemon: one per machine (`rayts start`). It registers the node,
 * heartbeats, reads its task stream as a consumer group member, runs what
 * arrives on its own local rayts runtime (worker threads and object store),
 * and writes results to each owner's result stream. Large results stay here
 * and are served to other nodes by the object server.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import type { Redis } from "ioredis";
import * as api from "../core/api/api.js";
import "../core/runtime/runtime.js";
import { ActorClass } from "../core/api/actor.js";
import { ActorDiedError, errorToData, ObjectLostError, OwnerDiedError, RayError, TaskCancelledError, type ErrorData } from "../core/api/errors.js";
import { state } from "../core/runtime/global-state.js";
import { isObjectRef, type ObjectRef } from "../core/api/object-ref.js";
import { NO_BACKPRESSURE, ObjectRefGenerator } from "../core/api/object-ref-generator.js";
import { defineFunction } from "../core/api/remote-function.js";
import { ControlPlane, PREFIX, type NodeLoad, type NodeRecord } from "./control-plane.js";
import type { PublishedFunction } from "./functions.js";
import { pullFromHolders } from "./holders.js";
import { unnameActors } from "./actor-registry.js";
import { holdsMarkers, holdsRefs, reviveRefs } from "./nested-refs.js";
import { NestedSpill } from "./nested-submit.js";
import { NodeGenerators } from "./node-generators.js";
import { markReturnedRefs } from "./returned-refs.js";
import { ObjectServer } from "./object-server.js";
import { observeNode, type NodeObservation } from "./node-observation.js";
import type { HeadDashboardOptions } from "../dashboard/head-dashboard.js";
import { FaultInjector, FaultySender } from "./fault-injection.js";
import { faultSettings } from "./fault-settings.js";
import { Liveness } from "./liveness.js";
import { OwnerWatch, type OwnerWork } from "./owner-watch.js";
import { INLINE_LIMIT, inlineSize, toPayload, unshare, type ArgWire, type FromNode, type Payload, type ToNode } from "./wire.js";

/** Options of a node daemon. */
export interface NodeOptions {
  /** "HOST:PORT" of the cluster's Redis. */
  readonly redisAddress: string;
  readonly redisPassword: string;
  /** Address this node binds its object server to and reports. */
  readonly nodeIpAddress: string;
  readonly numCpus: number;
  /** Custom resources, e.g. `{ GPU: 1 }`. */
  readonly resources: Readonly<Record<string, number>>;
  readonly objectStoreMemory: number | undefined;
  readonly head: boolean;
  readonly logDir: string;
  /** The head serves the cluster's dashboard here (none when undefined). */
  readonly dashboard?: HeadDashboardOptions;
}

/** Longest wait of a result for others to go with it while other tasks run on this node. */
const RESULT_LINGER_MS = 2;
/** The same while tasks wait for a free CPU here (throughput matters more than each result's latency then). */
const QUEUED_LINGER_MS = 10;

/** Entries read per XREADGROUP call (each entry is a batch of up to 2000 messages). */
const READ_COUNT = 512;

/** What a node daemon tells the process that runs it. */
export interface NodeEvents {
  /** The cluster declared this node dead: it stopped taking work and must rejoin as a new node. */
  refused?(): void;
  /** Redis stayed out of reach past the reconnect window. */
  unreachable?(error: Error): void;
}

interface Held {
  readonly ref: ObjectRef<unknown>;
  payload: Payload | undefined;
}

/** Environment variables through which tasks on a node learn where they run (see runtime-context.ts). */
export const NODE_ID_ENV = "RAYTS_NODE_ID";
export const NODE_ADDRESS_ENV = "RAYTS_NODE_ADDRESS";

const MISSING_PACKAGE = /Cannot find (?:package|module) '([^']+)'/;

/** A method of an actor handle on this node. */
interface ActorMethodStub {
  remote(...args: unknown[]): unknown;
  options(options: { generatorBackpressureNumObjects: number }): ActorMethodStub;
}

export class NodeDaemon {
  readonly nodeId: string;
  readonly #options: NodeOptions;
  readonly #log: (line: string) => void;
  #plane!: ControlPlane;
  #reader!: Redis;
  #server!: ObjectServer;
  #token = "";
  readonly #functions = new Map<string, Promise<number>>();
  /** Functions defined already, for the synchronous path of a task. */
  readonly #defined = new Map<string, number>();
  readonly #captures: ObjectRef<unknown>[] = [];
  readonly #held = new Map<string, Held>();
  readonly #pulls = new Map<string, Promise<ObjectRef<unknown>>>();
  readonly #running = new Map<string, ObjectRef<unknown>>();
  /** Tasks received and not submitted yet (their function or arguments on the way), and those of them cancelled meanwhile. */
  readonly #arriving = new Set<string>();
  readonly #cancelledEarly = new Set<string>();
  readonly #actors = new Map<string, Record<string, ActorMethodStub>>();
  readonly #actorChains = new Map<string, Promise<void>>();
  #busyCpus = 0;
  #outbox = new Map<string, FromNode[]>();
  #locations: string[] = [];
  #acks: { entry: string; pending: number }[] = [];
  #flushScheduled = false;
  #writing = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #observation: NodeObservation | undefined;
  #stopping: Promise<void> | undefined;
  #liveness: Liveness | undefined;
  #owners!: OwnerWatch;
  /** Nested tasks of this node's tasks that go to other nodes (see nested-submit.ts). */
  #spill: NestedSpill | undefined;
  /** Streaming generators run here for their owners (see node-generators.ts). */
  readonly #generators: NodeGenerators = new NodeGenerators({
    nodeId: () => this.nodeId,
    result: (owner, result) => this.#result(owner, result),
    hold: (owner, id, ref, payload) => this.#holdFor(owner, id, ref, payload),
    errorData: (error) => this.#errorData(error),
  });
  readonly #events: NodeEvents;
  readonly #sender: FaultySender | undefined;

  private constructor(options: NodeOptions, log: (line: string) => void, events: NodeEvents) {
    this.nodeId = randomBytes(8).toString("hex");
    this.#options = options;
    this.#log = log;
    this.#events = events;
    const injector = FaultInjector.fromEnv();
    this.#sender = injector === undefined ? undefined : new FaultySender(injector);
  }

  /** The cluster dashboard's address, when this head serves it. */
  get dashboardUrl(): string | undefined {
    return this.#observation?.dashboardUrl;
  }

  get #stream(): string {
    return `${PREFIX}tasks:${this.nodeId}`;
  }

  /** Starts a node and joins the cluster; resolves once it takes tasks. */
  static async start(options: NodeOptions, log: (line: string) => void, events: NodeEvents = {}): Promise<NodeDaemon> {
    const daemon = new NodeDaemon(options, log, events);
    await daemon.#start();
    return daemon;
  }

  async #start(): Promise<void> {
    const options = this.#options;
    this.#plane = await ControlPlane.connect(options.redisAddress, options.redisPassword, `rayts-node-${this.nodeId}`);
    this.#reader = await this.#plane.connection(`rayts-node-${this.nodeId}-reader`);
    process.env[NODE_ID_ENV] = this.nodeId;
    process.env[NODE_ADDRESS_ENV] = options.nodeIpAddress;
    await api.init({
      numCpus: options.numCpus,
      ...(options.objectStoreMemory === undefined ? {} : { objectStoreMemory: options.objectStoreMemory }),
      // The node publishes its state to the cluster (node-observation.ts) instead.
      includeDashboard: false,
      recordState: false,
    });
    this.#observation = await observeNode(this.#plane, this.nodeId, options.nodeIpAddress, options.dashboard, this.#log);
    this.#token = await this.#plane.token();
    this.#server = new ObjectServer(this.#token, (id) => this.#payload(id), this.#log);
    const objectPort = await this.#server.listen(options.nodeIpAddress);
    await this.#plane.registerHolder(this.nodeId, `${options.nodeIpAddress}:${objectPort}`);
    await this.#reader.call("XGROUP", "CREATE", this.#stream, "node", "$", "MKSTREAM");
    const totals = api.clusterResources();
    const record: NodeRecord = {
      nodeId: this.nodeId,
      address: options.nodeIpAddress,
      objectPort,
      resources: {
        CPU: options.numCpus,
        memory: totals.memory,
        object_store_memory: totals.object_store_memory,
        [`node:${options.nodeIpAddress}`]: 1,
        ...options.resources,
      },
      pid: process.pid,
      head: options.head,
      startedAt: Date.now(),
      logDir: options.logDir,
    };
    await this.#plane.registerNode(record, this.#load());
    this.#owners = new OwnerWatch(this.#plane, (owner, work) => this.#ownerDied(owner, work));
    this.#liveness = new Liveness(this.#plane, { kind: "node", id: this.nodeId, load: () => this.#load() }, faultSettings(), {
      log: this.#log,
      refused: () => {
        this.#stopped = true;
        this.#events.refused?.();
      },
      unreachable: (error) => {
        this.#log(error.message);
        this.#events.unreachable?.(error);
      },
      watch: () => this.#owners.check(),
    });
    await this.#liveness.start();
    const lend = (id: string, value: unknown): number => {
      const payload = toPayload(value);
      this.#holdFor(this.nodeId, id, api.put(value), payload);
      return payload.bytes.byteLength;
    };
    this.#spill = new NestedSpill(this.#plane, this.nodeId, options.numCpus, this.#token, this.#log, lend);
    await this.#spill.start();
    this.#loop = this.#consume();
    this.#log(`node ${this.nodeId} joined the cluster at ${options.redisAddress} as ${options.nodeIpAddress} (${hostname()}), ${options.numCpus} CPUs, object port ${objectPort}`);
  }

  #load(): NodeLoad {
    return { inFlight: this.#running.size, busyCpus: Math.min(this.#options.numCpus, this.#busyCpus), actors: this.#actors.size };
  }

  // ---- the task stream ----

  async #consume(): Promise<void> {
    while (!this.#stopped) {
      let reply: unknown;
      try {
        reply = await this.#reader.callBuffer("XREADGROUP", "GROUP", "node", "n", "COUNT", READ_COUNT, "BLOCK", 1000, "STREAMS", this.#stream, ">");
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await
        if (this.#stopped) return;
        this.#log(`reading the task stream failed: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply as [Buffer, [Buffer, Buffer[]][]][]) {
        for (const [entryId, fields] of entries) {
          const ack = { entry: entryId.toString(), pending: 1 };
          this.#acks.push(ack);
          const messages = deserialize(fields[1] as Buffer) as ToNode[];
          for (const message of messages) this.#handle(message, ack);
          ack.pending--;
        }
      }
      this.#scheduleFlush();
    }
  }

  #handle(message: ToNode, ack: { pending: number }): void {
    if ("owner" in message && this.#owners.dead.has(message.owner)) return; // its owner exited: nothing to run for
    switch (message.k) {
      case "task":
        ack.pending++;
        this.#busyCpus += message.numCpus;
        this.#owners.task(message.owner, message.id);
        this.#arriving.add(message.id);
        // #runTask reports every failure as the task's result: it does not reject.
        void this.#runTask(message).finally(() => {
          this.#busyCpus -= message.numCpus;
          this.#owners.taskDone(message.owner, message.id);
          this.#arriving.delete(message.id);
          this.#cancelledEarly.delete(message.id);
          this.#settled(ack);
        });
        return;
      case "actor": {
        ack.pending++;
        this.#owners.actor(message.owner, message.id, message.options.detached);
        // Calls to the actor queue behind its creation.
        const started = this.#startActor(message).finally(() => this.#settled(ack));
        this.#actorChains.set(message.id, started);
        return;
      }
      case "call": {
        ack.pending++;
        const chain = (this.#actorChains.get(message.actor) ?? Promise.resolve()).then(() => this.#call(message, ack));
        this.#actorChains.set(message.actor, chain);
        return;
      }
      case "kill": {
        const handle = this.#actors.get(message.actor);
        this.#actors.delete(message.actor);
        if (handle !== undefined) api.kill(handle as never);
        return;
      }
      case "ack":
        this.#generators.ack(message.id, message.consumed);
        return;
      case "stream":
        this.#generators.expect(message.id, message.backpressure);
        return;
      case "cancel": {
        if (this.#generators.close(message.id)) return;
        const ref = this.#running.get(message.id);
        if (ref !== undefined) api.cancel(ref, { force: message.force });
        else if (this.#arriving.has(message.id)) this.#cancelledEarly.add(message.id);
        return;
      }
      case "free":
        for (const id of message.ids) this.#held.delete(id);
        return;
    }
  }

  /** The owner exited: its tasks are cancelled, its non-detached actors killed, its objects dropped here. */
  #ownerDied(owner: string, work: OwnerWork): void {
    let cancelled = 0;
    const killed = new Set<string>();
    for (const id of work.tasks) {
      const ref = this.#running.get(id);
      if (ref === undefined) continue;
      api.cancel(ref, { force: true });
      cancelled++;
    }
    for (const [id, detached] of work.actors) {
      if (detached) continue;
      const handle = this.#actors.get(id);
      this.#actors.delete(id);
      this.#actorChains.delete(id);
      if (handle !== undefined) {
        api.kill(handle as never);
        killed.add(id);
      }
    }
    let dropped = 0;
    for (const id of [...this.#held.keys()]) {
      if (id.startsWith(`${owner}.`)) {
        this.#held.delete(id);
        dropped++;
      }
    }
    this.#outbox.delete(owner);
    // Names of the killed actors are released, so that no driver finds them any more.
    void unnameActors(this.#plane, killed).catch((error: unknown) => this.#log(`releasing the names of ${owner}'s actors failed: ${String(error)}`));
    this.#log(`owner ${owner} is gone: cancelled ${cancelled} task(s), killed ${killed.size} actor(s), dropped ${dropped} object(s)`);
  }

  /** One message of a stream entry is done; the entry is acknowledged once all are (after their results are written). */
  #settled(ack: { pending: number }): void {
    if (--ack.pending === 0) this.#scheduleFlush();
  }

  async #fn(key: string): Promise<number> {
    let defined = this.#functions.get(key);
    if (defined === undefined) {
      defined = this.#define(key);
      this.#functions.set(key, defined);
      defined.then((fn) => this.#defined.set(key, fn), () => undefined);
      defined.catch(() => this.#functions.delete(key));
    }
    return defined;
  }

  async #define(key: string): Promise<number> {
    const bytes = await this.#plane.fetchFunction(key);
    if (bytes === null) throw new RayError(`node ${this.nodeId} found no published function under key ${key}`);
    const published = deserialize(bytes) as PublishedFunction;
    if (published.kind === "source") return defineFunction({ kind: "source", name: published.name, source: published.source });
    const url = await this.#module(published.hash, published.name);
    const captures: Record<string, number> = {};
    for (const [name, wire] of Object.entries(published.captures)) {
      const values = await this.#args([wire]);
      const value = values[0];
      // A capture is an object id of this node's store; the ref (kept for good) holds it.
      const ref = isObjectRef(value) ? value : api.put(value);
      this.#captures.push(ref);
      captures[name] = ref.num;
    }
    return defineFunction({ kind: "module", name: published.name, url, exportName: published.exportName, captures });
  }

  /**
   * A compiled task module fetched by content hash and cached on disk, under
   * node_modules/.cache when the node runs in a project (so that the module's
   * package imports resolve against the node's own node_modules).
   */
  async #module(hash: string, name: string): Promise<string> {
    const projectCache = join(process.cwd(), "node_modules", ".cache", "rayts");
    const dir = existsSync(join(process.cwd(), "node_modules")) ? projectCache : join(tmpdir(), "rayts-code");
    const file = join(dir, `${hash}.mjs`);
    if (!existsSync(file)) {
      const text = await this.#plane.fetchCode(hash);
      if (text === null) throw new RayError(`node ${this.nodeId} found no published code for ${name} (sha-256 ${hash})`);
      mkdirSync(dir, { recursive: true });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, text);
      renameSync(partial, file);
    }
    return pathToFileURL(file).href;
  }

  /** Argument values: inline ones as they are, large ones as local refs (pulled first when not here). */
  #args(args: readonly ArgWire[]): unknown[] | Promise<unknown[]> {
    let async = false;
    const values = args.map((arg): unknown => {
      if ("i" in arg) {
        if (!holdsMarkers(arg.i)) return arg.i;
        async = true;
        // Refs nested in the value become refs of this node's store.
        return reviveRefs(arg.i, (wire) => ("i" in wire ? api.put(wire.i) : this.#local(wire.r, wire.holders)));
      }
      async = true;
      return this.#local(arg.r, arg.holders);
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the map callback above
    return async ? Promise.all(values) : values;
  }

  /** A local ref to a large object: held here, or pulled from a holder (once) and held from then on. */
  #local(objectId: string, holders: readonly string[]): Promise<ObjectRef<unknown>> {
    const held = this.#held.get(objectId);
    if (held !== undefined) return Promise.resolve(held.ref);
    let pull = this.#pulls.get(objectId);
    if (pull === undefined) {
      pull = this.#pull(objectId, holders);
      this.#pulls.set(objectId, pull);
      void pull.finally(() => this.#pulls.delete(objectId)).catch(() => undefined);
    }
    return pull;
  }

  async #pull(objectId: string, hinted: readonly string[]): Promise<ObjectRef<unknown>> {
    const owner = objectId.slice(0, objectId.indexOf("."));
    const lost = (): Error => {
      const others = hinted.filter((id) => id !== this.nodeId);
      return others.length === 1 && others[0] === owner
        ? new OwnerDiedError(`object ${objectId} cannot be reached: its owner ${owner} died, and it held the only copy`)
        : new ObjectLostError(`object ${objectId} was lost: every copy was on a node that died (holders ${others.join(", ") || "none"})`);
    };
    const { value } = await pullFromHolders(this.#plane.redis, objectId, hinted, this.#token, this.nodeId, lost);
    const ref = api.put(value);
    this.#held.set(objectId, { ref, payload: undefined });
    this.#owners.seen(owner);
    // A holder from now on: later pullers may take it from here.
    await this.#plane.addLocation(objectId, this.nodeId);
    return ref;
  }

  #runTask(message: Extract<ToNode, { k: "task" }>): Promise<void> {
    // A defined function and inline arguments (tiny tasks): submitted in this turn, without awaiting.
    const fn = this.#defined.get(message.fn);
    const args = fn === undefined ? undefined : this.#args(message.args);
    if (fn === undefined || !Array.isArray(args)) return this.#runTaskLater(message);
    return this.#submit(message, fn, args);
  }

  async #runTaskLater(message: Extract<ToNode, { k: "task" }>): Promise<void> {
    let fn: number;
    let args: unknown[];
    try {
      fn = await this.#fn(message.fn);
      args = await this.#args(message.args);
    } catch (error) {
      this.#result(message.owner, { k: "err", id: message.id, e: this.#errorData(error) });
      return;
    }
    return this.#submit(message, fn, args);
  }

  async #submit(message: Extract<ToNode, { k: "task" }>, fn: number, args: unknown[]): Promise<void> {
    try {
      const backend = state.backend;
      if (backend === undefined) throw new RayError(`node ${this.nodeId} is shutting down`);
      this.#arriving.delete(message.id);
      if (this.#cancelledEarly.has(message.id)) throw new TaskCancelledError(`task ${message.name} (${message.id}) was cancelled`);
      if (message.stream !== undefined) {
        const completion = await this.#generators.run(message, message.stream, backend, fn, args);
        await this.#finish(message.id, message.owner, completion);
        return;
      }
      const ref = backend.submitTask(fn, args, {
        numCpus: message.numCpus,
        maxRetries: message.maxRetries,
        retryExceptions: message.retryExceptions,
        name: message.name,
      });
      await this.#finish(message.id, message.owner, ref);
    } catch (error) {
      this.#result(message.owner, { k: "err", id: message.id, e: this.#errorData(error) });
    }
  }

  async #startActor(message: Extract<ToNode, { k: "actor" }>): Promise<void> {
    try {
      const cls = await this.#fn(message.cls);
      const args = await this.#args(message.args);
      const actorClass = new ActorClass(cls, message.name, message.methods, { ...message.options, name: undefined });
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- false positive: the spread does not type-check without it
      this.#actors.set(message.id, actorClass.remote(...(args as never[])) as never);
    } catch (error) {
      this.#log(`actor ${message.name} (${message.id}) could not start: ${String(error)}`);
    }
  }

  async #call(message: Extract<ToNode, { k: "call" }>, ack: { pending: number }): Promise<void> {
    try {
      const handle = this.#actors.get(message.actor);
      if (handle === undefined) throw new ActorDiedError(`actor ${message.actor} is not alive on node ${this.nodeId}`);
      const args = await this.#args(message.args);
      const method = handle[message.method];
      if (method === undefined) throw new RayError(`actor ${message.actor} has no method ${message.method}`);
      const backpressure = this.#generators.expected(message.id);
      const stub = backpressure === undefined || backpressure === NO_BACKPRESSURE ? method : method.options({ generatorBackpressureNumObjects: backpressure });
      const out: unknown = stub.remote(...args);
      // A generator method streams its items to the owner (see node-generators.ts), then its item count.
      const ref = out instanceof ObjectRefGenerator ? this.#generators.runCall(message.id, message.owner, out, backpressure ?? NO_BACKPRESSURE) : Promise.resolve(out as ObjectRef<unknown>);
      void ref.then((done) => this.#finish(message.id, message.owner, done)).finally(() => this.#settled(ack));
    } catch (error) {
      this.#result(message.owner, { k: "err", id: message.id, e: this.#errorData(error) });
      this.#settled(ack);
    }
  }

  /** Waits for a local result and sends it to its owner: inline when small, else held here. */
  async #finish(id: string, owner: string, ref: ObjectRef<unknown>): Promise<void> {
    this.#running.set(id, ref);
    try {
      let value = await api.get(ref);
      if (holdsRefs(value)) {
        // Refs inside the value: small ones inline, large ones held here for the owner (see returned-refs.ts).
        value = await markReturnedRefs(value, id, this.nodeId, (heldId, local, payload) => this.#holdFor(owner, heldId, local, payload));
      }
      if (inlineSize(value) <= INLINE_LIMIT) {
        this.#result(owner, { k: "ok", id, v: unshare(value) });
      } else {
        const held: Held = { ref, payload: toPayload(value) };
        this.#held.set(id, held);
        this.#owners.seen(owner);
        this.#locations.push(id);
        this.#result(owner, { k: "big", id, size: held.payload?.bytes.byteLength ?? 0, holder: this.nodeId });
      }
    } catch (error) {
      this.#result(owner, { k: "err", id, e: this.#errorData(error) });
    } finally {
      this.#running.delete(id);
    }
  }

  /** Keeps a large value here for `owner` under `id` (served to pullers, freed by the owner). */
  #holdFor(owner: string, id: string, ref: ObjectRef<unknown>, payload: Payload): void {
    this.#held.set(id, { ref, payload });
    this.#owners.seen(owner);
    this.#locations.push(id);
    this.#scheduleFlush();
  }

  /** Error data; a missing package is named with this node, where it must be installed. */
  #errorData(error: unknown): ErrorData {
    const data = errorToData(error);
    const text = data.cause?.message ?? data.message;
    const missing = MISSING_PACKAGE.exec(text);
    if (missing === null) return data;
    const note = `package "${missing[1]}" is not installed on node ${this.nodeId} (${this.#options.nodeIpAddress}); install it on every node (${text})`;
    return data.cause === undefined
      ? { ...data, message: note }
      : { ...data, message: note, cause: { ...data.cause, message: note } };
  }

  #result(owner: string, result: FromNode): void {
    if (this.#owners.dead.has(owner)) return;
    let list = this.#outbox.get(owner);
    if (list === undefined) this.#outbox.set(owner, (list = []));
    list.push(result);
    // The task that made this result is still counted as running (or queued) here.
    const others = this.#running.size - 1;
    this.#scheduleFlush(others >= this.#options.numCpus ? QUEUED_LINGER_MS : others > 0 ? RESULT_LINGER_MS : 0);
  }

  /**
   * Flushes on the next turn, or `linger` ms later when more results are due
   * soon (other tasks run or wait here), so that a stream of short tasks
   * sends its results in batches rather than one by one.
   */
  #scheduleFlush(linger = 0): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // One result write in flight at a time: results finished meanwhile go together in the next one.
    if (this.#writing) return;
    if (linger > 0) setTimeout(() => void this.#flush(), linger);
    else setImmediate(() => void this.#flush());
  }

  /** One pipeline per turn: object locations, then each owner's results, then acks of finished entries. */
  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const outbox = this.#outbox;
    const locations = this.#locations;
    this.#outbox = new Map();
    this.#locations = [];
    const done: string[] = [];
    while (this.#acks.length > 0 && (this.#acks[0] as { pending: number }).pending === 0) done.push((this.#acks.shift() as { entry: string }).entry);
    if (outbox.size === 0 && locations.length === 0 && done.length === 0) return;
    const results = [...outbox].map(([owner, list]) => [owner, serialize({ node: this.nodeId, results: list })] as const);
    const write = (): Promise<unknown> => {
      this.#observation?.flushEvents(); // the events of these results' runs go first
      const pipeline = this.#plane.redis.pipeline();
      for (const id of locations) pipeline.sadd(`${PREFIX}loc:${id}`, this.nodeId);
      for (const [owner, bytes] of results) pipeline.xadd(`${PREFIX}results:${owner}`, "*", "m", bytes);
      if (done.length > 0) {
        pipeline.xack(this.#stream, "node", ...done);
        pipeline.xdel(this.#stream, ...done);
      }
      return pipeline.exec();
    };
    if (this.#sender !== undefined) {
      // Fault injection: batches go one after another, a dropped one again after a backoff.
      this.#sender.send("a result batch", write, (error) => this.#log(`writing results failed: ${String(error)}`));
    } else {
      this.#writing = true;
      try {
        await write();
      } catch (error) {
        this.#log(`writing results failed: ${String(error)}`);
      } finally {
        this.#writing = false;
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- results may come during the await
      if (this.#flushScheduled) setImmediate(() => void this.#flush());
    }
    if (this.#acks.length > 0 && (this.#acks[0] as { pending: number }).pending === 0) this.#scheduleFlush();
  }

  async #payload(objectId: string): Promise<Payload | undefined> {
    const held = this.#held.get(objectId);
    if (held === undefined) return undefined;
    held.payload ??= toPayload(await api.get(held.ref));
    return held.payload;
  }

  /** Leaves the cluster and stops the local runtime. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await this.#liveness?.stop();
    await this.#spill?.stop();
    try {
      await this.#plane.removeNode(this.nodeId);
    } catch (error) {
      this.#log(`leaving the cluster failed: ${String(error)}`);
    }
    this.#reader.disconnect();
    await this.#loop?.catch(() => undefined);
    await this.#observation?.close().catch((error: unknown) => this.#log(`stopping the observers failed: ${String(error)}`));
    await this.#server.close();
    await this.#plane.close();
    await api.shutdown();
    this.#log(`node ${this.nodeId} stopped`);
  }
}
