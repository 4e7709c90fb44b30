/**
 * The driver's object store: one entry per object id, holding the encoded
 * value (binary payloads live in SharedArrayBuffers that workers map without
 * copying), the error of a failed task, or the callbacks waiting for it.
 *
 * Lifetime is reference counted. An entry's `count` is the number of
 *   - live ObjectRef instances in the driver (released by a
 *     FinalizationRegistry when the instance is collected),
 *   - pins held by pending tasks that take the object as an argument,
 *   - borrows by workers that hold a ref to it,
 *   - stored objects that contain a ref to it.
 * When the count reaches zero and the value is known, the entry is dropped;
 * the SharedArrayBuffer is then unreachable and V8 frees it.
 */
import { ObjectStoreFullError, RayError, type ErrorData } from "./errors.js";
import { nestedIds, type Encoded } from "./protocol.js";
import type { MemoryPressure } from "./collector.js";
import { sharedBytes, sizeOf } from "./serialization.js";

export type Settled = { readonly ok: true; readonly value: Encoded } | { readonly ok: false; readonly error: ErrorData };
type Waiter = (settled: Settled) => void;

interface Entry {
  count: number;
  settled: Settled | undefined;
  /** One waiter as itself (the common case allocates nothing), several in an array. */
  waiters: Waiter | Waiter[] | undefined;
  size: number;
}

export interface ObjectStoreStats {
  /** Objects held now (values, errors and pending results). */
  readonly numObjects: number;
  /** Bytes of values held now. */
  readonly bytesUsed: number;
  /** Capacity, `objectStoreMemory`. */
  readonly capacity: number;
  /** `put` calls so far (including captures put by compiled code). */
  readonly putCount: number;
  /** Objects freed because nothing could reach them any more. */
  readonly freedCount: number;
}

/** Entries created between two collections asked for because of the entry count alone. */
const MIN_GROWTH = 10_000;

export class ObjectStore {
  readonly #entries = new Map<number, Entry>();
  readonly #capacity: number;
  #bytesUsed = 0;
  #putCount = 0;
  #freedCount = 0;

  /**
   * Entry count at which a collection is asked for. Small objects cost the
   * collector little, so V8 may not run a full collection for a long time
   * while dropped refs keep their entries alive: each time the store has
   * grown by half again (at least MIN_GROWTH entries) a collection is asked
   * for, so the count stays proportional to what the program holds.
   */
  #nextCheck = MIN_GROWTH;

  readonly #onDrop: (value: Encoded) => void;
  readonly #pressure: MemoryPressure | undefined;

  /**
   * `onDrop` hears of every value the store lets go; `pressure` of the
   * shared bytes of every value stored (their refs are freed by the
   * collector, which does not see shared memory).
   */
  constructor(capacity: number, onDrop: (value: Encoded) => void, pressure?: MemoryPressure) {
    this.#capacity = capacity;
    this.#onDrop = onDrop;
    this.#pressure = pressure;
  }

  get bytesUsed(): number {
    return this.#bytesUsed;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Creates the entry of an object that a task will produce. */
  expect(id: number, count: number): void {
    this.#entries.set(id, { count, settled: undefined, waiters: undefined, size: 0 });
    if (this.#entries.size >= this.#nextCheck) this.#grown();
  }

  #grown(): void {
    const size = this.#entries.size;
    this.#nextCheck = size + Math.max(MIN_GROWTH, size >> 1);
    this.#pressure?.request();
  }

  /** Stores a value given by `put`; throws ObjectStoreFullError when it does not fit. */
  put(id: number, value: Encoded, count: number): void {
    this.#reserve(sizeOf(value), `put of object ${id}`);
    this.#putCount++;
    this.#entries.set(id, { count, settled: undefined, waiters: undefined, size: 0 });
    if (this.#entries.size >= this.#nextCheck) this.#grown();
    this.settle(id, { ok: true, value });
  }

  /** Stores the value of an object made pending by {@link expect}, counted as a put; throws ObjectStoreFullError when it does not fit. */
  fill(id: number, value: Encoded): void {
    this.#reserve(sizeOf(value), `put of object ${id}`);
    this.#putCount++;
    this.settle(id, { ok: true, value });
  }

  /** Settles an object with its value or error, and wakes its waiters. Unknown ids are ignored. */
  settle(id: number, settled: Settled): void {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.settled !== undefined) return;
    if (settled.ok) {
      entry.size = sizeOf(settled.value);
      this.#bytesUsed += entry.size;
      this.#pressure?.add(sharedBytes(settled.value));
      const ids = nestedIds(settled.value);
      if (ids !== undefined) this.addRefs(ids, 1);
    }
    entry.settled = settled;
    const waiters = entry.waiters;
    entry.waiters = undefined;
    if (typeof waiters === "function") waiters(settled);
    else if (waiters !== undefined) for (const waiter of waiters) waiter(settled);
    if (entry.count <= 0) this.#drop(id, entry);
  }

  /**
   * Throws ObjectStoreFullError when `bytes` more would not fit. Task results
   * are checked by the caller before settling, so a full store fails the
   * task rather than the driver.
   */
  #reserve(bytes: number, what: string): void {
    if (this.#bytesUsed + bytes > this.#capacity) {
      throw new ObjectStoreFullError(
        `${what} needs ${bytes} bytes but the object store holds ${this.#bytesUsed} of ${this.#capacity}; ` +
          "free refs you no longer need or raise init({ objectStoreMemory })",
      );
    }
  }

  /** True when a value of this many bytes fits now. */
  fits(bytes: number): boolean {
    return this.#bytesUsed + bytes <= this.#capacity;
  }

  /** The settled state, or undefined while pending (or unknown). */
  peek(id: number): Settled | undefined {
    return this.#entries.get(id)?.settled;
  }

  /** How many holders an object has (0 for an unknown id). */
  count(id: number): number {
    return this.#entries.get(id)?.count ?? 0;
  }

  has(id: number): boolean {
    return this.#entries.has(id);
  }

  /** Calls `waiter` once the object settles (at once when it has). Returns false for an unknown id. */
  onSettled(id: number, waiter: Waiter): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    if (entry.settled !== undefined) waiter(entry.settled);
    else if (entry.waiters === undefined) entry.waiters = waiter;
    else if (typeof entry.waiters === "function") entry.waiters = [entry.waiters, waiter];
    else entry.waiters.push(waiter);
    return true;
  }

  /** Removes a waiter registered with {@link onSettled} (on timeout). */
  offSettled(id: number, waiter: Waiter): void {
    const entry = this.#entries.get(id);
    const waiters = entry?.waiters;
    if (entry === undefined || waiters === undefined) return;
    if (waiters === waiter) entry.waiters = undefined;
    else if (typeof waiters !== "function") {
      const index = waiters.indexOf(waiter);
      if (index >= 0) waiters.splice(index, 1);
    }
  }

  addRef(id: number, delta: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.count += delta;
    if (entry.count <= 0 && entry.settled !== undefined) this.#drop(id, entry);
  }

  addRefs(ids: readonly number[], delta: number): void {
    for (const id of ids) this.addRef(id, delta);
  }

  /** Called with each object the store drops (set by the runtime while it is observed). */
  onFreed: ((id: number, bytes: number) => void) | undefined;

  #drop(id: number, entry: Entry): void {
    this.#entries.delete(id);
    const size = this.#entries.size;
    // Measured from what is left once a collection has freed the dead.
    if (size + MIN_GROWTH < this.#nextCheck) this.#nextCheck = size + Math.max(MIN_GROWTH, size >> 1);
    this.#bytesUsed -= entry.size;
    this.#freedCount++;
    this.onFreed?.(id, entry.size);
    if (entry.settled?.ok !== true) return;
    const ids = nestedIds(entry.settled.value);
    if (ids !== undefined) this.addRefs(ids, -1);
    this.#onDrop(entry.settled.value);
  }

  /** Throws a RayError naming the first id the store does not know. */
  checkKnown(ids: readonly number[]): void {
    for (const id of ids) {
      if (!this.has(id)) throw new RayError(`object ${id} does not exist in this runtime (was it made before a shutdown?)`);
    }
  }

  /**
   * Calls `done(settledCount)` once `needed` of the ids have settled, or at
   * the timeout with however many have (at once for a timeout of 0).
   */
  whenSettled(ids: readonly number[], needed: number, timeout: number | undefined, done: (count: number) => void): void {
    let count = 0;
    const pending: number[] = [];
    this.checkKnown(ids);
    for (const id of ids) {
      if (this.peek(id) !== undefined) count++;
      else pending.push(id);
    }
    if (count >= needed || timeout === 0) return done(count);
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const onSettled = (): void => {
      if (finished || ++count < needed) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const id of pending) this.offSettled(id, onSettled);
      done(count);
    };
    for (const id of pending) this.onSettled(id, onSettled);
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        if (finished) return;
        finished = true;
        for (const id of pending) this.offSettled(id, onSettled);
        done(count);
      }, timeout);
    }
  }

  /** Every entry, for the memory view: id, bytes, status and reference count. */
  *entries(): IterableIterator<{ id: number; bytes: number; status: "pending" | "ready" | "error"; refCount: number }> {
    for (const [id, entry] of this.#entries) {
      yield { id, bytes: entry.size, status: entry.settled === undefined ? "pending" : entry.settled.ok ? "ready" : "error", refCount: entry.count };
    }
  }

  stats(): ObjectStoreStats {
    return {
      numObjects: this.#entries.size,
      bytesUsed: this.#bytesUsed,
      capacity: this.#capacity,
      putCount: this.#putCount,
      freedCount: this.#freedCount,
    };
  }

  /** Fails every pending object (shutdown). */
  failPending(error: ErrorData): void {
    for (const [id, entry] of this.#entries) if (entry.settled === undefined) this.settle(id, { ok: false, error });
  }
}
