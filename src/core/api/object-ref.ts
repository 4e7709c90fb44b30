import { state } from "../runtime/global-state.js";
import { formatId, refNum, REF_OWNER, type ObjectId } from "./ids.js";
import { HANDLE_KEY } from "../protocol/protocol.js";

/**
 * A future for an immutable value in the object store, returned at once by
 * `.remote()` and `put()`. Pass it to `get`, `wait`, or as an argument to
 * another task (a top-level ref argument is resolved to its value before the
 * task runs). The object lives while a ref to it, or a task needing it, does.
 *
 * @example
 * const ref: ObjectRef<number> = square.remote(3);
 * await ray.get(ref); // 9
 */
export class ObjectRef<T = unknown> {
  /** Marks the ref so it survives a structured clone as a ref. */
  readonly [HANDLE_KEY] = "ref" as const;
  /** @internal The object's number in its runtime; the core's handle for it. */
  readonly num: number;
  /** @internal */
  readonly [REF_OWNER]: string;
  /** Type carrier only; never set. */
  declare readonly __value?: T;

  /** @internal Refs are made by the runtime (`.remote()`, `put`). */
  constructor(num: number) {
    this.num = num;
    this[REF_OWNER] = state.tag;
  }

  /** The object's id: opaque, unique across runtimes and nodes. */
  get id(): ObjectId {
    return formatId<ObjectId>(this[REF_OWNER], this.num);
  }

  toString(): string {
    return `ObjectRef(${this.id})`;
  }
}

/** True for an ObjectRef from any copy of the rayts module. */
export function isObjectRef(value: unknown): value is ObjectRef<unknown> {
  return typeof value === "object" && value !== null && (value as { [HANDLE_KEY]?: unknown })[HANDLE_KEY] === "ref";
}

/** The ref's number in this thread's runtime; a RayError for a ref of a runtime that was shut down. */
export function currentNum(ref: ObjectRef<unknown>, what: string): number {
  return refNum(ref, state.tag, what);
}
