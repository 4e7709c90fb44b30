/**
 * The actors of a cluster driver: each is placed on a node once its
 * constructor's arguments exist, then its calls go to that node in
 * submission order (a call whose arguments are not ready holds back the ones
 * behind it). Named actors are claimed in Redis and found from any driver.
 */
import { ActorDiedError, errorToData, RayError, type ErrorData } from "../core/errors.js";
import { nextId, state } from "../core/global-state.js";
import type { ObjectRef } from "../core/object-ref.js";
import { refsIn } from "./nested-refs.js";
import type { ResolvedActorOptions } from "../core/options.js";
import type { ControlPlane, NamedActorRecord } from "./control-plane.js";
import type { NodeEntry } from "./node-table.js";
import type { OwnedObject, OwnershipTable } from "./objects.js";
import type { ArgWire, ToNode } from "./wire.js";

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
  node: string | undefined;
  dead: string | undefined;
  /** Creation and calls in submission order. */
  readonly queue: Work[];
}

export class DriverActors {
  readonly #host: ActorHost;
  readonly #actors = new Map<number, ActorEntry>();
  readonly #actorByGid = new Map<string, ActorEntry>();

  constructor(host: ActorHost) {
    this.#host = host;
  }


  #actorEntry(num: number, gid: string, name: string, methods: readonly string[], owned: boolean, node: string | undefined): ActorEntry {
    const actor: ActorEntry = { num, gid, name, methods, owned, node, dead: undefined, queue: [] };
    this.#actors.set(num, actor);
    this.#actorByGid.set(gid, actor);
    return actor;
  }

  /** Sends the actor's queued work in order, stopping at the first whose arguments are not ready. */
  #pump(actor: ActorEntry): void {
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
    if (options.name !== undefined && this.#host.names.has(options.name)) {
      throw new RayError(`an actor named "${options.name}" already exists in the cluster`);
    }
    const num = nextId();
    const actor = this.#actorEntry(num, `${this.#host.driverId}.${num.toString(36)}`, options.name ?? className, methods, true, undefined);
    if (options.name !== undefined) {
      const record: NamedActorRecord = { name: options.name, actorId: actor.gid, nodeId: "", className, methods: [...methods] };
      this.#host.names.set(options.name, record);
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
        const node = this.#host.place(1, options, locality);
        node.inFlight += 1;
        actor.node = node.nodeId;
        this.#host.send(node.nodeId, { k: "actor", id: actor.gid, owner: this.#host.driverId, cls: key, name: className, args: wires, options: { ...options, name: undefined, getIfExists: false }, methods });
        for (const dep of deps) this.#host.objects.unpin(dep);
        if (options.name !== undefined) {
          const record: NamedActorRecord = { name: options.name, actorId: actor.gid, nodeId: node.nodeId, className, methods: [...methods] };
          this.#host.names.set(options.name, record);
          void this.#host.plane.nameActor(record);
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
        this.#host.send(actor.node, { k: "call", id: object.gid, owner: this.#host.driverId, actor: actor.gid, method, args: wires });
      },
    });
    this.#pump(actor);
    return ref;
  }

  getActor(name: string): { id: number; name: string; methods: readonly string[] } | undefined {
    const record = this.#host.names.get(name);
    if (record === undefined) return undefined;
    const known = this.#actorByGid.get(record.actorId);
    if (known !== undefined) return known.dead === undefined ? { id: known.num, name, methods: known.methods } : undefined;
    const actor = this.#actorEntry(nextId(), record.actorId, name, record.methods, false, record.nodeId || undefined);
    return { id: actor.num, name, methods: actor.methods };
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

  /** Actors on a node that left are dead. */
  nodeGone(nodeId: string): void {
    for (const actor of this.#actors.values()) if (actor.node === nodeId) actor.dead ??= `its node ${nodeId} left the cluster`;
  }

  /** Kills the actors this driver created (on shutdown, as a Ray job's end does). */
  killOwned(): void {
    for (const actor of this.#actors.values()) if (actor.owned) this.kill(actor.num);
  }
}
