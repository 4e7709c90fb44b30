/**
 * Blocks of freed objects kept for the next value of the same size.
 *
 * A store block of 64 KB to 32 MB has pages of its own (see
 * shared-blocks.ts): freed, it leaves the process, but the next block is
 * fresh pages, and a first touch of each page costs more than copying the
 * value into it (on a virtual machine, tens of microseconds per 4 KiB). A
 * block can hold another value only when nothing can still see it, so a
 * thread keeps only blocks it made itself whose value no user code of any
 * thread was handed:
 * - the driver's store keeps the block of a value given to `put` that
 *   nothing read, lent or spilled before it was freed (see `ObjectStore`);
 * - a worker keeps the block of a value it returned or put when the driver
 *   says so: no other thread was lent it, and no view of it is left in the
 *   driver (see `Lending`). A block a worker's own tasks were handed as an
 *   argument is never kept.
 * Every other block is freed by V8 once the last view of it goes.
 *
 * The pool is bounded, and it empties itself once nothing has taken a
 * block for {@link IDLE_MS}: what it held leaves the process at the next
 * collection, which it asks for. `RAYTS_BLOCK_REUSE=0` in the environment
 * turns reuse off (every pool holds nothing), for a program that sends
 * views from `get` to threads of its own, which rayts cannot see.
 */
import { collectNow } from "./collector.js";
import { ALLOCATOR_MAPS_MIN_BYTES, OWN_PAGES_MIN_BYTES } from "./shared-blocks.js";

/** False when the environment turns block reuse off. */
const REUSE = process.env.RAYTS_BLOCK_REUSE !== "0";

/** How long the pool keeps blocks that no `put` takes (ms). */
export const IDLE_MS = 1000;

/** Largest share of the store's capacity the store's pool holds, and the most it holds at all. */
const CAPACITY_SHARE = 1 / 4;
const MAX_BYTES = 512 * 1024 * 1024;

/** Most bytes a worker thread's pool holds. */
export const WORKER_POOL_BYTES = REUSE ? 256 * 1024 * 1024 : 0;

/** The bound of the pool of a store of `capacity` bytes. */
export function storePoolBytes(capacity: number): number {
  return REUSE ? Math.min(MAX_BYTES, Math.floor(capacity * CAPACITY_SHARE)) : 0;
}

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

  /** A pool that holds at most `limit` bytes. */
  constructor(limit: number) {
    this.#limit = limit;
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
   * Keeps the block of a freed object, which no user code was handed (see
   * the module comment). Returns false (the block is left to the collector) when it is not
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
