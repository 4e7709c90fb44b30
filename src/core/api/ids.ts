/**
 * Public ids. An object, task or actor is named by an opaque string: the
 * random tag of the runtime that made it, then its number in that runtime
 * (`"3f09c2a1b7d4:42"`). Ids are unique across runtimes and nodes, and a
 * program must not read meaning into them beyond equality. Inside the core,
 * objects travel by their number alone, which is cheaper to hash and send.
 */

import { RayError } from "./errors.js";

/**
 * Where an ObjectRef keeps the tag of the runtime that made it. A symbol
 * key: structured clone leaves it behind, and the receiving thread (always
 * of the same runtime) sets its own.
 */
export const REF_OWNER = Symbol.for("rayts.refOwner");

/** The id of an object (and of the task whose result it is): see {@link ObjectRef.id}. */
export type ObjectId = string & { readonly __brand: "ObjectId" };
/** The id of an actor: see `ActorHandle.actorId`. */
export type ActorId = string & { readonly __brand: "ActorId" };
/** The id of a task: the id of the object that holds its (first) result. */
export type TaskId = ObjectId;

/** The public id of number `num` in the runtime tagged `tag`. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names which branded id the string is
export function formatId<I extends ObjectId | ActorId>(tag: string, num: number): I {
  return `${tag}:${num}` as I;
}

/** Orders ids by runtime tag, then by number (submission order within a runtime). */
export function compareIds(a: string, b: string): number {
  const x = parseId(a);
  const y = parseId(b);
  if (x === undefined || y === undefined) return a < b ? -1 : a > b ? 1 : 0;
  return x.tag < y.tag ? -1 : x.tag > y.tag ? 1 : x.num - y.num;
}

/** The runtime tag and number of a public id, or undefined when `id` is not one. */
export function parseId(id: unknown): { readonly tag: string; readonly num: number } | undefined {
  if (typeof id !== "string") return undefined;
  const match = /^([0-9a-f]{12}):(\d+)$/.exec(id);
  if (match === null) return undefined;
  return { tag: match[1] as string, num: Number(match[2]) };
}

/**
 * The number of a ref (an ObjectRef, or one as data) in the runtime tagged
 * `tag`. Throws a RayError naming `what` for a ref made by another runtime
 * (one that was shut down): its number may name another object here.
 */
export function refNum(ref: { readonly num: number; readonly [REF_OWNER]?: string }, tag: string, what: string): number {
  const owner = ref[REF_OWNER];
  if (owner !== undefined && owner !== tag) {
    throw new RayError(`${what} ObjectRef(${formatId(owner, ref.num)}) was made by a runtime that was shut down; its object went with that runtime`);
  }
  return ref.num;
}

/**
 * Where an actor handle keeps the tag of the runtime it was made in (a
 * symbol key, left behind by structured clone, as {@link REF_OWNER}).
 */
export const ACTOR_OWNER = Symbol.for("rayts.actorOwner");

/**
 * Refuses an actor handle made by another runtime (one that was shut down):
 * its actor number may name another actor here. `what` names the use.
 */
export function checkActorOwner(handle: object, actor: number, tag: string, what: string): void {
  const owner = (handle as { readonly [ACTOR_OWNER]?: unknown })[ACTOR_OWNER];
  if (typeof owner === "string" && owner !== tag) {
    throw new RayError(`${what} actor handle ActorId(${formatId(owner, actor)}) was made by a runtime that was shut down; its actor went with that runtime`);
  }
}

