/**
 * ObjectRefs nested inside task arguments (an array or plain object holding
 * refs), across machines. The driver replaces each nested ref with a marker
 * carrying the ref's argument wire (its value inline, or where to pull it);
 * the node turns each marker back into a ref of its own store, so the task
 * gets refs it can `get`, as in local mode. The driver pins the nested
 * objects until the task settles, so they outlive the driver's own refs.
 */
import { isObjectRef, type ObjectRef } from "../core/api/object-ref.js";
import { ARROW_VALUE, holdsArrowMarkers, isArrowMarker, reviveArrows, withArrows } from "./arrow-wire.js";
import type { ResolvedTaskOptions } from "../core/protocol/protocol.js";
import type { ArgWire } from "./wire.js";
import { ACTOR_HANDLE, actorMarker, localHandle, markedActor, type ActorWire, type LocalHandle } from "./actor-wire.js";

/** Key of a marker that stands for a nested ref on the wire. */
export const NESTED_REF = "__rayts_nested_ref__";

/** Key of a marker that stands for a remote function on the wire: its published key and its options. */
export const REMOTE_FN = "__rayts_remote_fn__";

/** What a remote function's marker holds. */
export interface RemoteFnWire {
  readonly key: string;
  readonly options: ResolvedTaskOptions;
}

/** How deep inside a value refs are looked for (values nest far less in practice). */
const MAX_DEPTH = 32;

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Every ref in `args`: the arguments that are refs and the refs nested inside arrays and plain objects. */
export function refsIn(args: readonly unknown[]): ObjectRef<unknown>[] {
  const found: ObjectRef<unknown>[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (isObjectRef(value)) {
      found.push(value);
      return;
    }
    if (depth >= MAX_DEPTH) return;
    if (Array.isArray(value)) for (const item of value) walk(item, depth + 1);
    else if (isPlain(value)) for (const key in value) walk(value[key], depth + 1);
  };
  for (const arg of args) walk(arg, 0);
  return found;
}

/** True when `value` (not itself a ref) holds a ref or an actor handle somewhere inside. */
export function holdsRefs(value: unknown): boolean {
  if (typeof value !== "object" || value === null || isObjectRef(value)) return false;
  return holds(value, 0);
}

function holds(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (isObjectRef(value) || localHandle(value) !== undefined) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => holds(item, depth + 1));
  if (isPlain(value)) for (const key in value) if (holds(value[key], depth + 1)) return true;
  return false;
}

/** A copy of `value` with each nested ref replaced by a marker holding `wire(ref)`, and each actor handle by a marker holding `actor(handle)`. */
export function markRefs(value: unknown, wire: (ref: ObjectRef<unknown>) => ArgWire, actor?: (handle: LocalHandle) => ActorWire, depth = 0): unknown {
  if (isObjectRef(value)) return { [NESTED_REF]: wire(value) };
  const handle = actor === undefined ? undefined : localHandle(value);
  if (handle !== undefined) return actorMarker(actor?.(handle) as ActorWire);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => markRefs(item, wire, actor, depth + 1));
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = markRefs(value[key], wire, actor, depth + 1);
    return copy;
  }
  return value;
}

function isMarker(value: unknown): value is { [NESTED_REF]: ArgWire } {
  return isPlain(value) && NESTED_REF in value;
}

function isFnMarker(value: unknown): value is { [REMOTE_FN]: RemoteFnWire } {
  return isPlain(value) && REMOTE_FN in value;
}

/** True when a received value holds markers. */
export function holdsMarkers(value: unknown, depth = 0): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return depth < MAX_DEPTH && value.some((item) => holdsMarkers(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  // Arrow values and remote functions travel as markers of their own (see arrow-wire.ts): found in the same pass.
  if (NESTED_REF in value || ARROW_VALUE in value || REMOTE_FN in value || ACTOR_HANDLE in value) return true;
  if (depth >= MAX_DEPTH) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) if (holdsMarkers(record[key], depth + 1)) return true;
  return false;
}

/** A nested ref's wire with the Arrow values of its inline value rebuilt (apache-arrow loaded already). */
export function inlineArrows(wire: ArgWire): ArgWire {
  return "i" in wire && holdsArrowMarkers(wire.i) ? { i: reviveArrows(wire.i) } : wire;
}

/** `value` with each marker replaced by the ref `toRef` makes of its wire. */
export async function reviveRefs(
  value: unknown,
  toRef: (wire: ArgWire) => ObjectRef<unknown> | Promise<ObjectRef<unknown>>,
  toFn?: (wire: RemoteFnWire) => Promise<unknown>,
  toActor?: (wire: ActorWire) => unknown,
  depth = 0,
): Promise<unknown> {
  if (isMarker(value)) {
    const wire = value[NESTED_REF];
    return toRef("i" in wire ? { i: await withArrows(wire.i) } : wire);
  }
  if (isArrowMarker(value)) return withArrows(value);
  if (toFn !== undefined && isFnMarker(value)) return toFn(value[REMOTE_FN]);
  const actor = toActor === undefined ? undefined : markedActor(value);
  if (actor !== undefined) return toActor?.(actor);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return Promise.all(value.map((item) => reviveRefs(item, toRef, toFn, toActor, depth + 1)));
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = await reviveRefs(value[key], toRef, toFn, toActor, depth + 1);
    return copy;
  }
  return value;
}
