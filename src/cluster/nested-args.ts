/**
 * The arguments of a nested task that leaves its node: small values travel
 * inline; large values, by value or behind a ref, stay on this node, lent
 * under an id of their own that this node serves and names in the object
 * directory, so the receiving node pulls them as it pulls a driver's large
 * arguments. Refs nested inside an argument travel as markers holding
 * their own wires (see nested-refs.ts), so the task gets refs it can `get`
 * there; remote functions travel as their published keys, actor handles
 * as their actors' identities (see actor-wire.ts). A lent copy is freed (here and where it was pulled) once the
 * task settled; a copy lent for a function's capture lives as long as the
 * node.
 */
import { decode } from "../core/codec/serialization.js";
import type { DriverParts } from "../core/runtime/driver-parts.js";
import { ACTOR_KEY, HANDLE_KEY, isBoxed, nestedIds, refId, type Encoded } from "../core/protocol/protocol.js";
import { NESTED_REF, REMOTE_FN } from "./nested-refs.js";
import { actorMarker, type ActorWire, type LocalHandle } from "./actor-wire.js";
import { INLINE_LIMIT, inlineSize, unshare, type ArgWire } from "./wire.js";

/** What lending needs from the node. */
export interface Lender {
  readonly nodeId: string;
  /** Keeps `value` on this node under `id`, served to pullers and named in the object directory; returns its size in bytes. */
  hold(id: string, value: unknown): number;
  /** The published key of one of this node's remote functions, or "" when it cannot leave this node. */
  fnKey(fn: number, parts: DriverParts): string;
  /** What an actor handle of this node's runtime travels as; undefined for one that cannot leave. */
  actorWire(handle: LocalHandle): ActorWire | undefined;
}

/** Why an argument cannot leave this node, or its wire. */
export type WireResult = { readonly wire: ArgWire } | { readonly stays: string };

export class NestedArgs {
  readonly #lender: Lender;
  #lent = 0;

  constructor(lender: Lender) {
    this.#lender = lender;
  }

  /**
   * The wires of a task's arguments; the ids lent for them go to `lent`.
   * A ref at the top level travels as its value (as a local task receives it).
   */
  wires(args: readonly Encoded[], parts: DriverParts, lent: string[]): { readonly wires: ArgWire[]; readonly bytes: number } | { readonly stays: string } {
    const wires: ArgWire[] = [];
    let bytes = 0;
    for (const arg of args) {
      let value: Encoded | undefined = arg;
      const ref = refId(arg);
      if (ref !== undefined) {
        const settled = parts.store.read(ref);
        if (settled?.ok !== true) return { stays: `its argument ${ref} is not ready here` };
        value = settled.value;
      }
      const result = this.wire(value, lent, parts);
      if ("stays" in result) return result;
      if ("r" in result.wire) bytes += result.wire.size;
      wires.push(result.wire);
    }
    return { wires, bytes };
  }

  /** One value's wire; with `lent` undefined a large value is lent for good (a capture). */
  wire(value: Encoded, lent: string[] | undefined, parts: DriverParts): WireResult {
    if (!isBoxed(value)) return { wire: { i: value } };
    if (value.t === "r") return { stays: "an argument is a ref inside a stored value" };
    let stays: string | undefined;
    const nested = nestedIds(value) !== undefined;
    const plain = decode(value, (data) => {
      if (data[HANDLE_KEY] === "fn") {
        // A remote function travels as its published key; the receiving node defines it and rebuilds the handle.
        const key = this.#lender.fnKey(data.id, parts);
        if (key === "") stays ??= `an argument holds remote function ${data.name}, which has a capture that cannot leave this node`;
        return { [REMOTE_FN]: { key, options: data.taskOptions } };
      }
      if (data[HANDLE_KEY] === "actor") {
        // An actor handle travels as the actor's identity (see actor-wire.ts).
        const wire = this.#lender.actorWire(data[ACTOR_KEY]);
        if (wire === undefined) stays ??= `an argument holds a handle to actor ${data[ACTOR_KEY].name}, which lives only on this node`;
        return wire === undefined ? undefined : actorMarker(wire);
      }
      if (data[HANDLE_KEY] !== "ref") {
        stays ??= "an argument holds an actor class";
        return undefined;
      }
      const settled = parts.store.read(data.num);
      if (settled?.ok !== true) {
        stays ??= `a ref nested in an argument (${data.num}) is not ready here`;
        return undefined;
      }
      const inner = this.wire(settled.value, lent, parts);
      if ("stays" in inner) {
        stays ??= inner.stays;
        return undefined;
      }
      return { [NESTED_REF]: inner.wire };
    });
    if (stays !== undefined) return { stays };
    // A value holding refs travels inline (as a driver's does), its large refs as wires of their own.
    if (nested || inlineSize(plain) <= INLINE_LIMIT) return { wire: { i: unshare(plain) } };
    const id = `${this.#lender.nodeId}.n${(this.#lent++).toString(36)}`;
    const size = this.#lender.hold(id, plain);
    lent?.push(id);
    return { wire: { r: id, size, holders: [this.#lender.nodeId] } };
  }
}
