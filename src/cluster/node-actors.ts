/**
 * Actor handles inside tasks on a node. A handle that reaches a node (as a
 * task's argument, or found with `getActor(name)` among the cluster's named
 * actors) becomes a handle of the node's runtime: to the actor itself when
 * it lives on this node (its calls stay here), else to a stand-in whose
 * calls this node sends to the actor's node as actor-call messages, the same
 * ones a driver sends, owning their results (see node-actor-sends.ts). Calls
 * through one stand-in keep their order: each waits for its arguments, and
 * holds back the ones behind it. When the actor's node dies, the stand-in
 * follows the actor through the registry (actor-follow.ts), as a driver's
 * handle does: its calls wait while its owner restarts it elsewhere, then
 * go there (calls left unanswered first, while `maxTaskRetries` lasts); an
 * actor gone for good (killed, out of restarts, its owner gone) fails them
 * with ActorDiedError. A node not known here yet (it joined a moment ago)
 * is looked up in the cluster before its calls go on. An actor a task here
 * makes with placement options goes where the driver's policies send it
 * (see `create`), reached through a stand-in too.
 */
import { makeActorHandle } from "../core/api/actor-handle.js";
import { DEFAULT_NAMESPACE } from "../core/api/actor-options.js";
import { generatorMethods } from "../core/api/actor-method.js";
import { ActorDiedError, errorToData } from "../core/api/errors.js";
import type { DriverParts } from "../core/runtime/driver-parts.js";
import { nextId, type RemoteActors } from "../core/runtime/global-state.js";
import type { Encoded, NamedActor } from "../core/protocol/protocol.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import type { Task } from "../core/scheduling/scheduler.js";
import { localHandle, type ActorWire, type LocalHandle } from "./actor-wire.js";
import type { NestedSpill } from "./nested-submit.js";
import type { ActorPlacement, NamedActorRecord } from "./control-plane.js";
import type { Whereabouts } from "./actor-follow.js";
import type { ActorEvent } from "./node-table.js";

/** What the stand-ins need from the node. */
export interface NodeActorsHost {
  readonly nodeId: string;
  /** The local handles of the actors this node hosts, by cluster id (calls from other nodes reach them there). */
  hosted(): Map<string, object>;
  /** Sends call `task` of actor `actor` to `node` (`streams`: a generator method's call, streaming its items here): "sent", "dead" (the node died), or "unknown" (not in this node's view of the cluster yet). */
  sendCall(task: Task, parts: DriverParts, actor: string, node: string, streams: boolean): SendOutcome;
  /** Reads the live nodes from the cluster again (a node that joined a moment ago becomes known). */
  refreshNodes(node: string): Promise<void>;
  /** Tells `node` to kill `actor` (`name`: its registry name, when named). */
  sendKill(actor: string, node: string, name: string | undefined): void;
  /** Where `actor`, last known on `lost` (which died), lives now, or why it is gone (see actor-follow.ts). */
  relocate(actor: string, lost: string): Promise<Whereabouts>;
  /** An actor a task here made elsewhere is gone for good: its placement and name are released. */
  release(actor: string, name: string | undefined): void;
  /** Where an actor a task makes goes by its options: undefined for this node, or a node id, or why none fits. */
  placeActor(options: ResolvedActorOptions, parts: DriverParts): string | { readonly error: string } | undefined;
  /** Sends the creation of `actor` to `node`; returns why it cannot go there, or undefined once sent. */
  sendActor(actor: ActorCreation, parts: DriverParts, node: string): string | undefined;
}

/** An actor a task makes, to be created on another node. */
export interface ActorCreation {
  /** Its cluster id. */
  readonly gid: string;
  readonly cls: number;
  readonly className: string;
  readonly args: readonly Encoded[];
  readonly options: ResolvedActorOptions;
  readonly methods: readonly string[];
  /** Its generator methods. */
  readonly streaming: readonly string[];
}

/** What sending a call to a node came to. */
export type SendOutcome = "sent" | "dead" | "unknown";

/** An actor of another node, as this node's runtime reaches it. */
interface StandIn {
  readonly num: number;
  readonly gid: string;
  readonly name: string;
  readonly methods: readonly string[];
  readonly streaming: readonly string[];
  node: string;
  /** Its restarts so far, as last heard, and the retries of a call its node's death left unanswered. */
  incarnation: number;
  retries: number;
  /** Calls waiting for their arguments (or for the ones before them), in order. */
  readonly queue: Task[];
  dead: string | undefined;
  /** Its node was not known here: the calls wait while the cluster's live nodes are read again. */
  checking: boolean;
  /** Its node died: the calls wait while the registry tells where it lives now. */
  moving: boolean;
  /** Calls sent to a node that died before they were answered, in the order they were sent. */
  readonly lost: Task[];
  /** The name it is found under with `getActor`, when named. */
  named: NamedActor | undefined;
}

const NONE: readonly string[] = Object.freeze([]);
/** Times each call was sent again after a node death. */
const resent = new WeakMap<Task, number>();

/** Splits a registry key (`name`, or `namespace/name` outside the default namespace). */
function nameOf(key: string): { name: string; namespace: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { name: key, namespace: DEFAULT_NAMESPACE } : { name: key.slice(slash + 1), namespace: key.slice(0, slash) };
}

export class NodeActors implements RemoteActors {
  readonly #host: NodeActorsHost;
  #parts: DriverParts | undefined;
  readonly #byNum = new Map<number, StandIn>();
  readonly #byGid = new Map<string, StandIn>();

  constructor(host: NodeActorsHost) {
    this.#host = host;
  }

  attach(parts: DriverParts): void {
    this.#parts = parts;
  }

  /** The handle a received marker stands for. */
  handle(wire: ActorWire): object {
    const hosted = this.#host.hosted().get(wire.id);
    if (hosted !== undefined) return hosted;
    const actor = this.#standIn(wire.id, wire.name, wire.methods, wire.streaming ?? NONE, wire.node);
    // A newer incarnation than this node heard of (the move's event still on its way).
    if (wire.node !== "" && (wire.incarnation ?? 0) > actor.incarnation) this.#place(actor, { actorId: wire.id, nodeId: wire.node, incarnation: wire.incarnation ?? 0, maxTaskRetries: wire.maxTaskRetries ?? actor.retries });
    else if (actor.incarnation === 0) actor.retries = wire.maxTaskRetries ?? actor.retries;
    return makeActorHandle(actor.num, actor.name, actor.methods, actor.streaming);
  }

  /**
   * What a handle of this node's runtime travels as. An actor made by a
   * task here is hosted from then on under a cluster id of this node, so
   * calls from elsewhere reach it.
   */
  export(handle: LocalHandle): ActorWire {
    const actor = this.#byNum.get(handle.id);
    if (actor !== undefined) return { id: actor.gid, name: actor.name, methods: actor.methods, streaming: actor.streaming, node: actor.node, incarnation: actor.incarnation, maxTaskRetries: actor.retries };
    const hosted = this.#host.hosted();
    let gid: string | undefined;
    for (const [id, local] of hosted) if (localHandle(local)?.id === handle.id) gid = id;
    if (gid === undefined) {
      gid = `${this.#host.nodeId}.h${handle.id.toString(36)}`;
      hosted.set(gid, makeActorHandle(handle.id, handle.name, handle.methods, handle.streaming));
    }
    const wire = { id: gid, name: handle.name, methods: handle.methods, node: this.#host.nodeId };
    return handle.streaming === undefined ? wire : { ...wire, streaming: handle.streaming };
  }

  /** Follows the cluster's named actors and nodes through `spill`, which sends the calls. */
  follow(spill: NestedSpill): void {
    spill.onActor = (event) => {
      if (event.kind !== "actorNamed") spill.actors.event(event);
      this.announced(event);
    };
    spill.onCallLost = (actor, task) => this.callLost(actor, task);
    this.known(spill.names.values());
    spill.onNodeGone = (nodeId) => this.nodeGone(nodeId);
    spill.reviveActor = (wire) => this.handle(wire);
    spill.exportActor = (handle) => this.export(handle);
  }

  #standIn(gid: string, name: string, methods: readonly string[], streaming: readonly string[], node: string, num = 0): StandIn {
    let actor = this.#byGid.get(gid);
    if (actor === undefined) {
      actor = {
        num: num === 0 ? nextId() : num, gid, name, methods, streaming, node, incarnation: 0, retries: 0,
        queue: [], dead: undefined, checking: false, moving: false, lost: [], named: undefined,
      };
      this.#byNum.set(actor.num, actor);
      this.#byGid.set(gid, actor);
    }
    return actor;
  }

  /**
   * An actor a task of this node makes: created on the node its options
   * choose (custom resources, node affinity, SPREAD), through the same
   * policy as a driver's actor; with none of those, or when this node fits
   * them, it lives here (false). The task's handle (actor number `id`)
   * then reaches it there.
   */
  create(id: number, cls: number, args: readonly Encoded[], options: ResolvedActorOptions, methods: readonly string[]): boolean {
    const parts = this.#parts;
    if (parts === undefined || (options.scheduling === undefined && (options.resources === undefined || Object.keys(options.resources).length === 0))) return false;
    const target = this.#host.placeActor(options, parts);
    if (target === undefined) return false;
    const def = parts.control.fetchFunction(cls);
    const className = def?.name ?? "Actor";
    const streaming = def?.kind === "source" ? generatorMethods(def.source, methods) : NONE;
    const gid = `${this.#host.nodeId}.a${id.toString(36)}`;
    const actor = this.#standIn(gid, options.name ?? className, methods, streaming, typeof target === "string" ? target : "", id);
    if (typeof target !== "string") actor.dead = `it could not be placed: ${target.error}`;
    else {
      const why = this.#host.sendActor({ gid, cls, className, args, options, methods, streaming }, parts, target);
      if (why !== undefined) actor.dead = `it could not be created on node ${target}: ${why}`;
    }
    if (options.name !== undefined && actor.dead === undefined) {
      actor.named = { name: options.name, namespace: options.namespace, id, actorName: options.name, cls: 0, methods, streaming };
      this.#announce({ kind: "names", set: [actor.named], removed: [] });
    }
    return true;
  }

  call(task: Task): boolean {
    const actor = task.actor === undefined ? undefined : this.#byNum.get(task.actor);
    if (actor === undefined) return false;
    actor.queue.push(task);
    this.pump(actor.num);
    return true;
  }

  /** Sends the calls of stand-in `num` whose arguments are ready, in order; `checked`: its node was just read again. */
  pump(num: number, checked = false): void {
    const actor = this.#byNum.get(num);
    const parts = this.#parts;
    if (actor === undefined || parts === undefined || actor.checking || actor.moving) return;
    while (actor.queue.length > 0) {
      const task = actor.queue[0] as Task;
      if (task.deps > 0 && task.cancelled === "no") return;
      actor.queue.shift();
      if (task.cancelled !== "no") continue;
      if (task.depError !== undefined) {
        parts.tasks.settle(task, { ok: false, error: task.depError });
        continue;
      }
      if (actor.dead === undefined && actor.node === "") actor.dead = "its handle left its owner before the actor was placed";
      if (actor.dead === undefined) {
        const outcome = this.#host.sendCall(task, parts, actor.gid, actor.node, task.method !== undefined && actor.streaming.includes(task.method));
        if (outcome === "unknown" && !checked) {
          // A node that joined a moment ago: this node may not have seen it yet. The call waits, in order, for a fresh read.
          actor.queue.unshift(task);
          this.#check(actor);
          return;
        }
        if (outcome !== "sent") {
          // Its node died (or is not in the cluster): the call waits, in order, for where the actor lives now.
          actor.queue.unshift(task);
          this.#relocate(actor, actor.node);
          return;
        }
      }
      if (actor.dead !== undefined) parts.tasks.settle(task, { ok: false, error: this.#died(actor) });
    }
  }

  #check(actor: StandIn): void {
    actor.checking = true;
    void this.#host
      .refreshNodes(actor.node)
      .catch(() => undefined)
      .then(() => {
        actor.checking = false;
        this.pump(actor.num, true);
      });
  }

  #died(actor: StandIn): ReturnType<typeof errorToData> {
    return errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${actor.dead ?? "unknown"}`));
  }

  kill(num: number): boolean {
    const actor = this.#byNum.get(num);
    if (actor === undefined) return false;
    if (actor.dead === undefined && actor.node !== "") this.#host.sendKill(actor.gid, actor.node, this.#nameKey(actor));
    actor.dead ??= "it was killed";
    this.#retryLost(actor);
    this.pump(num);
    return true;
  }

  /** The registry name of a stand-in, when named. */
  #nameKey(actor: StandIn): string | undefined {
    const named = actor.named;
    if (named === undefined) return undefined;
    return named.namespace === DEFAULT_NAMESPACE ? named.name : `${named.namespace}/${named.name}`;
  }

  /** The stand-in's node died (or is not in the cluster): its calls wait until the registry tells where the actor lives now. */
  #relocate(actor: StandIn, lost: string): void {
    if (actor.moving || actor.dead !== undefined) return;
    actor.moving = true;
    void this.#host.relocate(actor.gid, lost).then((whereabouts) => {
      actor.moving = false;
      if (actor.dead === undefined) {
        if ("dead" in whereabouts) actor.dead = whereabouts.dead;
        else this.#place(actor, whereabouts.placement);
      }
      this.#retryLost(actor);
      this.pump(actor.num);
    });
  }

  /** The actor is known to live at `placement` (unless this node heard of a later one). */
  #place(actor: StandIn, placement: ActorPlacement): void {
    if (actor.dead !== undefined || placement.incarnation < actor.incarnation) return;
    actor.incarnation = placement.incarnation;
    actor.retries = placement.maxTaskRetries;
    actor.node = placement.nodeId;
  }

  /** Calls a node death left unanswered go first again while their retries last; the others fail. */
  #retryLost(actor: StandIn): void {
    const parts = this.#parts;
    if (parts === undefined || actor.lost.length === 0) return;
    const again: Task[] = [];
    for (const task of actor.lost.splice(0)) {
      if (!parts.tasks.live.has(task.id)) continue;
      const times = resent.get(task) ?? 0;
      if (actor.dead === undefined && times < actor.retries) {
        resent.set(task, times + 1);
        again.push(task);
        continue;
      }
      const reason = actor.dead ?? `its node died while running call ${task.name}, and the call ran out of retries (maxTaskRetries ${actor.retries})`;
      parts.tasks.settle(task, { ok: false, error: errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${reason}`)) });
    }
    actor.queue.unshift(...again);
  }

  /** A call to `gid` sent to a node that died before answering; false when no stand-in here sent it, or it streamed (it fails then). */
  callLost(gid: string, task: Task): boolean {
    const actor = this.#byGid.get(gid);
    // A generator method's call is not sent again: its consumer may have taken items already.
    if (actor === undefined || (task.method !== undefined && actor.streaming.includes(task.method))) return false;
    actor.lost.push(task);
    return true;
  }

  named(): NamedActor[] {
    const named: NamedActor[] = [];
    for (const actor of this.#byNum.values()) if (actor.named !== undefined && actor.dead === undefined) named.push(actor.named);
    return named;
  }

  /** The cluster's named actors as they are now (on start). */
  known(records: Iterable<NamedActorRecord>): void {
    for (const record of records) this.#name(record);
  }

  /** An actor of the cluster was named, moved (restarted elsewhere) or is gone for good. */
  announced(event: ActorEvent): void {
    if (event.kind === "actorNamed") {
      this.#name(event.actor);
      return;
    }
    const actor = this.#byGid.get(event.kind === "actorMoved" ? event.actor.actorId : event.actorId);
    if (actor === undefined) return;
    if (event.kind === "actorMoved") {
      // While it is looked for, the search settles it (it hears of this move too).
      if (!actor.moving) this.#place(actor, event.actor);
      return;
    }
    if (actor.named !== undefined) {
      const { name, namespace } = actor.named;
      actor.named = undefined;
      this.#announce({ kind: "names", set: [], removed: [{ name, namespace }] });
    }
    actor.dead ??= "it was killed, or died past its restarts (maxRestarts)";
    this.#retryLost(actor);
    this.pump(actor.num);
  }

  #name(record: NamedActorRecord): void {
    const actor = this.#standIn(record.actorId, record.className, record.methods, record.streaming ?? NONE, record.nodeId);
    if (actor.incarnation === 0) actor.retries = record.maxTaskRetries ?? actor.retries;
    const { name, namespace } = nameOf(record.name);
    actor.named = { name, namespace, id: actor.num, actorName: name, cls: 0, methods: actor.methods, streaming: actor.streaming };
    this.#announce({ kind: "names", set: [actor.named], removed: [] });
  }

  #announce(message: { kind: "names"; set: NamedActor[]; removed: { name: string; namespace: string }[] }): void {
    const parts = this.#parts;
    if (parts === undefined) return;
    for (const link of parts.owners.keys()) parts.loop.send(link, message);
  }

  /**
   * A node died: stand-ins of actors there follow them (see actor-follow.ts);
   * an actor a task here made there is gone for good (it is not restarted).
   * Calls it left unanswered go again or fail once it is known where the actor is.
   */
  nodeGone(nodeId: string): void {
    const own = `${this.#host.nodeId}.a`;
    for (const actor of this.#byNum.values()) {
      if (actor.node === nodeId && actor.dead === undefined) {
        if (actor.gid.startsWith(own)) {
          actor.dead = `its node ${nodeId} died`;
          this.#host.release(actor.gid, this.#nameKey(actor));
        } else {
          this.#relocate(actor, nodeId);
        }
      }
      if (!actor.moving && actor.lost.length > 0) {
        this.#retryLost(actor);
        this.pump(actor.num);
      }
    }
  }
}
