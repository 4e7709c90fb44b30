/**
 * The objects a node holds for owners elsewhere: large results and items it
 * made (served to pullers by its object server until the owner frees them),
 * and large arguments it pulled from a holder (pulled once, then held, and
 * listed in the object directory so that later pullers may take them from
 * here). While a pull is in progress, the ranges already in place are
 * served too (fan-out, see holders.ts), unless `RAYTS_OBJECT_FANOUT=0`.
 * Task arguments arrive as wires: inline values as they are, large ones as
 * refs of the node's store.
 */
import * as api from "../core/api/api.js";
import { ObjectLostError, OwnerDiedError } from "../core/api/errors.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import type { ControlPlane } from "./control-plane.js";
import { MemoryPressure } from "../core/store/collector.js";
import { withArrows } from "./arrow-wire.js";
import { pullFromHolders, SERVED } from "./holders.js";
import { PartialCopy } from "./partial-copy.js";
import { holdsMarkers, reviveRefs, type RemoteFnWire } from "./nested-refs.js";
import type { ActorWire } from "./actor-wire.js";
import { toPayload, type ArgWire, type Payload } from "./wire.js";

interface Held {
  readonly ref: ObjectRef<unknown>;
  payload: Payload | undefined;
}

/** What the objects ask of the node. */
export interface ObjectHooks {
  /** Objects of `owner` are held here: watch it (see owner-watch.ts). */
  seen(owner: string): void;
  /** This node holds `id` now: list it in the object directory. */
  located(id: string): void;
  /** A remote function that came as an argument, defined here (see nested-args.ts). */
  remoteFunction(wire: RemoteFnWire): Promise<unknown>;
  /** An actor handle that came as an argument, as a handle of this node's runtime (see node-actors.ts). */
  remoteActor(wire: ActorWire): unknown;
}

export class NodeObjects {
  readonly #plane: ControlPlane;
  readonly #nodeId: string;
  readonly #token: string;
  readonly #hooks: ObjectHooks;
  readonly #held = new Map<string, Held>();
  readonly #pulls = new Map<string, Promise<ObjectRef<unknown>>>();
  /** Copies still being pulled, served to other pullers meanwhile. */
  readonly #partial = new Map<string, PartialCopy>();
  readonly #fanOut: boolean;
  /**
   * A dropped ref frees its object only when collected, and an idle node
   * has no reason to collect: the owner's free asks for a collection
   * (paced by what the last one cost), so the node's memory comes back.
   */
  readonly #freed = new MemoryPressure(1, "full");

  constructor(plane: ControlPlane, nodeId: string, token: string, hooks: ObjectHooks) {
    this.#plane = plane;
    this.#nodeId = nodeId;
    this.#token = token;
    this.#hooks = hooks;
    this.#fanOut = fanOutEnabled();
  }

  /** Argument values: inline ones as they are, large ones as local refs (pulled first when not here). */
  args(args: readonly ArgWire[]): unknown[] | Promise<unknown[]> {
    let async = false;
    const values = args.map((arg): unknown => {
      if ("i" in arg) {
        if (!holdsMarkers(arg.i)) return arg.i;
        async = true;
        // Refs nested in the value become refs of this node's store.
        return reviveRefs(arg.i, (wire) => ("i" in wire ? api.put(wire.i) : this.#local(wire.r, wire.holders)), (wire) => this.#hooks.remoteFunction(wire), (wire) => this.#hooks.remoteActor(wire));
      }
      async = true;
      return this.#local(arg.r, arg.holders);
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the map callback above
    if (!async) return values;
    const all = Promise.all(values);
    // A caller may drop this promise and ask again (the pulls are shared): its failure must not go unhandled.
    all.catch(() => undefined);
    return all;
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
      const others = hinted.filter((id) => id !== this.#nodeId);
      return others.length === 1 && others[0] === owner
        ? new OwnerDiedError(`object ${objectId} cannot be reached: its owner ${owner} died, and it held the only copy`)
        : new ObjectLostError(`object ${objectId} was lost: every copy was on a node that died (holders ${others.join(", ") || "none"})`);
    };
    // Registered before joining the pullers, so that a puller that learns of this node finds the copy here.
    const copy = this.#fanOut ? new PartialCopy(objectId) : undefined;
    if (copy !== undefined) this.#partial.set(objectId, copy);
    let value: unknown;
    try {
      ({ value } = await pullFromHolders(this.#plane.redis, objectId, hinted, this.#token, this.#nodeId, lost, copy));
    } catch (error) {
      copy?.fail(error instanceof Error ? error : new Error(String(error))); // readers of the copy stop waiting
      throw error;
    } finally {
      if (this.#partial.get(objectId) === copy) this.#partial.delete(objectId);
    }
    const ref = api.put(await withArrows(value));
    this.#held.set(objectId, { ref, payload: undefined });
    this.#hooks.seen(owner);
    // A holder from now on: later pullers may take it from here.
    await this.#plane.addLocation(objectId, this.#nodeId);
    return ref;
  }

  /** Keeps a large value here for `owner` under `id` (served to pullers, freed by the owner). */
  hold(owner: string, id: string, ref: ObjectRef<unknown>, payload: Payload): void {
    this.#held.set(id, { ref, payload });
    this.#hooks.seen(owner);
    this.#hooks.located(id);
  }

  /** The owner freed these objects. */
  free(ids: readonly string[]): void {
    let dropped = false;
    for (const id of ids) dropped = this.#held.delete(id) || dropped;
    if (dropped) this.#freed.request();
  }

  /** Drops every object of a dead owner; returns how many there were. */
  dropOwner(owner: string): number {
    const dropped: string[] = [];
    for (const id of [...this.#held.keys()]) {
      if (id.startsWith(`${owner}.`)) {
        this.#held.delete(id);
        dropped.push(id);
      }
    }
    if (dropped.length > 0) {
      this.#freed.request();
      // The owner that would have dropped their directory entries is gone (every holder may do it: DEL is idempotent).
      void this.#plane.dropLocations(dropped).catch(() => undefined);
    }
    return dropped.length;
  }

  /** An object's bytes for a puller (see object-server.ts), or its copy still being pulled; undefined when neither is here. */
  async payload(objectId: string): Promise<Payload | PartialCopy | undefined> {
    const held = this.#held.get(objectId);
    if (held === undefined) return this.#partial.get(objectId);
    held.payload ??= toPayload(await api.get(held.ref));
    return held.payload;
  }

  /** The object server sent `bytes` (`partial`: from a copy still being pulled): counted in the cluster's stats. */
  served(bytes: number, partial: boolean): void {
    if (bytes === 0) return;
    const pipeline = this.#plane.redis.pipeline().hincrby(SERVED, this.#nodeId, bytes);
    if (partial) pipeline.hincrby(SERVED, `${this.#nodeId}:partial`, bytes);
    void pipeline.exec().catch(() => undefined);
  }
}

/** Whether this process serves the objects it is still pulling (`RAYTS_OBJECT_FANOUT`, default on). */
export function fanOutEnabled(): boolean {
  const text = process.env["RAYTS_OBJECT_FANOUT"];
  if (text === undefined || text === "" || text === "1") return true;
  if (text === "0") return false;
  throw new RangeError(`Expected the environment variable RAYTS_OBJECT_FANOUT to be "1" (serve objects while pulling them) or "0" (only once pulled), got "${text}"`);
}
