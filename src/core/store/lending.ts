/**
 * What each worker thread holds of the store: the refs it borrows (each
 * one counts in the store until the thread gives it back or dies) and the
 * shared blocks in its block cache (sent once, then named by id; forgotten
 * when the store drops the object). The driver runtime owns one Lending.
 *
 * A block a worker made for a value it sent (a result, a put) may go back
 * to that worker for reuse (see block-pool.ts) instead of being forgotten:
 * when it was never lent to any thread, and once the driver's own
 * SharedArrayBuffer object for it (which every view the driver's code got
 * from `get` holds) has been collected. Until then the worker keeps it
 * cached, and is told to forget or reuse it afterwards.
 */
import { LocalObjectDirectory, type ObjectDirectory } from "./object-directory.js";
import type { RefCounts } from "./ownership.js";
import { BlockPool } from "./block-pool.js";
import { isBoxed, nestedIds, type Encoded, type ToWorker } from "../protocol/protocol.js";
import type { Transport } from "../transport/transport.js";

/** A worker thread as the driver sees it: a task worker or an actor's thread. */
export interface Holder {
  readonly link: Transport | undefined;
  /** Object ids this thread borrows, with counts. */
  borrows: Map<number, number>;
  /** Shared blocks the thread holds in its cache. */
  blocks: Set<number>;
}

/** A block a worker made, while it may go back to that worker for reuse. */
interface Made {
  readonly holder: Holder;
  /** Lent to a thread (or sent by another thread) since: never reused. */
  lent: boolean;
  /** The store let it go. */
  dropped: boolean;
}

export class Lending {
  readonly #store: RefCounts;
  readonly #send: (link: Transport, message: ToWorker) => void;
  /** Which threads hold each shared block in their cache. */
  readonly #blockHolders: ObjectDirectory<number, Holder>;
  /**
   * Blocks a thread sent (so it had them cached then) that the driver has
   * not sent it since. An eviction may be on its way to that thread, so
   * they are not named by id alone until the driver has sent them once.
   */
  readonly #learned = new WeakMap<Holder, Set<number>>();
  /** Blocks a worker made that may go back to it for reuse (see the module comment). */
  readonly #made = new Map<number, Made>();
  readonly #collected = new FinalizationRegistry<number>((block) => {
    this.#release(block);
  });

  /** `send` queues a message to a thread (flushed with the rest of the tick). */
  constructor(store: RefCounts, send: (link: Transport, message: ToWorker) => void, directory: ObjectDirectory<number, Holder> = new LocalObjectDirectory()) {
    this.#store = store;
    this.#blockHolders = directory;
    this.#send = send;
  }

  /**
   * Prepares a value for a worker thread: lends it the refs nested inside,
   * and leaves out a shared block the thread already holds (it is named by
   * id; see the block cache in serialization.ts).
   */
  lend(holder: Holder, value: Encoded): Encoded {
    if (isBoxed(value) && (value.t === "ta" || value.t === "ab")) {
      const made = this.#made.get(value.k);
      if (made !== undefined) made.lent = true;
    }
    const ids = nestedIds(value);
    if (ids !== undefined) {
      for (const id of ids) {
        this.#store.addRef(id, 1);
        holder.borrows.set(id, (holder.borrows.get(id) ?? 0) + 1);
      }
      return value;
    }
    if (!isBoxed(value) || (value.t !== "ta" && value.t !== "ab") || value.b === undefined) return value;
    const learned = this.#learned.get(holder);
    if (learned?.delete(value.k) === true) return value; // sent with its buffer: from now on it is named by id
    if (holder.blocks.has(value.k)) return { ...value, b: undefined };
    this.#holds(holder, value.k);
    return value;
  }

  /** Shared blocks in values a thread sent are held in that thread's cache. */
  learn(holder: Holder, value: Encoded): void {
    if (!isBoxed(value) || (value.t !== "ta" && value.t !== "ab") || holder.blocks.has(value.k)) return;
    if (value.b !== undefined && BlockPool.keeps(value.b.byteLength) && this.#blockHolders.locations(value.k).length === 0) {
      const made = this.#made.get(value.k);
      if (made === undefined) this.#made.set(value.k, { holder, lent: false, dropped: false });
      else if (made.holder !== holder) made.lent = true;
      this.#collected.register(value.b, value.k);
    }
    this.#holds(holder, value.k);
    const learned = this.#learned.get(holder);
    if (learned === undefined) this.#learned.set(holder, new Set([value.k]));
    else learned.add(value.k);
  }

  /** The store dropped an object: threads may forget its shared block (sent at the next flush). */
  readonly dropped = (value: Encoded): void => {
    if (!isBoxed(value) || (value.t !== "ta" && value.t !== "ab")) return;
    const holders = this.#blockHolders.locations(value.k);
    if (holders.length === 0) return;
    this.#blockHolders.dropLocations([value.k]);
    const made = this.#made.get(value.k);
    if (made !== undefined) made.dropped = true;
    for (const holder of holders) {
      this.#learned.get(holder)?.delete(value.k);
      // The maker of a block that may come back to it hears once the driver's object for it is collected.
      if (made?.lent === false && made.holder === holder) {
        holder.blocks.delete(value.k);
        continue;
      }
      // Sent in order with everything else, so a later send of the same block carries it again.
      if (holder.blocks.delete(value.k) && holder.link !== undefined) this.#send(holder.link, { kind: "evict", blocks: [value.k] });
    }
  };

  /**
   * The driver's object for a block a worker made was collected: no view of
   * it is left in the driver. The worker reuses it if no other thread was
   * lent it and the store let it go; else it forgets it (an eviction it may
   * have had already).
   */
  #release(block: number): void {
    const made = this.#made.get(block);
    if (made === undefined) return;
    this.#made.delete(block);
    const link = made.holder.link;
    if (link === undefined || made.holder.blocks.has(block)) return;
    this.#send(link, { kind: made.lent || !made.dropped ? "evict" : "recycle", blocks: [block] });
  }

  /** A thread gives back refs it borrowed. */
  giveBack(holder: Holder, ids: readonly number[]): void {
    for (const id of ids) {
      const count = holder.borrows.get(id);
      if (count === undefined) continue;
      if (count <= 1) holder.borrows.delete(id);
      else holder.borrows.set(id, count - 1);
      this.#store.addRef(id, -1);
    }
  }

  /** A dead thread's borrows all end. */
  dropBorrows(holder: Holder): void {
    for (const [id, count] of holder.borrows) this.#store.addRef(id, -count);
    holder.borrows = new Map();
  }

  /** Records that a thread holds a shared block (sent to it, or made by it). */
  #holds(holder: Holder, block: number): void {
    holder.blocks.add(block);
    this.#blockHolders.addLocation(block, holder);
  }
}
