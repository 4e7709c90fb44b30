/**
 * Actor handles across machines. A handle travels as its identity (the
 * actor's cluster id, name, methods and the node it lives on) inside a
 * marker, as a remote function travels as its published key; the receiving
 * driver or node rebuilds a handle of its own runtime whose calls go to the
 * actor's node (see node-actors.ts for a node, driver-actors.ts for a driver).
 */
import { ACTOR_KEY, HANDLE_KEY } from "../core/protocol/protocol.js";

/** Key of a marker that stands for an actor handle on the wire. */
export const ACTOR_HANDLE = "__rayts_actor_handle__";

/** What an actor handle's marker holds. */
export interface ActorWire {
  /** The actor's id in the cluster. */
  readonly id: string;
  readonly name: string;
  readonly methods: readonly string[];
  readonly streaming?: readonly string[];
  /** The node it lives on ("" while it is not placed yet). */
  readonly node: string;
  /** Its restarts so far, when known (a move the holder hears of later is told apart from an older one). */
  readonly incarnation?: number;
  /** Retries of a call left unanswered by a node death (its `maxTaskRetries`), when known. */
  readonly maxTaskRetries?: number;
}

/** What a handle of a runtime carries: its local actor number and method lists. */
export interface LocalHandle {
  readonly id: number;
  readonly name: string;
  readonly methods: readonly string[];
  readonly streaming?: readonly string[];
}

/** The local data of `value` when it is an actor handle (one property read for any other object). */
export function localHandle(value: unknown): LocalHandle | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record[HANDLE_KEY] !== "actor") return undefined;
  return record[ACTOR_KEY] as LocalHandle | undefined;
}

/** The marker of a handle. */
export function actorMarker(wire: ActorWire): { [ACTOR_HANDLE]: ActorWire } {
  return { [ACTOR_HANDLE]: wire };
}

/** The wire of a received marker, or undefined for any other value. */
export function markedActor(value: unknown): ActorWire | undefined {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  return (value as Record<string, ActorWire | undefined>)[ACTOR_HANDLE];
}
