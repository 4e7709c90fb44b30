/**
 * ObjectRefs nested inside values a task returns, across machines. The node
 * that ran the task replaces each nested ref with a marker carrying the
 * ref's wire: its value inline when small, else an id under which the node
 * holds the value (named after the task's result, so it belongs to the same
 * owner) and serves it like any large result. The owner turns each marker
 * back into a ref it owns; once no ref to it is alive, the owner frees it on
 * its holder, as for any object it owns.
 */
import * as api from "../core/api/api.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import { isObjectRef } from "../core/api/object-ref.js";
import { fromArrowMarker, isArrowMarker } from "./arrow-wire.js";
import { inlineArrows, markRefs, NESTED_REF, refsIn } from "./nested-refs.js";
import { markedActor, type ActorWire, type LocalHandle } from "./actor-wire.js";
import { INLINE_LIMIT, inlineSize, toPayload, unshare, type ArgWire, type Payload } from "./wire.js";

/** How deep inside a value markers are looked for (as nested-refs.ts). */
const MAX_DEPTH = 32;

/**
 * `value` with each nested ref (a ref of this node's store) replaced by a
 * marker; `hold` keeps a large one here under `objectId`-derived ids.
 */
export async function markReturnedRefs(
  value: unknown,
  objectId: string,
  nodeId: string,
  hold: (id: string, ref: ObjectRef<unknown>, payload: Payload) => void,
  actor?: (handle: LocalHandle) => ActorWire,
): Promise<unknown> {
  const refs = [...new Set(refsIn([value]))];
  const values = refs.length === 0 ? [] : await api.get(refs);
  const wires = new Map<ObjectRef<unknown>, ArgWire>();
  refs.forEach((ref, index) => {
    const item = values[index];
    if (inlineSize(item) <= INLINE_LIMIT) {
      wires.set(ref, { i: unshare(item) });
      return;
    }
    const id = `${objectId}:${index.toString(36)}`;
    const payload = toPayload(item);
    hold(id, ref, payload);
    wires.set(ref, { r: id, size: payload.bytes.byteLength, holders: [nodeId] });
  });
  return markRefs(value, (ref) => wires.get(ref) as ArgWire, actor);
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** `value` with each marker replaced, in place of a copy, by the ref `toRef` makes of its wire (synchronously), and each Arrow marker by its value. */
export function reviveReturnedRefs(value: unknown, toRef: (wire: ArgWire) => ObjectRef<unknown>, toActor?: (wire: ActorWire) => unknown, depth = 0): unknown {
  if (isPlain(value) && NESTED_REF in value) return toRef(inlineArrows(value[NESTED_REF] as ArgWire));
  if (isArrowMarker(value)) return fromArrowMarker(value);
  const actor = toActor === undefined ? undefined : markedActor(value);
  if (actor !== undefined) return toActor?.(actor);
  if (depth >= MAX_DEPTH || isObjectRef(value)) return value;
  if (Array.isArray(value)) return value.map((item) => reviveReturnedRefs(item, toRef, toActor, depth + 1));
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = reviveReturnedRefs(value[key], toRef, toActor, depth + 1);
    return copy;
  }
  return value;
}
