/**
 * Nested tasks across nodes. A task running on a node submits its nested
 * tasks to that node's runtime; this placer, offered each of them once it
 * can run, follows the driver's policies: by default the task stays on this
 * node while the node is under half busy, else it goes to the least-loaded
 * other node; `scheduling` (SPREAD, node affinity) and custom `resources`
 * choose the node as for a driver's task. Large arguments stay here and are
 * pulled by the node that runs the task (see nested-args.ts). This node owns what it sends away (its id is the owner on the wire):
 * it reads the results from its own result stream, pulls large ones, and
 * settles the nested task in its runtime, so the parent's `get` and the
 * runtime's reference counting work as for a local task. A node it sent
 * work to that dies has that work run again here, while `maxRetries` lasts.
 */
import { deserialize, serialize } from "node:v8";
import type { Redis } from "ioredis";
import * as api from "../core/api/api.js";
import { ActorDiedError, errorToData, NodeDiedError, ObjectLostError, RayError, type ErrorData } from "../core/api/errors.js";
import type { DriverParts } from "../core/runtime/driver-parts.js";
import type { NestedPlacer } from "../core/runtime/driver-tasks.js";
import { nextId, state } from "../core/runtime/global-state.js";
import { encode } from "../core/codec/serialization.js";
import type { Task } from "../core/scheduling/scheduler.js";
import { arrowPending, preloadArrow, withArrows } from "./arrow-wire.js";
import { PREFIX, type ControlPlane, type NamedActorRecord } from "./control-plane.js";
import { faultSettings } from "./fault-settings.js";
import { encodeFunction, moduleCode, publishable } from "./functions.js";
import { pullFromHolders } from "./holders.js";
import { driverKey } from "./liveness.js";
import { placementsKey } from "./actor-registry.js";
import { holdsMarkers, reviveRefs } from "./nested-refs.js";
import { NodeTable, type NodeEntry } from "./node-table.js";
import { NestedArgs } from "./nested-args.js";
import { DefaultPolicy, HYBRID_THRESHOLD, type Demand } from "./scheduling.js";
import type { FromNode, ItemResult, ResultBatch, ToNode } from "./wire.js";
import type { ActorWire, LocalHandle } from "./actor-wire.js";
import { ActorSends } from "./node-actor-sends.js";

/** A nested task running on another node for this one. */
interface Spilled {
  readonly task: Task;
  readonly parts: DriverParts;
  readonly node: NodeEntry;
  /** Ids of the large arguments lent to it, freed once it settled. */
  readonly lent: readonly string[];
  retriesLeft: number;
  /** An actor call (see node-actors.ts): it fails with its actor when the node dies. */
  readonly actor?: string;
}

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});
const NO_LOCALITY: ReadonlyMap<string, number> = new Map();

/** Stands for a function that cannot leave this node (a capture too large or not readable). */
const LOCAL_ONLY = "";

export class NestedSpill {
  readonly #plane: ControlPlane;
  readonly #nodeId: string;
  readonly #numCpus: number;
  readonly #token: string;
  readonly #log: (line: string) => void;
  readonly #nodes: NodeTable;
  readonly #spilled = new Map<string, Spilled>();
  readonly #keys = new Map<number, string>();
  readonly #dead = new Set<string>();
  readonly #policy = new DefaultPolicy();
  readonly #lending: NestedArgs;
  #outbox = new Map<string, ToNode[]>();
  #flushScheduled = false;
  #reader: Redis | undefined;
  #loop: Promise<void> | undefined;
  #beat: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Nested tasks sent to other nodes, for the logs. */
  sent = 0;

  /** `hold` keeps a lent value on this node under an id, served to pullers; it returns the value's size in bytes. */
  constructor(plane: ControlPlane, nodeId: string, numCpus: number, token: string, log: (line: string) => void, hold: (id: string, value: unknown) => number) {
    this.#plane = plane;
    this.#nodeId = nodeId;
    this.#numCpus = numCpus;
    this.#token = token;
    this.#log = log;
    this.#nodes = new NodeTable(plane, (node) => this.#nodeGone(node.nodeId));
    this.#lending = new NestedArgs({ nodeId, hold, fnKey: (fn, parts) => this.#fnKey(fn, parts), actorWire: (handle) => this.exportActor?.(handle) });
    this.actors = new ActorSends({
      nodeId,
      plane,
      status: (id) => (this.#dead.has(id) || this.#stopped ? "dead" : this.#nodes.get(id) === undefined ? "unknown" : "live"),
      refresh: () => this.#nodes.refresh(),
      send: (id, message) => this.#send(id, message),
      lend: (args, parts, lent) => this.#lending.wires(args, parts, lent),
      free: (lent) => this.#free(lent, undefined),
      track: (task, parts, id, lent, actor) => {
        const spilledId = this.#spilledId(task);
        this.#spilled.set(spilledId, { task, parts, node: this.#nodes.get(id) as NodeEntry, lent, retriesLeft: 0, actor });
        return spilledId;
      },
      fnKey: (fn, parts) => this.#fnKey(fn, parts),
      choose: (demand, parts) => {
        const localLoad = (parts.policy.usedSlots() + parts.policy.queue.size) / Math.max(1, this.#numCpus);
        return this.#policy.choose(this.#views(localLoad), demand, this.#nodeId);
      },
      fitsHere: (demand) => this.#fitsHere(demand),
    });
  }

  get #results(): string {
    return `${PREFIX}results:${this.#nodeId}`;
  }

  /** Follows the nodes, beats as an owner (so nodes running its work keep it), reads results; installs the placer. */
  async start(): Promise<void> {
    const settings = faultSettings();
    // The placements of the actors its tasks made elsewhere live as long as it beats (see actor-registry.ts).
    const beat = (): Promise<unknown> =>
      this.#plane.redis.pipeline().set(driverKey(this.#nodeId), "1", "PX", settings.driverDeadMs).pexpire(placementsKey(this.#nodeId), settings.driverDeadMs).exec().catch(() => undefined);
    await beat();
    this.#beat = setInterval(() => void beat(), settings.heartbeatMs);
    await this.#nodes.start();
    this.#reader = await this.#plane.connection(`rayts-node-${this.#nodeId}-results`);
    this.#loop = this.#readResults(this.#reader);
    state.placeNested = this.place;
    state.cancelNested = this.cancel;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.actors.stop();
    if (state.placeNested === this.place) state.placeNested = undefined;
    if (state.cancelNested === this.cancel) state.cancelNested = undefined;
    clearInterval(this.#beat);
    await this.#nodes.stop();
    this.#reader?.disconnect();
    await this.#loop?.catch(() => undefined);
    await this.#plane.redis.multi().del(driverKey(this.#nodeId)).del(this.#results).del(placementsKey(this.#nodeId)).exec().catch(() => undefined);
  }

  /** The driver's policies for a nested task; true when it was sent to another node (or failed for want of one). */
  readonly place: NestedPlacer = (task, parts) => {
    const options = task.options;
    // More CPUs than this node has: it runs on a node that has them, or fails (it could never run here).
    const tooBig = options.numCpus > this.#numCpus;
    const fail = (why: string): true => {
      parts.tasks.settle(task, { ok: false, error: errorToData(new RayError(`cannot place nested task ${task.name}: ${why}`)) });
      return true;
    };
    if (this.#stopped || options.numReturns === "streaming") {
      return tooBig ? fail(`it asks for ${options.numCpus} CPUs, node ${this.#nodeId} has ${this.#numCpus}, and ${this.#stopped ? "the node is stopping" : "a streaming task runs on the node that submits it"}`) : false;
    }
    const pinned = tooBig || options.scheduling !== undefined || options.resources !== undefined;
    const localLoad = (parts.policy.usedSlots() + parts.policy.queue.size) / Math.max(1, this.#numCpus);
    // The common case stays here without looking further.
    if (!pinned && localLoad < HYBRID_THRESHOLD) return false;
    let node: NodeEntry | undefined;
    if (pinned) {
      const demand: Demand = { numCpus: options.numCpus, resources: options.resources ?? NO_RESOURCES, scheduling: options.scheduling ?? "DEFAULT", locality: NO_LOCALITY };
      const choice = this.#policy.choose(this.#views(localLoad), demand, this.#nodeId);
      if ("error" in choice) return fail(choice.error);
      if (choice.node.nodeId === this.#nodeId && !tooBig) return false;
      node = this.#nodes.get(choice.node.nodeId);
    } else {
      node = this.#leastLoaded(options.numCpus);
      if (node !== undefined && this.#load(node) >= localLoad) node = undefined;
    }
    // A node affinity, resources or CPUs this node lacks leave no choice: the task runs elsewhere or fails.
    const mustLeave = pinned && !this.#fitsHere(options);
    if (node === undefined || node.nodeId === this.#nodeId) return mustLeave ? fail(`no other live node has the resources ${JSON.stringify({ CPU: options.numCpus, ...options.resources })}`) : false;
    if (arrowPending(task.args)) {
      // Its Arrow arguments are read here to travel: offered again once apache-arrow is loaded.
      void preloadArrow().then(() => {
        if (parts.tasks.live.has(task.id) && !this.place(task, parts)) {
          parts.policy.queue.push(task);
          parts.loop.scheduleTick();
        }
      });
      return true;
    }
    const key = this.#fnKey(task.fn, parts);
    if (key === LOCAL_ONLY) return mustLeave ? fail("its function has a capture that cannot leave this node") : false;
    const lent: string[] = [];
    const args = this.#lending.wires(task.args, parts, lent);
    if ("stays" in args) {
      this.#free(lent, undefined);
      return mustLeave ? fail(`${args.stays}, which cannot leave this node`) : false;
    }
    // Locality, as for a driver's task: large arguments keep an unpinned task here while this node is not overloaded.
    if (!pinned && args.bytes > 0 && localLoad < 2) {
      this.#free(lent, undefined);
      return false;
    }
    const id = this.#spilledId(task);
    this.#spilled.set(id, { task, parts, node, lent, retriesLeft: options.maxRetries });
    node.inFlight += options.numCpus;
    this.sent++;
    this.#send(node.nodeId, {
      k: "task",
      id,
      owner: this.#nodeId,
      fn: key,
      name: task.name,
      args: args.wires,
      numCpus: options.numCpus,
      maxRetries: options.maxRetries,
      retryExceptions: options.retryExceptions,
    });
    return true;
  };

  /** Sends of actor calls, creations and kills to other nodes (see node-actor-sends.ts). */
  readonly actors: ActorSends;

  /** The cluster's named actors, as followed since start. */
  get names(): ReadonlyMap<string, NamedActorRecord> {
    return this.#nodes.names;
  }

  /** Told of every named actor announced or released. */
  set onActor(listener: NodeTable["onActor"]) {
    this.#nodes.onActor = listener;
  }

  /** What an actor handle of this node's runtime travels as (see node-actors.ts). */
  exportActor: ((handle: LocalHandle) => ActorWire | undefined) | undefined;

  /** Rebuilds an actor handle a result holds (see node-actors.ts). */
  reviveActor: ((wire: ActorWire) => unknown) | undefined;

  /** Takes an actor call a node death left unanswered (true), in the order the calls were sent (see node-actors.ts). */
  onCallLost: ((actor: string, task: Task) => boolean) | undefined;

  /** Told of every node that died, after its work here was handled. */
  onNodeGone: ((nodeId: string) => void) | undefined;

  /** A nested task cancelled here: cancelled (with `force`, its worker stopped) on the node running it, its tasks with it. */
  readonly cancel = (task: Task, force: boolean): void => {
    const id = this.#spilledId(task);
    const spilled = this.#spilled.get(id);
    if (spilled === undefined) return;
    this.#spilled.delete(id);
    spilled.node.inFlight -= task.options.numCpus;
    if (!this.#dead.has(spilled.node.nodeId)) this.#send(spilled.node.nodeId, { k: "cancel", id, force });
    this.#free(spilled.lent, spilled.node.nodeId);
  };

  #spilledId(task: Task): string {
    return `${this.#nodeId}.s${task.id.toString(36)}`;
  }

  /** The nodes as the policy sees them, this one with its own runtime's load. */
  #views(localLoad: number): NodeEntry[] {
    const views: NodeEntry[] = [];
    for (const node of this.#nodes.list()) {
      if (this.#dead.has(node.nodeId)) continue;
      views.push(node.nodeId === this.#nodeId ? { ...node, inFlight: localLoad * Math.max(1, node.resources["CPU"] ?? 1) } : node);
    }
    return views;
  }

  /** True when this node's declared resources hold the task's and no hard affinity sends it elsewhere. */
  #fitsHere(options: { readonly numCpus: number; readonly scheduling?: Demand["scheduling"]; readonly resources?: Readonly<Record<string, number>> }): boolean {
    if (options.numCpus > this.#numCpus) return false;
    const strategy = options.scheduling;
    if (typeof strategy === "object" && strategy.soft !== true && strategy.nodeId !== this.#nodeId) return false;
    const here = this.#nodes.get(this.#nodeId);
    if (here === undefined) return true;
    for (const [name, amount] of Object.entries(options.resources ?? NO_RESOURCES)) if ((here.resources[name] ?? 0) < amount) return false;
    return true;
  }

  /** Frees lent arguments here and at `node`, which pulled them. */
  #free(lent: readonly string[], node: string | undefined): void {
    if (lent.length === 0) return;
    const ids = [...lent];
    this.#send(this.#nodeId, { k: "free", ids });
    if (node !== undefined && !this.#dead.has(node)) this.#send(node, { k: "free", ids });
    void this.#plane.dropLocations(ids).catch(() => undefined);
  }

  #load(node: NodeEntry): number {
    return (Math.max(node.live.load.busyCpus, 0) + node.inFlight) / Math.max(1, node.resources["CPU"] ?? 1);
  }

  #leastLoaded(numCpus: number): NodeEntry | undefined {
    let best: NodeEntry | undefined;
    for (const node of this.#nodes.list()) {
      if (node.nodeId === this.#nodeId || this.#dead.has(node.nodeId) || (node.resources["CPU"] ?? 0) < numCpus) continue;
      if (best === undefined || this.#load(node) < this.#load(best)) best = node;
    }
    return best;
  }

  /** The published key of a function of this runtime (published once), or LOCAL_ONLY. */
  #fnKey(fn: number, parts: DriverParts): string {
    let key = this.#keys.get(fn);
    if (key !== undefined) return key;
    const def = parts.control.fetchFunction(fn);
    key = LOCAL_ONLY;
    if (def !== undefined) {
      try {
        const published = publishable(
          def,
          (id) => {
            const settled = parts.store.read(id);
            if (settled?.ok !== true) throw new RangeError(`capture ${id} is not readable here`);
            // Lent for as long as this node lives, as the definition is.
            const result = this.#lending.wire(settled.value, undefined, parts);
            if ("stays" in result) throw new RangeError(`capture ${id} cannot leave this node: ${result.stays}`);
            return result.wire;
          },
          (url, name) => {
            const code = moduleCode(url, name);
            void this.#plane.publishCode(code.hash, code.text);
            return code;
          },
        );
        const encoded = encodeFunction(published);
        key = encoded.key;
        // Same connection as the task streams: published before any task naming it is read.
        void this.#plane.publishFunction(key, encoded.bytes);
      } catch (error) {
        this.#log(`nested tasks of function ${def.name} stay on this node: ${String(error)}`);
      }
    }
    this.#keys.set(fn, key);
    return key;
  }

  #send(nodeId: string, message: ToNode): void {
    let list = this.#outbox.get(nodeId);
    if (list === undefined) this.#outbox.set(nodeId, (list = []));
    list.push(message);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const outbox = this.#outbox;
      this.#outbox = new Map();
      const pipeline = this.#plane.redis.pipeline();
      for (const [target, messages] of outbox) pipeline.xadd(`${PREFIX}tasks:${target}`, "*", "m", serialize(messages));
      pipeline.exec().catch((error: unknown) => this.#log(`sending nested tasks failed: ${String(error)}`));
    });
  }

  async #readResults(reader: Redis): Promise<void> {
    let last = "0-0";
    while (!this.#stopped) {
      let reply: unknown;
      try {
        reply = await reader.callBuffer("XREAD", "COUNT", 512, "BLOCK", 1000, "STREAMS", this.#results, last);
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the read
        if (this.#stopped) return;
        this.#log(`reading nested results failed: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (reply === null) continue;
      const read: string[] = [];
      for (const [, entries] of reply as [Buffer, [Buffer, Buffer[]][]][]) {
        for (const [entryId, fields] of entries) {
          last = entryId.toString();
          read.push(last);
          const batch = deserialize(fields[1] as Buffer) as ResultBatch;
          if (batch.died !== undefined) this.#nodeGone(batch.died.nodeId);
          // Results of a node declared dead are fenced off: its work runs again here.
          if (this.#dead.has(batch.node)) continue;
          for (const result of batch.results) this.#onResult(result);
        }
      }
      if (read.length > 0) void this.#plane.redis.xdel(this.#results, ...read).catch(() => undefined);
    }
  }

  #onResult(result: FromNode): void {
    const spilled = this.#spilled.get(result.id);
    if (result.k === "item") {
      this.#item(spilled, result);
      return;
    }
    if (spilled === undefined) return;
    this.#spilled.delete(result.id);
    spilled.node.inFlight -= spilled.task.options.numCpus;
    this.#free(spilled.lent, spilled.node.nodeId);
    const { task, parts } = spilled;
    this.#valueOf(
      result,
      (value) => this.#done(spilled, value),
      (error) => parts.tasks.settle(task, { ok: false, error }),
    );
  }

  /** Passes the value a result (or a streamed item) holds to `then`: pulled when large, its refs and handles revived; or its error to `fail`. */
  #valueOf(result: ItemResult, then: (value: unknown) => void, fail: (error: ErrorData) => void): void {
    const failed = (error: unknown): void => fail(errorToData(error));
    switch (result.k) {
      case "ok":
        if (!holdsMarkers(result.v)) {
          then(result.v);
          return;
        }
        reviveRefs(result.v, (wire) => ("i" in wire ? api.put(wire.i) : this.#fetch(wire.r, wire.holders).then((value) => api.put(value))), undefined, this.reviveActor).then(then, failed);
        return;
      case "big":
        this.#fetch(result.id, [result.holder]).then(then, failed);
        return;
      case "err":
        fail(result.e);
        return;
    }
  }

  /**
   * An item of a generator method a task here streams from an actor of
   * another node: an object of this node's store, handed to the task's
   * stream in order as it arrives (a large one settles once pulled).
   */
  #item(spilled: Spilled | undefined, result: Extract<FromNode, { k: "item" }>): void {
    const { item } = result;
    const made = spilled?.parts.streams.pushRemote(spilled.task.id, result.index, item.k === "err", () => {
      const id = nextId();
      spilled.parts.store.expect(id, 1);
      return id;
    });
    if (spilled === undefined || made === undefined) {
      // Nobody takes it (the stream was closed): a large one is freed where it is held.
      if (item.k === "big" && !this.#dead.has(item.holder)) this.#send(item.holder, { k: "free", ids: [item.id] });
      return;
    }
    const { store } = spilled.parts;
    this.#valueOf(
      item,
      (value) => {
        if (!store.has(made)) return; // freed meanwhile: its consumer is gone
        try {
          store.fill(made, encode(value, `item ${result.index} of ${spilled.task.name}`));
        } catch (error) {
          store.settle(made, { ok: false, error: errorToData(error) });
        }
      },
      (error) => store.settle(made, { ok: false, error }),
    );
  }

  #done({ task, parts }: Spilled, value: unknown): void {
    try {
      parts.tasks.done(task, encode(value, `the result of ${task.name}`));
    } catch (error) {
      parts.tasks.settle(task, { ok: false, error: errorToData(error) });
    }
  }

  /** A large value made elsewhere for this node: pulled once, then freed at its holder (this node's store keeps it). */
  async #fetch(objectId: string, holders: readonly string[]): Promise<unknown> {
    const lost = (): Error => new ObjectLostError(`object ${objectId} was lost: every copy was on a node that died (holders ${holders.join(", ")})`);
    const { value } = await pullFromHolders(this.#plane.redis, objectId, holders, this.#token, this.#nodeId, lost);
    for (const holder of holders) if (!this.#dead.has(holder)) this.#send(holder, { k: "free", ids: [objectId] });
    void this.#plane.dropLocations([objectId]).catch(() => undefined);
    return withArrows(value);
  }

  /** A node that died: the nested tasks it ran for this node run again here while their retries last. */
  #nodeGone(nodeId: string): void {
    if (this.#dead.has(nodeId)) return;
    this.#dead.add(nodeId);
    for (const [id, spilled] of [...this.#spilled]) {
      if (spilled.node.nodeId !== nodeId) continue;
      this.#spilled.delete(id);
      this.#free(spilled.lent, undefined);
      const { task, parts } = spilled;
      if (!parts.tasks.live.has(task.id)) continue; // settled meanwhile (cancelled)
      if (spilled.actor !== undefined) {
        // The stand-in that sent it sends it again where the actor restarts, while its retries last.
        if (this.onCallLost?.(spilled.actor, task) === true) continue;
        const error = new ActorDiedError(`actor ${spilled.actor} is dead: its node ${nodeId} died while running call ${task.name}`);
        parts.tasks.settle(task, { ok: false, error: errorToData(error) });
        continue;
      }
      if (spilled.retriesLeft <= 0) {
        const error = new NodeDiedError(`node ${nodeId} died while running nested task ${task.name}, and the task ran out of retries (maxRetries)`);
        parts.tasks.settle(task, { ok: false, error: errorToData(error) });
        continue;
      }
      spilled.retriesLeft--;
      parts.policy.queue.push(task);
      parts.loop.scheduleTick();
    }
    this.onNodeGone?.(nodeId);
  }
}
