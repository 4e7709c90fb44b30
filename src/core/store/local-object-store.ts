/**
 * The bytes of the objects held on this node, and their capacity: what the
 * runtime asks of its object store. object-store.ts is the in-process
 * implementation (values in memory, large ones in shared blocks); reference
 * counts sit in the same entries for speed, and are reached through the
 * {@link OwnershipTable} (ownership.ts).
 */
import type { ErrorData } from "../api/errors.js";
import type { ObjectStoreStats, Settled } from "./object-store.js";
import type { Encoded } from "../protocol/protocol.js";
import type { BlockPool } from "./block-pool.js";

/** One stored object as the state API shows it. */
export interface StoredObject {
  readonly id: number;
  readonly bytes: number;
  readonly status: "pending" | "ready" | "error";
  readonly refCount: number;
}

/** Objects of this node: pending until settled, then a value or an error. */
export interface LocalObjectStore {
  readonly capacity: number;
  readonly bytesUsed: number;
  /** True when `bytes` more fit now. */
  fits(bytes: number): boolean;
  /** Registers an object whose value comes later, with `count` references. */
  expect(id: number, count: number): void;
  /**
   * Stores a value now, with `count` references; throws when it cannot fit.
   * `block`: the block the value was just copied into, seen by nothing else
   * (kept in {@link blocks} when the object is freed unread).
   */
  put(id: number, value: Encoded, count: number, block?: SharedArrayBuffer): void;
  /** Gives an expected object its value (`block` as for {@link put}); throws when it cannot fit. */
  fill(id: number, value: Encoded, block?: SharedArrayBuffer): void;
  /** Blocks of freed `put` values that nothing else saw, for the next `put`. */
  readonly blocks: BlockPool;
  /** Settles an expected object with a value or an error. */
  settle(id: number, settled: Settled): void;
  /** The settled outcome, or undefined while pending. */
  peek(id: number): Settled | undefined;
  /** True while the object is known (pending or settled). */
  has(id: number): boolean;
  /** Throws for an id the store does not know (a ref used after it was freed). */
  checkKnown(ids: readonly number[]): void;
  /** Calls `waiter` once the object settles; returns false when it already has. */
  onSettled(id: number, waiter: (settled: Settled) => void): boolean;
  /**
   * Calls `done` once `needed` of `ids` have settled, or at `timeout` ms with
   * the count so far. With `values` (for `get`), spilled objects count once
   * read back; without (for `wait`), as they are.
   */
  whenSettled(ids: readonly number[], needed: number, timeout: number | undefined, done: (count: number) => void, values?: boolean): void;
  /** The settled state of an object known to be ready; one spilled since is read back from disk at once. */
  read(id: number): Settled | undefined;
  /** True once the object has a value or an error, in memory or on disk. */
  isReady(id: number): boolean;
  /** Pending tasks pin (`delta` 1) and unpin (-1) their arguments: a reference that also keeps them in memory. */
  pin(ids: readonly number[], delta: number): void;
  /** Calls `then` once `bytes` more fit, after collecting and spilling. */
  whenRoom(bytes: number, then: () => void): void;
  /** Bytes that values waiting for room may take beyond the capacity: what spilling may still put on disk. */
  readonly spillRoom: number;
  /** What spilling could not do, for an ObjectStoreFullError message ("" without spilling). */
  spillLimits(): string;
  /** Removes every spill file (shutdown). */
  close(): void;
  stats(): ObjectStoreStats;
  entries(): Iterable<StoredObject>;
  /** Fails every pending object (at shutdown). */
  failPending(error: ErrorData): void;
  /** Called with each object's id and size as it leaves the store (set while the runtime is observed). */
  onFreed: ((id: number, bytes: number) => void) | undefined;
}
