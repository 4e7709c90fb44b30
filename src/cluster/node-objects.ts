/**
 * The objects a node holds for owners elsewhere: large results and items it
 * made (served to pullers by its object server until the owner frees them),
 * and large arguments it pulled from a holder (pulled once, then held, and
 * listed in the object directory so that later pullers may take them from
 * here). Task arguments arrive as wires: inline values as they are, large
 * ones as refs of the node's store.
 */
import * as api from "../core/api/api.js";
import { ObjectLostError, OwnerDiedError } from "../core/api/errors.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import type { ControlPlane } from "./control-plane.js";
import { pullFromHolders } from "./holders.js";
import { withArrows } from "./arrow-wire.js";
import { holdsMarkers, reviveRefs, type RemoteFnWire } from "./nested-refs.js";
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
}

export class NodeObjects {
  readonly #plane: ControlPlane;
  readonly #nodeId: string;
  readonly #token: string;
  readonly #hooks: ObjectHooks;
  readonly #held = new Map<string, Held>();
  readonly #pulls = new Map<string, Promise<ObjectRef<unknown>>>();

  constructor(plane: ControlPlane, nodeId: string, token: string, hooks: ObjectHooks) {
    this.#plane = plane;
    this.#nodeId = nodeId;
    this.#token = token;
    this.#hooks = hooks;
  }

  /** Argument values: inline ones as they are, large ones as local refs (pulled first when not here). */
  args(args: readonly ArgWire[]): unknown[] | Promise<unknown[]> {
    let async = false;
    const values = args.map((arg): unknown => {
      if ("i" in arg) {
        if (!holdsMarkers(arg.i)) return arg.i;
        async = true;
        // Refs nested in the value become refs of this node's store.
        return reviveRefs(arg.i, (wire) => ("i" in wire ? api.put(wire.i) : this.#local(wire.r, wire.holders)), (wire) => this.#hooks.remoteFunction(wire));
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
      const others = hinted.filter((id) => id !== this.#nodeId);
      return others.length === 1 && others[0] === owner
        ? new OwnerDiedError(`object ${objectId} cannot be reached: its owner ${owner} died, and it held the only copy`)
        : new ObjectLostError(`object ${objectId} was lost: every copy was on a node that died (holders ${others.join(", ") || "none"})`);
    };
    const { value } = await pullFromHolders(this.#plane.redis, objectId, hinted, this.#token, this.#nodeId, lost);
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
    for (const id of ids) this.#held.delete(id);
  }

  /** Drops every object of a dead owner; returns how many there were. */
  dropOwner(owner: string): number {
    let dropped = 0;
    for (const id of [...this.#held.keys()]) {
      if (id.startsWith(`${owner}.`)) {
        this.#held.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  /** An object's bytes for a puller (see object-server.ts); undefined when not held here. */
  async payload(objectId: string): Promise<Payload | undefined> {
    const held = this.#held.get(objectId);
    if (held === undefined) return undefined;
    held.payload ??= toPayload(await api.get(held.ref));
    return held.payload;
  }
}
