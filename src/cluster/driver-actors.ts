/**
 * The actors of a cluster driver: each is placed on a node once its
 * constructor's arguments exist, then its calls go to that node in
 * submission order (a call whose arguments are not ready holds back the ones
 * behind it). Every actor is placed by id in the registry
 * (actor-registry.ts); a named one is also claimed by name and found from
 * any driver. When an actor's node dies, the actor restarts on a live node
 * with a fresh state (up to `maxRestarts`), and its calls sent but not
 * answered are sent again (up to `maxTaskRetries` each); past either,
 * `ActorDiedError` names the node. Its owner moves its placement, so the
 * handles other drivers hold (found by name, or received in a value or a
 * result) follow it (actor-follow.ts): their calls wait through the
 * restart, then go to the new node (the unanswered ones first, while
 * `maxTaskRetries` lasts).
 */
import { ActorDiedError, errorToData, RayError, type ErrorData } from "../core/api/errors.js";
import { nextId, state } from "../core/runtime/global-state.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import { refsIn } from "./nested-refs.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import { DEFAULT_NAMESPACE } from "../core/api/actor-options.js";
import { streamingMethods } from "../core/api/actor.js";
import { claimActorName, moveActor, placeActor, releaseActor } from "./actor-registry.js";
import { ActorFollow, type Whereabouts } from "./actor-follow.js";
import type { ActorPlacement, ControlPlane, NamedActorRecord } from "./control-plane.js";
import { faultSettings } from "./fault-settings.js";
import type { ActorEvent, NodeEntry } from "./node-table.js";
import type { OwnedObject, OwnershipTable } from "./objects.js";
import type { ArgWire, ToNode } from "./wire.js";
import type { ActorWire, LocalHandle } from "./actor-wire.js";

/** Work that waits for its arguments, then is sent. */
export interface Work {
  readonly deps: OwnedObject[];
  send(): void;
  fail(error: ErrorData): void;
}

/** What the actors need from the driver backend. */
export interface ActorHost {
  readonly driverId: string;
  readonly objects: OwnershipTable;
  readonly names: Map<string, NamedActorRecord>;
  readonly plane: ControlPlane;
  fnKey(fn: number): string;
  object(ref: ObjectRef<unknown>): OwnedObject;
  firstRef(object: OwnedObject): ObjectRef<unknown>;
  wires(args: readonly unknown[], pins: OwnedObject[]): { wires: ArgWire[]; locality: ReadonlyMap<string, number> };
  place(numCpus: number, options: ResolvedActorOptions, locality: ReadonlyMap<string, number>): NodeEntry;
  node(nodeId: string): NodeEntry | undefined;
  /** Reads the live nodes again (a node that joined a moment ago becomes known). */
  refreshNodes(): Promise<void>;
  send(nodeId: string, message: ToNode): void;
  start(work: Work): void;
}

interface ActorEntry {
  readonly num: number;
  readonly gid: string;
  readonly name: string;
  readonly methods: readonly string[];
  readonly owned: boolean;
  /** `lifetime: "detached"`: outlives this driver, so shutdown() leaves it. */
  detached: boolean;
  /** The node it lives on; undefined for a handle of another driver's actor while it is looked for. */
  node: string | undefined;
  /** Its restarts so far, as last heard. */
  incarnation: number;
  /** Its registry name (the key in `names`), when named. */
  nameKey: string | undefined;
  /** The record it is registered under in the cluster, when named and owned. */
  record: NamedActorRecord | undefined;
  dead: string | undefined;
  /** Creation and calls in submission order. */
  readonly queue: Work[];
  /** Restarts left after a node death, and the retries each call gets. */
  restartsLeft: number;
  callRetries: number;
  /** Places the actor again on a live node (set once it was first placed). */
  respawn: (() => void) | undefined;
  /** Calls sent but not answered, in submission order, with the times each was sent again. */
  readonly inflight: Map<string, { readonly object: OwnedObject; readonly message: ToNode; resent: number }>;
  /** Times it restarted after a node death. */
  restarts: number;
}

/** The registry key of `name` in `namespace`: the plain name in the default namespace. */
function namespaced(name: string, namespace: string): string {
  return namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`;
}

export class DriverActors {
  readonly #host: ActorHost;
  readonly #actors = new Map<number, ActorEntry>();
  readonly #actorByGid = new Map<string, ActorEntry>();
  /** The call made last: a generator made for it right after streams it. */
  #lastCall: { readonly object: OwnedObject; readonly actor: ActorEntry } | undefined;
  /** Streamed calls not sent yet, to their backpressure. */
  readonly #streamed = new Map<string, number>();
  /** Where other drivers' actors went after their node died. */
  readonly #follow: ActorFollow;
  /** The time to live of this driver's placements past its last beat. */
  readonly #placementTtl: number;

  constructor(host: ActorHost) {
    this.#host = host;
    const settings = faultSettings();
    this.#follow = new ActorFollow(host.plane, settings.heartbeatMs);
    this.#placementTtl = settings.driverDeadMs;
  }

  #actorEntry(num: number, gid: string, name: string, methods: readonly string[], owned: boolean, node: string | undefined, restarts: number, callRetries: number): ActorEntry {
    const actor: ActorEntry = {
      num, gid, name, methods, owned, detached: false, node, incarnation: 0, nameKey: undefined, record: undefined, dead: undefined, queue: [],
      restartsLeft: restarts, callRetries, respawn: undefined, inflight: new Map(), restarts: 0,
    };
    this.#actors.set(num, actor);
    this.#actorByGid.set(gid, actor);
    return actor;
  }

  /** Sends the actor's queued work in order, stopping at the first whose arguments are not ready. */
  #pump(actor: ActorEntry): void {
    // Another driver's actor restarting: its calls wait until it is announced again.
    if (!actor.owned && actor.node === undefined && actor.dead === undefined) return;
    while (actor.queue.length > 0) {
      const work = actor.queue[0] as Work;
      if (work.deps.some((dep) => dep.state === undefined)) {
        void this.#host.objects.whenSettled(work.deps, work.deps.length, undefined).then(() => this.#pump(actor));
        return;
      }
      actor.queue.shift();
      this.#host.start(work);
    }
  }

  create(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    const key = this.#host.fnKey(cls);
    const def = state.functions.get(cls);
    const className = def?.name ?? "Actor";
    // The cluster's registry keys a name by its namespace; the default namespace keeps plain names.
    const nameKey = options.name === undefined ? undefined : namespaced(options.name, options.namespace);
    if (options.name !== undefined && nameKey !== undefined && this.#host.names.has(nameKey)) {
      const existing = options.getIfExists ? this.getActor(options.name, options.namespace) : undefined;
      if (existing !== undefined) return existing.id;
      throw new RayError(`an actor named "${options.name}" already exists in the cluster${options.namespace === DEFAULT_NAMESPACE ? "" : ` in namespace "${options.namespace}"`}`);
    }
    const num = nextId();
    const actor = this.#actorEntry(num, `${this.#host.driverId}.${num.toString(36)}`, options.name ?? className, methods, true, undefined, options.maxRestarts, options.maxTaskRetries);
    actor.detached = options.detached;
    actor.nameKey = nameKey;
    // Where the name is read, the class may not be known: its generator methods go with the record.
    const streaming = streamingMethods(cls, methods);
    if (nameKey !== undefined) {
      const record: NamedActorRecord = { name: nameKey, actorId: actor.gid, nodeId: "", className, methods: [...methods], streaming };
      this.#host.names.set(nameKey, record);
    }
    const deps = refsIn(args).map((ref) => this.#host.object(ref));
    for (const dep of deps) this.#host.objects.pin(dep);
    actor.queue.push({
      deps,
      fail: (error) => {
        actor.dead = `it could not be created: ${error.message}`;
        for (const dep of deps) this.#host.objects.unpin(dep);
      },
      send: () => {
        const { wires, locality } = this.#host.wires(args, []);
        actor.respawn = () => {
          const node = this.#host.place(1, options, locality);
          node.inFlight += 1;
          actor.node = node.nodeId;
          this.#host.send(node.nodeId, { k: "actor", id: actor.gid, owner: this.#host.driverId, cls: key, name: className, args: wires, options: { ...options, name: undefined, displayName: options.name, getIfExists: false }, methods });
        };
        actor.respawn();
        const node = { nodeId: actor.node as string };
        // Issued now, before the creation's batch on the same connection: a call reaching the node first finds the actor placed there.
        const placement: ActorPlacement = { actorId: actor.gid, nodeId: node.nodeId, incarnation: 0, maxTaskRetries: options.maxTaskRetries, ...(nameKey === undefined ? {} : { name: nameKey }) };
        void placeActor(this.#host.plane, this.#host.driverId, placement, this.#placementTtl).catch(() => undefined);
        for (const dep of deps) this.#host.objects.unpin(dep);
        if (nameKey !== undefined) {
          const record: NamedActorRecord = { name: nameKey, actorId: actor.gid, nodeId: node.nodeId, className, methods: [...methods], streaming, maxTaskRetries: options.maxTaskRetries };
          actor.record = record;
          this.#host.names.set(nameKey, record);
          void claimActorName(this.#host.plane, record).catch(() => undefined);
        }
      },
    });
    this.#pump(actor);
    return num;
  }

  call(actorNum: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    const object = this.#host.objects.create(nextId());
    const ref = this.#host.firstRef(object);
    const actor = this.#actors.get(actorNum);
    const fail = (reason: string): ObjectRef<unknown> => {
      this.#host.objects.settle(object, { ok: false, error: errorToData(new ActorDiedError(reason)) });
      return ref;
    };
    if (actor === undefined) return fail(`actor ${actorNum} is not known to this driver`);
    if (actor.dead !== undefined) return fail(`actor ${actor.name} (${actor.gid}) is dead: ${actor.dead}`);
    const deps = refsIn(args).map((r) => this.#host.object(r));
    for (const dep of deps) this.#host.objects.pin(dep);
    object.deps = deps;
    actor.queue.push({
      deps,
      fail: (error) => this.#host.objects.settle(object, { ok: false, error }),
      send: () => {
        if (actor.dead !== undefined || actor.node === undefined) {
          fail(`actor ${actor.name} (${actor.gid}) is dead: ${actor.dead ?? "it was never placed"}`);
          return;
        }
        const { wires } = this.#host.wires(args, object.deps);
        object.sent = true;
        const message: ToNode = { k: "call", id: object.gid, owner: this.#host.driverId, actor: actor.gid, method, args: wires };
        actor.inflight.set(object.gid, { object, message, resent: 0 });
        object.waiters.push(() => actor.inflight.delete(object.gid));
        this.#host.send(actor.node, message);
        const backpressure = this.#streamed.get(object.gid);
        if (backpressure !== undefined) {
          this.#streamed.delete(object.gid);
          this.#host.send(actor.node, { k: "stream", id: object.gid, backpressure });
        }
      },
    });
    this.#lastCall = { object, actor };
    this.#pump(actor);
    return ref;
  }

  /**
   * Streams `object` when it is the call made last (its generator is made
   * right after the call): the actor's node is told after the call itself.
   * Returns where the actor lives, or undefined for any other object.
   */
  streamCall(object: OwnedObject, backpressure: number): (() => string | undefined) | undefined {
    const last = this.#lastCall;
    if (last?.object !== object) return undefined;
    this.#lastCall = undefined;
    const { actor } = last;
    if (object.sent && actor.node !== undefined) this.#host.send(actor.node, { k: "stream", id: object.gid, backpressure });
    else {
      this.#streamed.set(object.gid, backpressure);
      object.waiters.push(() => this.#streamed.delete(object.gid));
    }
    return () => actor.node;
  }

  getActor(name: string, namespace = DEFAULT_NAMESPACE): { id: number; name: string; methods: readonly string[]; streaming: readonly string[] } | undefined {
    const key = namespaced(name, namespace);
    const record = this.#host.names.get(key);
    if (record === undefined) return undefined;
    const streaming = record.streaming ?? [];
    const known = this.#actorByGid.get(record.actorId);
    if (known !== undefined) return known.dead === undefined ? { id: known.num, name, methods: known.methods, streaming } : undefined;
    const actor = this.#remote({ id: record.actorId, name, methods: record.methods, node: record.nodeId, maxTaskRetries: record.maxTaskRetries ?? 0 });
    actor.nameKey = key;
    return { id: actor.num, name, methods: actor.methods, streaming };
  }

  /** What a handle of this driver travels as; a handle of no actor of this driver is refused. */
  wireOf(handle: LocalHandle): ActorWire {
    const actor = this.#actors.get(handle.id);
    if (actor === undefined) throw new RayError(`an argument holds a handle to actor ${handle.id} (${handle.name}), which this driver does not know`);
    const wire = { id: actor.gid, name: actor.name, methods: actor.methods, node: actor.node ?? "", incarnation: actor.incarnation, maxTaskRetries: actor.callRetries };
    return handle.streaming === undefined ? wire : { ...wire, streaming: handle.streaming };
  }

  /** The actor number of a handle that came from elsewhere: the same actor's when known here, else a new entry whose calls go to its node. */
  adopt(wire: ActorWire): number {
    const known = this.#actorByGid.get(wire.id);
    if (known !== undefined) {
      // A newer incarnation than this driver heard of (the move's event still on its way).
      if (wire.node !== "" && (wire.incarnation ?? 0) > known.incarnation) this.#place(known, { actorId: wire.id, nodeId: wire.node, incarnation: wire.incarnation ?? 0, maxTaskRetries: wire.maxTaskRetries ?? known.callRetries });
      return known.num;
    }
    return this.#remote(wire).num;
  }

  /** An entry for another driver's (or a node's) actor, last known on `wire.node`. */
  #remote(wire: Pick<ActorWire, "id" | "name" | "methods" | "node" | "incarnation" | "maxTaskRetries">): ActorEntry {
    const actor = this.#actorEntry(nextId(), wire.id, wire.name, wire.methods, false, undefined, 0, wire.maxTaskRetries ?? 0);
    actor.incarnation = wire.incarnation ?? 0;
    if (wire.node === "") actor.dead = "its handle left its owner before the actor was placed";
    else if (this.#host.node(wire.node) !== undefined) actor.node = wire.node;
    else {
      // A node this driver does not know: one that joined a moment ago, or one that died (the handle was made before the actor moved).
      void this.#host.refreshNodes().then(() => {
        if (actor.dead !== undefined || actor.node !== undefined) return;
        if (this.#host.node(wire.node) !== undefined) this.#moveTo(actor, wire.node);
        else this.#followFrom(actor, wire.node);
      });
    }
    return actor;
  }

  kill(actorNum: number, release = true): void {
    const actor = this.#actors.get(actorNum);
    if (actor === undefined || actor.dead !== undefined) return;
    actor.dead = "it was killed";
    if (actor.node !== undefined) {
      this.#host.send(actor.node, { k: "kill", actor: actor.gid });
      if (actor.owned) {
        const node = this.#host.node(actor.node);
        if (node !== undefined) node.inFlight -= 1;
      }
    }
    this.#failInflight(actor);
    // Through any handle, as in Ray: its owner does not restart it, and every holder is told, after the kill is written
    // (the flush is queued first, on the same connection): a holder that hears of it cannot reach the actor first.
    if (release || actor.nameKey !== undefined) queueMicrotask(() => this.#release(actor));
  }

  /**
   * Actors on a node that died restart elsewhere while `maxRestarts` lasts,
   * their unanswered calls sent again while `maxTaskRetries` lasts; the
   * others are dead. Other drivers' actors there are looked for.
   */
  nodeGone(nodeId: string): void {
    for (const actor of this.#actors.values()) {
      if (actor.node !== nodeId || actor.dead !== undefined) continue;
      actor.node = undefined;
      const why = `its node ${nodeId} died`;
      if (!actor.owned) {
        this.#followFrom(actor, nodeId);
        continue;
      }
      if (actor.respawn !== undefined && actor.restartsLeft > 0) {
        try {
          actor.respawn();
          actor.restartsLeft--;
          actor.restarts++;
          actor.incarnation++;
          this.#announce(actor);
        } catch (error) {
          actor.dead = `${why} and it could not be restarted: ${(error as Error).message}`;
        }
      } else {
        actor.dead = `${why} and it was restarted ${actor.restarts} times (maxRestarts)`;
      }
      if (actor.dead !== undefined) this.#release(actor);
      this.#resend(actor, why);
    }
  }

  /** Sends the calls left unanswered to the actor's node while their retries last; the others fail. */
  #resend(actor: ActorEntry, why: string): void {
    for (const [gid, call] of actor.inflight) {
      if (actor.dead === undefined && actor.node !== undefined && call.resent < actor.callRetries) {
        call.resent++;
        this.#host.send(actor.node, call.message);
        continue;
      }
      actor.inflight.delete(gid);
      const reason = actor.dead ?? `${why} while running this call, and the call ran out of retries (maxTaskRetries ${actor.callRetries})`;
      this.#host.objects.settle(call.object, { ok: false, error: errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${reason}`)) });
    }
  }

  /** Tells every driver and node where a restarted actor of this driver lives now. */
  #announce(actor: ActorEntry): void {
    const nodeId = actor.node;
    if (nodeId === undefined) return;
    let named: NamedActorRecord | undefined;
    if (actor.record !== undefined) {
      named = { ...actor.record, nodeId };
      actor.record = named;
      this.#host.names.set(named.name, named);
    }
    const placement: ActorPlacement = { actorId: actor.gid, nodeId, incarnation: actor.incarnation, maxTaskRetries: actor.callRetries, ...(actor.nameKey === undefined ? {} : { name: actor.nameKey }) };
    // After the restart's message is written (the flush is queued first): a call sent on this news finds the actor there.
    queueMicrotask(() =>
      void moveActor(this.#host.plane, placement, named).then(
        (moved) => {
          // Killed through another handle while it restarted: the new incarnation goes too.
          if (!moved && actor.dead === undefined && actor.node === nodeId) this.kill(actor.num, false);
        },
        () => undefined,
      ),
    );
  }

  /** An actor gone for good: its placement (and name) are released everywhere. */
  #release(actor: ActorEntry): void {
    const name = actor.nameKey;
    if (name !== undefined && this.#host.names.get(name)?.actorId === actor.gid) this.#host.names.delete(name);
    void releaseActor(this.#host.plane, actor.gid, name).catch(() => undefined);
  }

  /** Another driver's actor lost its node: its calls wait while the registry tells where it lives now, or that it is gone. */
  #followFrom(actor: ActorEntry, lostNode: string): void {
    actor.node = undefined;
    void this.#follow.relocate(actor.gid, lostNode).then((whereabouts: Whereabouts) => {
      if (actor.dead !== undefined || actor.node !== undefined) return; // killed, or moved by an event meanwhile
      if ("dead" in whereabouts) this.#die(actor, whereabouts.dead);
      else this.#place(actor, whereabouts.placement);
    });
  }

  /** Another driver's actor is known to live at `placement` (unless this driver heard of a later one). */
  #place(actor: ActorEntry, placement: ActorPlacement): void {
    if (actor.dead !== undefined || placement.incarnation < actor.incarnation) return;
    actor.incarnation = placement.incarnation;
    actor.callRetries = placement.maxTaskRetries;
    if (actor.node !== placement.nodeId) this.#moveTo(actor, placement.nodeId);
  }

  /** Another driver's actor now lives on `nodeId`: calls left unanswered go there while their retries last, then the queued ones. */
  #moveTo(actor: ActorEntry, nodeId: string): void {
    actor.node = nodeId;
    this.#resend(actor, "its node died");
    this.#pump(actor);
  }

  #failInflight(actor: ActorEntry): void {
    const error = errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${actor.dead ?? "unknown"}`));
    for (const call of actor.inflight.values()) this.#host.objects.settle(call.object, { ok: false, error });
    actor.inflight.clear();
  }

  #die(actor: ActorEntry, reason: string): void {
    actor.dead = reason;
    this.#failInflight(actor);
    this.#pump(actor);
  }

  /** What the event channel says of an actor: moved (restarted elsewhere) or gone for good. */
  announced(event: ActorEvent): void {
    if (event.kind === "actorNamed") return;
    this.#follow.event(event);
    const actor = this.#actorByGid.get(event.kind === "actorMoved" ? event.actor.actorId : event.actorId);
    if (actor === undefined || actor.dead !== undefined) return;
    if (event.kind === "actorMoved") {
      // While it is looked for, the search settles it (it hears of this move too).
      if (!actor.owned && actor.node !== undefined) this.#place(actor, event.actor);
      return;
    }
    if (!actor.owned) {
      this.#die(actor, "it was killed, or died past its restarts (maxRestarts)");
      return;
    }
    // This driver's actor killed through another handle: never restarted (and killed here too, should that handle not have reached it).
    actor.dead = "it was killed";
    if (actor.node !== undefined) {
      this.#host.send(actor.node, { k: "kill", actor: actor.gid });
      const node = this.#host.node(actor.node);
      if (node !== undefined) node.inFlight -= 1;
    }
    this.#failInflight(actor);
    if (actor.record !== undefined && this.#host.names.get(actor.record.name)?.actorId === actor.gid) this.#host.names.delete(actor.record.name);
  }

  /** How many times actors restarted after node deaths (for tests and the bench). */
  get restarts(): number {
    let total = 0;
    for (const actor of this.#actors.values()) total += actor.restarts;
    return total;
  }

  /** Kills the actors this driver created but detached ones (on shutdown, as a Ray job's end does); stops following others'. */
  killOwned(): void {
    // Unnamed ones need no release one by one: the driver's placements go with its heartbeat key.
    for (const actor of this.#actors.values()) if (actor.owned && !actor.detached) this.kill(actor.num, false);
    this.#follow.stop();
  }
}
