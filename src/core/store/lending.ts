/**
 * What each worker thread holds of the store: the refs it borrows (each
 * one counts in the store until the thread gives it back or dies) and the
 * shared blocks in its block cache (sent once, then named by id; forgotten
 * when the store drops the object). The driver runtime owns one Lending.
 */
import { LocalObjectDirectory, type ObjectDirectory } from "./object-directory.js";
import type { RefCounts } from "./ownership.js";
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
    for (const holder of holders) {
      this.#learned.get(holder)?.delete(value.k);
      // Sent in order with everything else, so a later send of the same block carries it again.
      if (holder.blocks.delete(value.k) && holder.link !== undefined) this.#send(holder.link, { kind: "evict", blocks: [value.k] });
    }
  };

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
