/**
 * The value codec as the rest of the core calls it: each function goes to
 * the {@link Codec} of the calling thread's current runtime, and the
 * stateless helpers come from `codec-values.ts`.
 */
import type { Encoded } from "../protocol/protocol.js";
import type { BlockPool } from "../store/block-pool.js";
import { state } from "../runtime/global-state.js";
import type { Reviver } from "./codec-values.js";

export {
  isHandleData,
  isLargeCopy,
  needsArrow,
  preloadArrow,
  sharedBytes,
  sizeOf,
  type Reviver,
} from "./codec-values.js";
export { Codec } from "./codec.js";

/** Encodes a value for the store or a message; see {@link Codec.encode}. */
export function encode(value: unknown, what: string): Encoded {
  return state.codec.encode(value, what);
}

/** Encodes a value given to `put`, its block from `pool` where it can; see {@link Codec.encodeStored}. */
export function encodeStored(value: unknown, what: string, pool: BlockPool): { value: Encoded; block: SharedArrayBuffer | undefined } {
  return state.codec.encodeStored(value, what, pool);
}

/** Encodes a task argument passed by value; see {@link Codec.encodeArg}. */
export function encodeArg(value: unknown, what: string): Encoded {
  return state.codec.encodeArg(value, what);
}

/** Decodes a stored or received value; see {@link Codec.decode}. */
export function decode(encoded: Encoded, revive: Reviver): unknown {
  return state.codec.decode(encoded, revive);
}

/** Gives back the buffer of a settled by-value argument; see {@link Codec.releaseArg}. */
export function releaseArg(value: Encoded): void {
  state.codec.releaseArg(value);
}

/** Forgets blocks, keeping for reuse those only this thread had; see {@link Codec.recycleBlocks}. */
export function recycleBlocks(ids: readonly number[]): number {
  return state.codec.recycleBlocks(ids);
}

/** Forgets blocks the driver no longer stores; see {@link Codec.evictBlocks}. */
export function evictBlocks(ids: readonly number[]): number {
  return state.codec.evictBlocks(ids);
}
