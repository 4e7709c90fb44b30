/**
 * The actors of a cluster driver: each is placed on a node once its
 * constructor's arguments exist, then its calls go to that node in
 * submission order (a call whose arguments are not ready holds back the ones
 * behind it). Named actors are claimed in Redis and found from any driver.
 * When an actor's node dies, the actor restarts on a live node with a fresh
 * state (up to `maxRestarts`), and its calls sent but not answered are sent
 * again (up to `maxTaskRetries` each); past either, `ActorDiedError` names
 * the node. A restarted named actor is announced again (actor-registry.ts):
 * handles other drivers found with `getActor(name)` wait through the
 * restart, then send their calls (and the ones left unanswered, while
 * `maxTaskRetries` lasts) to the new node.
 */
import { ActorDiedError, errorToData, RayError, type ErrorData } from "../core/api/errors.js";
import { nextId, state } from "../core/runtime/global-state.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import { refsIn } from "./nested-refs.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import { DEFAULT_NAMESPACE } from "../core/api/actor-options.js";
import { streamingMethods } from "../core/api/actor.js";
import { actorOwner, claimActorName, moveNamedActor } from "./actor-registry.js";
import type { ClusterEvent, ControlPlane, NamedActorRecord } from "./control-plane.js";
import { driverKey } from "./liveness.js";
import type { NodeEntry } from "./node-table.js";
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
  /** The node it lives on; undefined for a handle of another driver's actor while it restarts. */
  node: string | undefined;
  /** The record it is registered under in the cluster, when named. */
  record: NamedActorRecord | undefined;
  dead: string | undefined;
  /** Creation and calls in submission order. */
  readonly queue: Work[];
  /** Restarts left after a node death, and the retries each call gets. */
  restartsLeft: number;
  readonly callRetries: number;
  /** Places the actor again on a live node (set once it was first placed). */
  respawn: (() => void) | undefined;
  /** Calls sent but not answered, in submission order. */
  readonly inflight: Map<string, { readonly object: OwnedObject; readonly message: ToNode; retriesLeft: number }>;
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

  constructor(host: ActorHost) {
    this.#host = host;
  }


  #actorEntry(num: number, gid: string, name: string, methods: readonly string[], owned: boolean, node: string | undefined, restarts: number, callRetries: number): ActorEntry {
    const actor: ActorEntry = {
      num, gid, name, methods, owned, detached: false, node, record: undefined, dead: undefined, queue: [],
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
        actor.inflight.set(object.gid, { object, message, retriesLeft: actor.callRetries });
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
    const record = this.#host.names.get(namespaced(name, namespace));
    if (record === undefined) return undefined;
    const streaming = record.streaming ?? [];
    const known = this.#actorByGid.get(record.actorId);
    if (known !== undefined) return known.dead === undefined ? { id: known.num, name, methods: known.methods, streaming } : undefined;
    const actor = this.#actorEntry(nextId(), record.actorId, name, record.methods, false, record.nodeId || undefined, 0, record.maxTaskRetries ?? 0);
    actor.record = record;
    return { id: actor.num, name, methods: actor.methods, streaming };
  }

  /** What a handle of this driver travels as; a handle of no actor of this driver is refused. */
  wireOf(handle: LocalHandle): ActorWire {
    const actor = this.#actors.get(handle.id);
    if (actor === undefined) throw new RayError(`an argument holds a handle to actor ${handle.id} (${handle.name}), which this driver does not know`);
    const wire = { id: actor.gid, name: actor.name, methods: actor.methods, node: actor.node ?? "" };
    return handle.streaming === undefined ? wire : { ...wire, streaming: handle.streaming };
  }

  /** The actor number of a handle that came from elsewhere: the same actor's when known here, else a new entry whose calls go to its node. */
  adopt(wire: ActorWire): number {
    const known = this.#actorByGid.get(wire.id);
    if (known !== undefined) return known.num;
    const actor = this.#actorEntry(nextId(), wire.id, wire.name, wire.methods, false, wire.node || undefined, 0, 0);
    if (wire.node === "") actor.dead = "its handle left its owner before the actor was placed";
    return actor.num;
  }

  kill(actorNum: number): void {
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
    for (const [name, record] of this.#host.names) {
      if (record.actorId === actor.gid) {
        this.#host.names.delete(name);
        void this.#host.plane.unnameActor(name, actor.gid);
      }
    }
  }

  /**
   * Actors on a node that died restart elsewhere while `maxRestarts` lasts,
   * their unanswered calls sent again while `maxTaskRetries` lasts; the
   * others are dead.
   */
  nodeGone(nodeId: string): void {
    for (const actor of this.#actors.values()) {
      if (actor.node !== nodeId || actor.dead !== undefined) continue;
      actor.node = undefined;
      const why = `its node ${nodeId} died`;
      if (!actor.owned) {
        this.#awaitRestart(actor, nodeId);
        continue;
      }
      if (actor.respawn !== undefined && actor.restartsLeft > 0) {
        try {
          actor.respawn();
          actor.restartsLeft--;
          actor.restarts++;
          this.#announce(actor);
        } catch (error) {
          actor.dead = `${why} and it could not be restarted: ${(error as Error).message}`;
        }
      } else {
        actor.dead = `${why} and it was restarted ${actor.restarts} times (maxRestarts)`;
      }
      if (actor.dead !== undefined) this.#unname(actor);
      for (const [gid, call] of actor.inflight) {
        if (actor.dead === undefined && call.retriesLeft > 0) {
          call.retriesLeft--;
          this.#host.send(actor.node as unknown as string, call.message);
          continue;
        }
        actor.inflight.delete(gid);
        const reason = actor.dead ?? `${why} while running this call, and the call ran out of retries (maxTaskRetries ${actor.callRetries})`;
        this.#host.objects.settle(call.object, { ok: false, error: errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${reason}`)) });
      }
    }
  }

  /** Tells every driver where a restarted named actor lives now. */
  #announce(actor: ActorEntry): void {
    if (actor.record === undefined || actor.node === undefined) return;
    const record: NamedActorRecord = { ...actor.record, nodeId: actor.node };
    actor.record = record;
    this.#host.names.set(record.name, record);
    // After the restart's message is written (the flush is queued first): a call sent on this news finds the actor there.
    queueMicrotask(() => void moveNamedActor(this.#host.plane, record).catch(() => undefined));
  }

  /** A named actor of this driver died for good: its name is released everywhere. */
  #unname(actor: ActorEntry): void {
    const record = actor.record;
    if (record === undefined) return;
    if (this.#host.names.get(record.name)?.actorId === actor.gid) this.#host.names.delete(record.name);
    void this.#host.plane.unnameActor(record.name, actor.gid).catch(() => undefined);
  }

  /**
   * Another driver's actor lost its node: it waits for its owner to announce
   * the restart (or release its name); one whose owner is gone never comes back.
   */
  #awaitRestart(actor: ActorEntry, deadNode: string): void {
    const record = this.#host.names.get(actor.name);
    if (record?.actorId !== actor.gid) { this.#die(actor, `its node ${deadNode} died and its owner did not restart it`); return; }
    if (record.nodeId !== "" && record.nodeId !== deadNode) { this.#moveTo(actor, record.nodeId); return; }
    const owner = actorOwner(actor.gid);
    void this.#host.plane.redis.exists(driverKey(owner)).then(
      (alive) => {
        if (alive === 0 && actor.node === undefined && actor.dead === undefined) this.#die(actor, `its node ${deadNode} died and its owner ${owner} exited`);
      },
      () => undefined,
    );
  }

  /** Another driver's actor now lives on `nodeId`: calls left unanswered go there while their retries last, then the queued ones. */
  #moveTo(actor: ActorEntry, nodeId: string): void {
    actor.node = nodeId;
    for (const [gid, call] of actor.inflight) {
      if (call.retriesLeft > 0) {
        call.retriesLeft--;
        this.#host.send(nodeId, call.message);
        continue;
      }
      actor.inflight.delete(gid);
      const reason = `its node died while running this call, and the call ran out of retries (maxTaskRetries ${actor.callRetries})`;
      this.#host.objects.settle(call.object, { ok: false, error: errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) restarted: ${reason}`)) });
    }
    this.#pump(actor);
  }

  #die(actor: ActorEntry, reason: string): void {
    actor.dead = reason;
    const error = errorToData(new ActorDiedError(`actor ${actor.name} (${actor.gid}) is dead: ${reason}`));
    for (const call of actor.inflight.values()) this.#host.objects.settle(call.object, { ok: false, error });
    actor.inflight.clear();
    this.#pump(actor);
  }

  /** A named actor was announced again (restarted elsewhere) or released, as the cluster's event channel says. */
  announced(event: Extract<ClusterEvent, { kind: "actorNamed" | "actorGone" }>): void {
    const actor = this.#actorByGid.get(event.kind === "actorNamed" ? event.actor.actorId : event.actorId);
    if (actor === undefined || actor.owned || actor.dead !== undefined) return;
    if (event.kind === "actorGone") { this.#die(actor, "it was killed, or died past its restarts"); return; }
    actor.record = event.actor;
    if (event.actor.nodeId !== "" && event.actor.nodeId !== actor.node) this.#moveTo(actor, event.actor.nodeId);
  }

  /** How many times actors restarted after node deaths (for tests and the bench). */
  get restarts(): number {
    let total = 0;
    for (const actor of this.#actors.values()) total += actor.restarts;
    return total;
  }

  /** Kills the actors this driver created but detached ones (on shutdown, as a Ray job's end does). */
  killOwned(): void {
    for (const actor of this.#actors.values()) if (actor.owned && !actor.detached) this.kill(actor.num);
  }
}
