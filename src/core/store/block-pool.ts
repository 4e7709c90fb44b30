/**
 * Blocks of freed objects kept for the next `put` of the same size.
 *
 * A store block of 64 KB to 32 MB has pages of its own (see
 * shared-blocks.ts): freed, it leaves the process, but the next block is
 * fresh pages, and a first touch of each page costs more than copying the
 * value into it (on a virtual machine, tens of microseconds per 4 KiB). A
 * block can hold another value only when nothing can still see it: a view
 * handed to user code, in the driver or in a worker, may live on after its
 * object is freed, and any thread it reached may have sent it further. So
 * only blocks that never left the store are kept: the driver's copy of a
 * value given to `put` that nothing read, lent or spilled before it was
 * freed (the object store decides; see `ObjectStore`). Reading the value
 * once makes its block ordinary again: V8 frees it when the last view goes.
 *
 * The pool is bounded, and it empties itself once no `put` has taken a
 * block for {@link IDLE_MS}: what it holds then leaves the process at the
 * next collection, which it asks for.
 */
import { collectNow } from "./collector.js";
import { ALLOCATOR_MAPS_MIN_BYTES, OWN_PAGES_MIN_BYTES } from "./shared-blocks.js";

/** How long the pool keeps blocks that no `put` takes (ms). */
export const IDLE_MS = 1000;

/** Largest share of the store's capacity the pool holds, and the most it holds at all. */
const CAPACITY_SHARE = 1 / 4;
const MAX_BYTES = 512 * 1024 * 1024;

export interface BlockPoolStats {
  /** Blocks handed out again instead of new ones. */
  readonly reused: number;
  /** Blocks the pool holds now, and their bytes. */
  readonly blocks: number;
  readonly bytes: number;
}

export class BlockPool {
  readonly #limit: number;
  readonly #free = new Map<number, SharedArrayBuffer[]>();
  #bytes = 0;
  #blocks = 0;
  #reused = 0;
  /** A block was taken since the last idle check. */
  #taken = false;
  #timer: NodeJS.Timeout | undefined;

  /** A pool for a store of `capacity` bytes. */
  constructor(capacity: number) {
    this.#limit = Math.min(MAX_BYTES, Math.floor(capacity * CAPACITY_SHARE));
  }

  /** True for block sizes the pool keeps: those with pages of their own. */
  static keeps(bytes: number): boolean {
    return bytes >= OWN_PAGES_MIN_BYTES && bytes < ALLOCATOR_MAPS_MIN_BYTES;
  }

  /**
   * A kept block of exactly `bytes` bytes, or undefined. Its contents are
   * those of the freed value it held: the caller overwrites all of it.
   */
  take(bytes: number): SharedArrayBuffer | undefined {
    const free = this.#free.get(bytes);
    const block = free?.pop();
    if (block === undefined) return undefined;
    if (free?.length === 0) this.#free.delete(bytes);
    this.#bytes -= bytes;
    this.#blocks--;
    this.#reused++;
    this.#taken = true;
    return block;
  }

  /**
   * Keeps the block of a freed object, which nothing but the store ever
   * saw. Returns false (the block is left to the collector) when it is not
   * a size the pool keeps or the pool is full.
   */
  give(block: SharedArrayBuffer): boolean {
    const bytes = block.byteLength;
    if (!BlockPool.keeps(bytes) || this.#bytes + bytes > this.#limit) return false;
    const free = this.#free.get(bytes);
    if (free === undefined) this.#free.set(bytes, [block]);
    else free.push(block);
    this.#bytes += bytes;
    this.#blocks++;
    this.#timer ??= setInterval(() => {
      this.#idleCheck();
    }, IDLE_MS).unref();
    return true;
  }

  #idleCheck(): void {
    if (this.#taken) {
      this.#taken = false;
      return;
    }
    this.clear();
    collectNow();
  }

  /** Lets every kept block go (to be freed at the next collection); returns their bytes. */
  clear(): number {
    const bytes = this.#bytes;
    this.#free.clear();
    this.#bytes = 0;
    this.#blocks = 0;
    this.#taken = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return bytes;
  }

  stats(): BlockPoolStats {
    return { reused: this.#reused, blocks: this.#blocks, bytes: this.#bytes };
  }
}
