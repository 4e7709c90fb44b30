/**
 * Object spilling: when the store passes its high-water mark, the least
 * recently used objects that no pending task pins are written to disk and
 * their memory let go; they are read back when a `get`, a task argument or
 * a capture needs them. Also the queue of values waiting for room: a put or
 * a task result that does not fit waits for a collection (dead objects),
 * then for spills, and fails with ObjectStoreFullError only when neither
 * can make room.
 *
 * Memory ownership: the store's entry holds the only reference the store
 * has to an object's SharedArrayBuffer. Spilling drops that reference and
 * tells the worker threads that cached the block to forget it (the same
 * eviction as when the object is freed, which a worker defers while a queued
 * task still names the block). A view anyone still holds keeps its memory
 * alive, so nothing is ever freed under a reader; the block is freed once
 * the last view is collected. A restored object gets a new block.
 */
import { collectNow, type MemoryPressure } from "./collector.js";
import { errorToData, ObjectStoreFullError, RayError, type ErrorData } from "../api/errors.js";
import type { EventSink } from "../runtime/events.js";
import type { Encoded } from "../protocol/protocol.js";
import { encode, sharedBytes } from "../codec/serialization.js";
import { defaultSpillRoot, SpillFiles, type SpillFile, type SpillShape } from "./spill-files.js";

export type { SpillFile } from "./spill-files.js";

/** Spilling settings of a store. */
export interface SpillConfig {
  readonly enabled: boolean;
  /** Fraction of the capacity past which objects are spilled. */
  readonly threshold: number;
  /** Root of the runtime's spill folder. */
  readonly directory: string | undefined;
  /** Bytes the spill files may take. */
  readonly limit: number;
  readonly events?: () => EventSink | undefined;
  readonly pressure?: MemoryPressure | undefined;
}

/** What the spiller sees of the store. */
export interface SpillHost {
  readonly capacity: number;
  readonly bytesUsed: number;
  /** Ids of objects in memory that may be spilled, least recently used first. */
  coldest(): Iterable<number>;
  /** The in-memory value of a spillable object, and its file if it was spilled before. */
  resident(id: number): { readonly value: Encoded; readonly file: SpillFile | undefined } | undefined;
  /** The object's bytes are on disk: the store keeps the file and lets the memory go unless a task pinned it meanwhile. False when the object is gone. */
  release(id: number, file: SpillFile): boolean;
  /** A spilled object was read back. */
  restored(id: number, value: Encoded): void;
  /** A spilled object could not be read back: its waiters get `error`, it stays on disk. */
  restoreFailed(id: number, error: ErrorData): void;
  /** True while pending tasks pin objects (which they let go when they end). */
  pinned(): boolean;
}

/** Spill and restore counters, as `objectStoreStats()` shows them. */
export interface SpillStats {
  /** Objects written to disk so far. */
  readonly spilledCount: number;
  /** Bytes written to disk so far. */
  readonly spilledBytes: number;
  /** Objects read back from disk so far. */
  readonly restoredCount: number;
  /** Bytes read back from disk so far. */
  readonly restoredBytes: number;
  /** Bytes of spill files on disk now. */
  readonly spillDiskBytes: number;
}

/** Counters of a store that never spilled (cluster drivers, stores with spilling off). */
export const NO_SPILLS: SpillStats = { spilledCount: 0, spilledBytes: 0, restoredCount: 0, restoredBytes: 0, spillDiskBytes: 0 };

/** The bytes to write for a value, and how to rebuild it; undefined for values not worth a file (inline ones). */
export function spillBytes(value: Encoded): { bytes: Uint8Array; shape: SpillShape } | undefined {
  if (sharedBytes(value) === 0 || typeof value !== "object" || value === null) return undefined;
  switch (value.t) {
    case "ta": {
      if (value.b === undefined) return undefined;
      const size = value.n * (globalThis[value.c] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      return { bytes: new Uint8Array(value.b, value.o, size), shape: { t: "ta", c: value.c } };
    }
    case "ab":
      return value.b === undefined ? undefined : { bytes: new Uint8Array(value.b, 0, value.n), shape: { t: "ab" } };
    case "ar":
      return { bytes: value.b, shape: { t: "ar", k: value.k } };
    case "s":
      return { bytes: value.b, shape: { t: "s", ids: value.ids } };
    default:
      return undefined;
  }
}

/** Rebuilds a value from bytes read back (a typed array or ArrayBuffer gets a new block id). */
export function fromSpillBytes(shared: SharedArrayBuffer, shape: SpillShape): Encoded {
  switch (shape.t) {
    case "ta": {
      const Ctor = globalThis[shape.c] as unknown as new (buffer: SharedArrayBuffer) => ArrayBufferView;
      return encode(new Ctor(shared), "a restored object");
    }
    case "ab":
      return encode(shared, "a restored object");
    case "ar":
      return { t: "ar", k: shape.k, b: new Uint8Array(shared) };
    case "s":
      return { t: "s", b: new Uint8Array(shared), ids: shape.ids };
  }
}

interface RoomWaiter {
  readonly bytes: number;
  readonly then: (ok: boolean) => void;
  /**
   * A read back: it waits for room below the high-water mark (the rest is
   * kept for new values), and while pending tasks pin objects in memory it
   * waits for them to end rather than fail.
   */
  readonly restore: boolean;
  /** A collection has run since it queued. */
  reclaimed: boolean;
}

export class Spiller {
  readonly #host: SpillHost;
  readonly #config: SpillConfig;
  readonly #files: SpillFiles;
  /** Bytes being written now, and the objects. */
  #writingBytes = 0;
  readonly #writing = new Set<number>();
  readonly #restoring = new Set<number>();
  #scheduled = false;
  #room: RoomWaiter[] = [];
  #reclaiming = false;
  #pumping = false;
  #pumpAgain = false;
  /** Bytes of reads back under way, counted as used. */
  #reserved = 0;
  #spilledCount = 0;
  #spilledBytes = 0;
  #restoredCount = 0;
  #restoredBytes = 0;
  /** The last write that failed, for the error of a value that then finds no room. */
  #writeError: string | undefined;

  constructor(host: SpillHost, config: SpillConfig) {
    this.#host = host;
    this.#config = config;
    this.#files = new SpillFiles(config.directory ?? defaultSpillRoot(), config.enabled ? config.limit : 0);
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** The runtime's spill folder, once something was spilled. */
  get folder(): string | undefined {
    return this.#files.folder;
  }

  /** Bytes that spilling may still take on disk (0 when spilling is off). */
  get diskRoom(): number {
    return this.#config.enabled ? Math.max(0, this.#files.limit - this.#files.used - this.#writingBytes) : 0;
  }

  stats(): SpillStats {
    return {
      spilledCount: this.#spilledCount,
      spilledBytes: this.#spilledBytes,
      restoredCount: this.#restoredCount,
      restoredBytes: this.#restoredBytes,
      spillDiskBytes: this.#files.used,
    };
  }

  /** Why a value found no room, for ObjectStoreFullError: the limits and what holds them. */
  describeLimits(): string {
    if (!this.#config.enabled) return "object spilling is off (init({ objectSpilling }))";
    const limit = this.#files.limit === Infinity ? "the disk's own (95% full)" : `${this.#files.limit} bytes`;
    const failed = this.#writeError === undefined ? "" : `; the last spill write failed: ${this.#writeError}`;
    return `nothing more could be spilled to disk (objectSpillingLimit: ${limit}, ${this.#files.used} bytes spilled; objects pinned by pending tasks stay in memory)${failed}`;
  }

  #highWater(): number {
    return this.#config.threshold * this.#host.capacity;
  }

  /** An object was stored: past the high-water mark, spill in a later turn. */
  stored(): void {
    if (!this.#config.enabled || this.#scheduled || this.#host.bytesUsed - this.#writingBytes <= this.#highWater()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#spillTo(this.#highWater());
    });
  }

  /**
   * Spills the coldest objects until what stays in memory once the writes
   * under way end is at most `target` bytes. Returns whether any write is
   * under way.
   */
  #spillTo(target: number): boolean {
    if (!this.#config.enabled) return false;
    for (const id of this.#host.coldest()) {
      if (this.#host.bytesUsed - this.#writingBytes <= target) break;
      if (this.#writing.has(id) || this.#restoring.has(id)) continue;
      const resident = this.#host.resident(id);
      if (resident === undefined) continue;
      if (resident.file !== undefined) {
        // Read back before and unchanged since (objects are immutable): its file still holds it.
        this.#host.release(id, resident.file);
        continue;
      }
      const spill = spillBytes(resident.value);
      if (spill === undefined) continue;
      if (!this.#files.hasRoom(spill.bytes.byteLength, this.#writingBytes)) break;
      this.#write(id, spill.bytes, spill.shape);
    }
    return this.#writingBytes > 0;
  }

  #write(id: number, bytes: Uint8Array, shape: SpillShape): void {
    this.#writing.add(id);
    this.#writingBytes += bytes.byteLength;
    const done = (file: SpillFile | undefined): void => {
      this.#writing.delete(id);
      this.#writingBytes -= bytes.byteLength;
      if (file !== undefined) {
        if (!this.#host.release(id, file)) this.#files.remove(file);
        else {
          this.#spilledCount++;
          this.#spilledBytes += file.bytes;
          this.#config.pressure?.add(file.bytes);
          this.#config.events?.()?.emit({ kind: "objectSpilled", id, bytes: file.bytes });
        }
      }
      this.#pumpRoom();
      this.stored();
    };
    // The closure keeps `bytes` (and so the block) alive until the write ends.
    this.#files.write(id, bytes, shape).then(done, (error: unknown) => {
      this.#writeError = error instanceof Error ? error.message : String(error);
      done(undefined);
    });
  }

  /** Reads a spilled object back once there is room for it; the store wakes its waiters. */
  restore(id: number, file: SpillFile): void {
    if (this.#restoring.has(id)) return;
    this.#restoring.add(id);
    this.#wait(file.bytes, true, (ok) => {
      if (!ok) {
        this.#restoring.delete(id);
        const error = new ObjectStoreFullError(
          `object ${id} (${file.bytes} bytes) is spilled to disk and cannot be read back: the object store holds ${this.#host.bytesUsed} of ${this.#host.capacity} bytes and ${this.describeLimits()}`,
        );
        this.#host.restoreFailed(id, errorToData(error));
        return;
      }
      this.#reserved += file.bytes;
      this.#files.read(file).then(
        (shared) => {
          this.#reserved -= file.bytes;
          this.#restoring.delete(id);
          this.#restoredCount++;
          this.#restoredBytes += file.bytes;
          this.#host.restored(id, fromSpillBytes(shared, file.shape));
          this.#config.events?.()?.emit({ kind: "objectRestored", id, bytes: file.bytes });
          // Reads back waiting on this one may now spill it (its file is written) to make room.
          this.changed();
          this.stored();
        },
        (error: unknown) => {
          this.#reserved -= file.bytes;
          this.#restoring.delete(id);
          this.changed();
          const reason = error instanceof Error ? error.message : String(error);
          this.#host.restoreFailed(id, errorToData(new RayError(`object ${id} could not be read back from ${file.path}: ${reason}`)));
        },
      );
    });
  }

  /** Reads a spilled object back at once (a value needed synchronously after a race with a new spill). */
  restoreNow(file: SpillFile): Encoded {
    const value = fromSpillBytes(this.#files.readNow(file), file.shape);
    this.#restoredCount++;
    this.#restoredBytes += file.bytes;
    this.stored();
    return value;
  }

  /** The object was freed: its file goes. */
  forget(file: SpillFile): void {
    this.#files.remove(file);
  }

  /**
   * Calls `then(true)` once `bytes` more fit in memory: first after a
   * collection (objects nobody holds any more), then after spills.
   * `then(false)` when neither can make room.
   */
  whenRoom(bytes: number, then: (ok: boolean) => void): void {
    this.#wait(bytes, false, then);
  }

  #wait(bytes: number, restore: boolean, then: (ok: boolean) => void): void {
    this.#room.push({ bytes, then, reclaimed: false, restore });
    this.#pumpRoom();
  }

  /** Memory was let go or objects unpinned: waiters for room may go on (in a later microtask). */
  changed(): void {
    if (this.#room.length > 0) queueMicrotask(() => this.#pumpRoom());
  }

  #fits(waiter: RoomWaiter): boolean {
    const capacity = this.#host.capacity;
    const limit = waiter.restore && waiter.bytes <= this.#highWater() ? this.#highWater() : capacity;
    return this.#host.bytesUsed + this.#reserved + waiter.bytes <= limit;
  }

  #pumpRoom(): void {
    // Callbacks store values and may queue more: one pump at a time, run again if asked meanwhile.
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#pumpOnce();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by callbacks that #pumpOnce() runs
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    for (let index = 0; index < this.#room.length; ) {
      const waiter = this.#room[index] as RoomWaiter;
      if (!this.#fits(waiter)) {
        index++;
        continue;
      }
      this.#room.splice(index, 1);
      waiter.then(true);
    }
    if (this.#room.length === 0 || this.#reclaiming) return;
    // New values first look for dead objects (not worth a write); reads back spill first, and collect only before giving up.
    if (this.#room.some((waiter) => !waiter.reclaimed && !waiter.restore)) {
      this.#reclaim();
      return;
    }
    let queued = 0;
    for (const waiter of this.#room) queued += waiter.bytes;
    const before = this.#host.bytesUsed;
    // Room for everything queued, below the high-water mark when it can be.
    if (this.#spillTo(Math.max(0, this.#highWater() - queued - this.#reserved))) return; // pumped again as writes end
    if (this.#host.bytesUsed < before) {
      this.#pumpAgain = true; // objects already on disk were let go at once
      return;
    }
    if (this.#room.some((waiter) => !waiter.reclaimed)) {
      this.#reclaim();
      return;
    }
    // Nothing more can be spilled now: new values fail; reads back wait for pinned objects to be let go.
    const wait = this.#host.pinned() || this.#reserved > 0;
    const failed = this.#room.filter((waiter) => !waiter.restore || !wait);
    this.#room = this.#room.filter((waiter) => waiter.restore && wait);
    for (const waiter of failed) waiter.then(false);
  }

  /** A full collection, then two turns for finalizers to give back what it found dead. */
  #reclaim(): void {
    this.#reclaiming = true;
    collectNow();
    setImmediate(() =>
      setImmediate(() => {
        this.#reclaiming = false;
        for (const waiter of this.#room) waiter.reclaimed = true;
        this.#pumpRoom();
      }),
    );
  }

  /** Removes the spill folder (shutdown); waiters for room give up. */
  close(): void {
    this.#files.removeAll();
    const room = this.#room;
    this.#room = [];
    for (const waiter of room) waiter.then(false);
  }
}
