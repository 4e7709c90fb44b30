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
 *
 * The block of a value given to `put` goes back to the store's
 * {@link BlockPool} when the object is freed, if nothing ever had the value
 * from the store (no read, no lend to a worker, no spill): every way out of
 * the store ({@link peek}, {@link read}, waiters, the spiller) forgets that
 * the block is the store's alone.
 *
 * Past a high-water mark, values in shared memory may be spilled to disk
 * (see spill.ts): the entry then has no value in memory (`settled` is
 * undefined, `file` names its bytes) and reads as pending to {@link peek}
 * until it is read back; {@link isReady} and `wait` count it as ready.
 */
import { ObjectStoreFullError, RayError, type ErrorData } from "../api/errors.js";
import { nestedIds, type Encoded } from "../protocol/protocol.js";
import { BlockPool, storePoolBytes } from "./block-pool.js";
import type { MemoryPressure } from "./collector.js";
import { sharedBytes, sizeOf } from "../codec/serialization.js";
import { NO_SPILLS, Spiller, spillBytes, type SpillConfig, type SpillFile, type SpillStats } from "./spill.js";

export type Settled = { readonly ok: true; readonly value: Encoded } | { readonly ok: false; readonly error: ErrorData };
type Waiter = (settled: Settled) => void;

interface Entry {
  count: number;
  settled: Settled | undefined;
  /** One waiter as itself (the common case allocates nothing), several in an array. */
  waiters: Waiter | Waiter[] | undefined;
  size: number;
  /** Pins by pending tasks (also counted in `count`): a pinned object is not spilled. */
  pins: number;
  /** Its bytes on disk, once spilled (kept after a read back: spilling it again writes nothing). */
  file: SpillFile | undefined;
  /** Its value is on disk only. */
  spilled: boolean;
  /** The value's block, while nothing but the store has had the value (see {@link ObjectStore}). */
  block: SharedArrayBuffer | undefined;
}

export interface ObjectStoreStats extends SpillStats {
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
  /** Objects whose value is on disk only now. */
  readonly numSpilled: number;
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
  /** Objects in memory that could be spilled, least recently used first (a read moves one to the end). */
  readonly #resident = new Map<number, Entry>();
  #numSpilled = 0;
  /** Entries pinned by pending tasks. */
  #pinned = 0;
  readonly #spiller: Spiller | undefined;
  /** Blocks of freed `put` values that nothing else saw, for the next `put`. */
  readonly blocks: BlockPool;

  /**
   * `onDrop` hears of every value the store lets go; `pressure` of the
   * shared bytes of every value stored (their refs are freed by the
   * collector, which does not see shared memory).
   */
  constructor(capacity: number, onDrop: (value: Encoded) => void, pressure?: MemoryPressure, spilling?: SpillConfig) {
    this.#capacity = capacity;
    this.#onDrop = onDrop;
    this.#pressure = pressure;
    this.blocks = new BlockPool(storePoolBytes(capacity));
    if (spilling === undefined) return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below runs with the object literal as `this`
    const store = this;
    const entries = this.#entries;
    const resident = this.#resident;
    this.#spiller = new Spiller(
      {
        capacity,
        get bytesUsed() {
          return store.#bytesUsed;
        },
        *coldest() {
          for (const [id, entry] of resident) if (entry.pins === 0) yield id;
        },
        resident: (id) => {
          const entry = resident.get(id);
          if (entry !== undefined) entry.block = undefined;
          return entry?.settled?.ok === true ? { value: entry.settled.value, file: entry.file } : undefined;
        },
        release: (id, file) => this.#release(id, file),
        restored: (id, value) => {
          const entry = entries.get(id);
          if (entry === undefined || !entry.spilled) return;
          this.#unspill(id, entry, value);
          this.#wake(entry, entry.settled as Settled);
        },
        restoreFailed: (id, error) => {
          const entry = entries.get(id);
          if (entry !== undefined && entry.spilled) this.#wake(entry, { ok: false, error });
        },
        pinned: () => this.#pinned > 0,
      },
      spilling,
    );
  }

  /** A spilled object's file now holds its bytes: let its memory go unless a task pinned it meanwhile. */
  #release(id: number, file: SpillFile): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.settled?.ok !== true) return false;
    entry.file = file;
    if (entry.pins > 0) return true;
    const value = entry.settled.value;
    this.#resident.delete(id);
    entry.settled = undefined;
    entry.spilled = true;
    this.#numSpilled++;
    this.#bytesUsed -= entry.size;
    // Worker threads forget the block as they do when the object is freed.
    this.#onDrop(value);
    return true;
  }

  /** A spilled object's value is in memory again. */
  #unspill(id: number, entry: Entry, value: Encoded): void {
    entry.spilled = false;
    this.#numSpilled--;
    entry.settled = { ok: true, value };
    this.#bytesUsed += entry.size;
    this.#resident.set(id, entry);
  }

  #wake(entry: Entry, settled: Settled): void {
    const waiters = entry.waiters;
    if (waiters === undefined) return;
    entry.waiters = undefined;
    entry.block = undefined;
    if (typeof waiters === "function") waiters(settled);
    else for (const waiter of waiters) waiter(settled);
  }

  get bytesUsed(): number {
    return this.#bytesUsed;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Creates the entry of an object that a task will produce. */
  expect(id: number, count: number): void {
    this.#entries.set(id, { count, settled: undefined, waiters: undefined, size: 0, pins: 0, file: undefined, spilled: false, block: undefined });
    if (this.#entries.size >= this.#nextCheck) this.#grown();
  }

  #grown(): void {
    const size = this.#entries.size;
    this.#nextCheck = size + Math.max(MIN_GROWTH, size >> 1);
    this.#pressure?.request();
  }

  /**
   * Stores a value given by `put`; throws ObjectStoreFullError when it does
   * not fit. `block`: the value's block, made for it and seen by nothing
   * else yet (it returns to {@link blocks} if nothing reads the value).
   */
  put(id: number, value: Encoded, count: number, block?: SharedArrayBuffer): void {
    this.#reserve(sizeOf(value), `put of object ${id}`);
    this.#putCount++;
    this.#entries.set(id, { count, settled: undefined, waiters: undefined, size: 0, pins: 0, file: undefined, spilled: false, block });
    if (this.#entries.size >= this.#nextCheck) this.#grown();
    this.settle(id, { ok: true, value });
  }

  /** Stores the value of an object made pending by {@link expect}, counted as a put (`block` as for {@link put}); throws ObjectStoreFullError when it does not fit. */
  fill(id: number, value: Encoded, block?: SharedArrayBuffer): void {
    this.#reserve(sizeOf(value), `put of object ${id}`);
    this.#putCount++;
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.settled === undefined && !entry.spilled) entry.block = block;
    this.settle(id, { ok: true, value });
  }

  /** Settles an object with its value or error, and wakes its waiters. Unknown ids are ignored. */
  settle(id: number, settled: Settled): void {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.settled !== undefined || entry.spilled) return;
    let spillable = false;
    if (settled.ok) {
      entry.size = sizeOf(settled.value);
      this.#bytesUsed += entry.size;
      const shared = sharedBytes(settled.value);
      this.#pressure?.add(shared);
      spillable = this.#spiller?.enabled === true && spillBytes(settled.value) !== undefined;
      const ids = nestedIds(settled.value);
      if (ids !== undefined) this.addRefs(ids, 1);
    }
    entry.settled = settled;
    this.#wake(entry, settled);
    // A waiter may have let go of the last reference, and the entry is gone already.
    if (this.#entries.get(id) !== entry) return;
    if (entry.count <= 0) this.#drop(id, entry);
    else if (spillable) {
      this.#resident.set(id, entry);
      this.#spiller?.stored();
    }
  }

  /**
   * Throws ObjectStoreFullError when `bytes` more would not fit. Task results
   * are checked by the caller before settling, so a full store fails the
   * task rather than the driver.
   */
  #reserve(bytes: number, what: string): void {
    if (this.#bytesUsed + bytes > this.#capacity) {
      const spill = this.#spiller === undefined ? "" : `, and ${this.#spiller.describeLimits()}`;
      throw new ObjectStoreFullError(
        `${what} needs ${bytes} bytes but the object store holds ${this.#bytesUsed} of ${this.#capacity} (objectStoreMemory)${spill}; ` +
          "free refs you no longer need or raise init({ objectStoreMemory, objectSpillingLimit })",
      );
    }
  }

  /** True when a value of this many bytes fits now. */
  fits(bytes: number): boolean {
    return this.#bytesUsed + bytes <= this.#capacity;
  }

  /** The settled state, or undefined while pending, spilled (see {@link onSettled}) or unknown. A read counts as a use. */
  peek(id: number): Settled | undefined {
    const entry = this.#touch(id);
    if (entry === undefined) return undefined;
    entry.block = undefined;
    return entry.settled;
  }

  /** An entry, moved to the warm end of the spill order. */
  #touch(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry !== undefined && this.#resident.delete(id)) this.#resident.set(id, entry);
    return entry;
  }

  /**
   * The settled state of an object known to be ready (after {@link whenSettled}):
   * one spilled again since is read back from disk at once.
   */
  read(id: number): Settled | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || !entry.spilled || entry.file === undefined || this.#spiller === undefined) return this.peek(id);
    this.#unspill(id, entry, this.#spiller.restoreNow(entry.file));
    return entry.settled;
  }

  /** True once the object has a value or an error, in memory or on disk. */
  isReady(id: number): boolean {
    const entry = this.#entries.get(id);
    return entry !== undefined && (entry.settled !== undefined || entry.spilled);
  }

  /** Pending tasks pin (`delta` 1) and unpin (-1) their arguments: a count that also keeps them in memory. */
  pin(ids: readonly number[], delta: number): void {
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) {
        if (entry.pins === 0 && delta > 0) this.#pinned++;
        entry.pins += delta;
        if (entry.pins === 0 && delta < 0) {
          this.#pinned--;
          this.#spiller?.changed();
        }
      }
      this.addRef(id, delta);
    }
  }

  /** Calls `then` once `bytes` more fit, after collecting and spilling (see spill.ts); at once, unchecked, without spilling. */
  whenRoom(bytes: number, then: () => void): void {
    if (this.#spiller === undefined) then();
    else this.#spiller.whenRoom(bytes, then);
  }

  /** Bytes that values waiting for room may take beyond the capacity: what spilling may still put on disk. */
  get spillRoom(): number {
    return this.#spiller?.diskRoom ?? 0;
  }

  /** What spilling could not do, for an ObjectStoreFullError message ("" without spilling). */
  spillLimits(): string {
    return this.#spiller === undefined ? "" : `; ${this.#spiller.describeLimits()}`;
  }

  /** The runtime's spill folder, once something was spilled. */
  get spillFolder(): string | undefined {
    return this.#spiller?.folder;
  }

  /** Removes every spill file (shutdown). */
  close(): void {
    this.blocks.clear();
    this.#spiller?.close();
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
    if (entry.settled !== undefined) {
      entry.block = undefined;
      waiter(entry.settled);
    }
    else if (entry.spilled && entry.file !== undefined) {
      this.#addWaiter(entry, waiter);
      this.#spiller?.restore(id, entry.file);
    } else this.#addWaiter(entry, waiter);
    return true;
  }

  #addWaiter(entry: Entry, waiter: Waiter): void {
    if (entry.waiters === undefined) entry.waiters = waiter;
    else if (typeof entry.waiters === "function") entry.waiters = [entry.waiters, waiter];
    else entry.waiters.push(waiter);
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
    if (entry.count <= 0 && (entry.settled !== undefined || entry.spilled)) this.#drop(id, entry);
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
    this.#freedCount++;
    this.onFreed?.(id, entry.size);
    this.#resident.delete(id);
    if (entry.pins > 0) this.#pinned--;
    this.#spiller?.changed();
    if (entry.file !== undefined) this.#spiller?.forget(entry.file);
    if (entry.spilled) {
      this.#numSpilled--;
      const shape = entry.file?.shape;
      if (shape?.t === "s" && shape.ids !== undefined) this.addRefs(shape.ids, -1);
      return;
    }
    this.#bytesUsed -= entry.size;
    if (entry.settled?.ok !== true) return;
    const ids = nestedIds(entry.settled.value);
    if (ids !== undefined) this.addRefs(ids, -1);
    this.#onDrop(entry.settled.value);
    if (entry.block !== undefined) this.blocks.give(entry.block);
  }

  /** Throws a RayError naming the first id the store does not know. */
  checkKnown(ids: readonly number[]): void {
    for (const id of ids) {
      if (!this.has(id)) throw new RayError(`object ${id} does not exist in this runtime (was it made before a shutdown?)`);
    }
  }

  /**
   * Calls `done(settledCount)` once `needed` of the ids have settled, or at
   * the timeout with however many have (at once for a timeout of 0). With
   * `values` (for `get`), spilled objects count once read back; without
   * (for `wait`), they count as they are.
   */
  whenSettled(ids: readonly number[], needed: number, timeout: number | undefined, done: (count: number) => void, values = true): void {
    let count = 0;
    const pending: number[] = [];
    this.checkKnown(ids);
    for (const id of ids) {
      // A `get` that will not wait (timeout 0) still takes spilled objects: its caller reads them back at once.
      if (values && timeout !== 0 ? this.#touch(id)?.settled !== undefined : this.isReady(id)) count++;
      else pending.push(id);
    }
    if (count >= needed || timeout === 0) {
      done(count);
      return;
    }
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
      const status = entry.spilled ? "ready" : entry.settled === undefined ? "pending" : entry.settled.ok ? "ready" : "error";
      yield { id, bytes: entry.size, status, refCount: entry.count };
    }
  }

  stats(): ObjectStoreStats {
    return {
      numObjects: this.#entries.size,
      bytesUsed: this.#bytesUsed,
      capacity: this.#capacity,
      putCount: this.#putCount,
      freedCount: this.#freedCount,
      numSpilled: this.#numSpilled,
      ...(this.#spiller?.stats() ?? NO_SPILLS),
    };
  }

  /** Fails every pending object (shutdown). */
  failPending(error: ErrorData): void {
    for (const [id, entry] of this.#entries) {
      if (entry.settled === undefined && !entry.spilled) this.settle(id, { ok: false, error });
      else if (entry.spilled) this.#wake(entry, { ok: false, error });
    }
  }
}
