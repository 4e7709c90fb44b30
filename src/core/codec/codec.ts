/**
 * The value codec of one thread. Binary data (typed arrays, ArrayBuffers,
 * Arrow tables, record batches and vectors) is copied once into a
 * SharedArrayBuffer and from then on crosses threads by reference: a
 * worker's view of it is the driver's memory. Primitives ride inline.
 * Everything else goes through v8's structured-clone serializer; large
 * serialized values also move to shared memory so that sending them to many
 * tasks copies nothing.
 *
 * Each thread has one codec per runtime (see `beginRuntime`): what it
 * remembers (block ids, a worker's block cache, argument buffers) belongs to
 * that runtime and goes with it.
 */
import v8 from "node:v8";
import { SerializationError } from "../api/errors.js";
import { show } from "../api/checks.js";
import { checkActorOwner, refNum } from "../api/ids.js";
import { ACTOR_KEY, HANDLE_KEY, type Encoded, type TypedArrayName } from "../protocol/protocol.js";
import { BlockPool, WORKER_POOL_BYTES } from "../store/block-pool.js";
import { allocateSharedBlock } from "../store/shared-blocks.js";
import {
  INLINE_LIMIT,
  TYPED_ARRAYS,
  arrowBytes,
  arrowKind,
  cloneFailure,
  decodeArrow,
  findClassInstance,
  isHandleData,
  refuse,
  reviveHandles,
  type Reviver,
  type TypedArray,
} from "./codec-values.js";

const HANDLE_BYTES = Buffer.from(HANDLE_KEY, "latin1");
/** Most bytes of idle by-value argument buffers kept for reuse. */
const ARG_POOL_BYTES = 256 * 1024 * 1024;

/** Encodes and decodes values; holds the per-thread, per-runtime memory of shared blocks. */
/** Throws the SerializationError a value holding a class instance gets (its copy would lose its prototype). */
function refuseClassInstance(value: unknown, what: string): void {
  let instance: { path: string; name: string } | undefined;
  try {
    instance = findClassInstance(value);
  } catch {
    // Nested deeper than the stack allows: the serializer decides.
  }
  if (instance === undefined) return;
  const where = instance.path === "" ? "" : ` (at ${instance.path})`;
  throw new SerializationError(
    `Cannot send ${what} (${show(value)}): it holds an instance of class ${instance.name}${where}, and a copy sent to ` +
      `another thread keeps its fields but loses its prototype (its methods and getters). Send plain data ` +
      `(e.g. { ...value }) and rebuild the ${instance.name} on the other side, or make ${instance.name} an actor.`,
  );
}

/**
 * The checks {@link Codec.encode} makes before serializing, for a runtime
 * that sends values its own way (a cluster driver): functions, symbols and
 * class instances are refused with a SerializationError naming `what`
 * (see {@link serializing} for what the serializer itself refuses).
 */
export function checkSendable(value: unknown, what: string): void {
  if (typeof value === "function" || typeof value === "symbol") throw new SerializationError(`Cannot send ${what} (${show(value)}): ${refuse(value)}`);
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return;
  if (arrowKind(value) !== undefined) return;
  refuseClassInstance(value, what);
}

/** Runs `serialize` (which calls the structured-clone serializer on `value`), turning its failure into a SerializationError naming `what`. */
export function serializing<T>(value: unknown, what: string, serialize: () => T): T {
  try {
    return serialize();
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    throw new SerializationError(`Cannot send ${what} (${show(value)}): ${cloneFailure(value, error)}`, { cause: error });
  }
}

export class Codec {
  /**
   * SharedArrayBuffers the store made or handed out, by block id. Views on
   * them are already immutable store objects, so passing them on needs no copy.
   */
  readonly #storeOwned = new WeakMap<SharedArrayBuffer, number>();
  /**
   * A worker's cache of shared blocks, by id. Every SharedArrayBuffer that
   * crosses a port arrives as a new object that V8 counts as fresh external
   * memory, which brings on garbage collections; so the driver sends a block
   * to a worker once, the worker keeps it here, and later messages name it by
   * id alone. The driver says when to forget a block (`evict`), once the
   * object store no longer holds it. The driver itself does not cache.
   */
  readonly #blocks = new Map<number, SharedArrayBuffer>();
  readonly #caching: boolean;
  readonly #newId: () => number;
  readonly #tag: string;
  /**
   * Buffers for the private copies of by-value arguments, by size. A copy
   * never leaves its thread (workers get a structured clone of it), so once
   * its task has settled it can hold the next call's copy: a fresh large
   * buffer costs far more than the copy itself (new pages, and garbage that
   * brings on collections). Bounded, so idle memory stays small.
   */
  readonly #argBuffers = new Map<number, ArrayBuffer[]>();
  #argBufferBytes = 0;
  /**
   * Blocks this thread copied a value into and never decoded since: no user
   * code of this thread has a view of them. A worker keeps them for reuse
   * when the driver says no other thread has one either ({@link recycleBlocks}).
   */
  readonly #fresh = new WeakSet<SharedArrayBuffer>();
  /** A worker's blocks kept for reuse (see block-pool.ts). */
  readonly #spare: BlockPool | undefined;
  /** While {@link encodeStored} runs: where its block comes from, and the block it made. */
  #pool: BlockPool | undefined;
  #made: SharedArrayBuffer | undefined;
  /** Hears of every actor handle found inside an encoded value (the driver stops tracking that actor's lifetime). */
  onActorExport: ((actor: number) => void) | undefined;

  /**
   * @param caching keep received blocks by id (workers)
   * @param newId source of block ids, unique across the runtime's threads
   * @param tag the runtime's tag: refs of other runtimes are refused
   */
  constructor(caching: boolean, newId: () => number, tag: string) {
    this.#caching = caching;
    this.#newId = newId;
    this.#tag = tag;
    this.#spare = caching ? new BlockPool(WORKER_POOL_BYTES) : undefined;
  }

  /**
   * Forgets blocks the driver no longer stores, as {@link evictBlocks} does,
   * and keeps for reuse those this thread made and never decoded: the
   * driver has checked that no other thread holds a view of them. Returns
   * the bytes forgotten without being kept.
   */
  recycleBlocks(ids: readonly number[]): number {
    let bytes = 0;
    for (const id of ids) {
      const block = this.#blocks.get(id);
      if (block === undefined) continue;
      this.#blocks.delete(id);
      if (!this.#fresh.delete(block) || this.#spare?.give(block) !== true) bytes += block.byteLength;
    }
    return bytes;
  }

  /** The reuse pool of this worker thread (undefined in the driver). */
  get spareBlocks(): BlockPool | undefined {
    return this.#spare;
  }

  /** Forgets blocks the driver no longer stores; live views keep their memory. Returns the bytes forgotten. */
  evictBlocks(ids: readonly number[]): number {
    let bytes = 0;
    for (const id of ids) {
      const block = this.#blocks.get(id);
      if (block === undefined) continue;
      bytes += block.byteLength;
      this.#blocks.delete(id);
    }
    return bytes;
  }

  /** Number of blocks this thread caches. */
  get cachedBlocks(): number {
    return this.#blocks.size;
  }

  /** The block of an encoded value that travels without its buffer. */
  #blockOf(id: number): SharedArrayBuffer {
    const block = this.#blocks.get(id);
    if (block === undefined) throw new Error(`internal: shared block ${id} is not cached in this thread`);
    return block;
  }

  /** Copies bytes into a fresh store-owned SharedArrayBuffer (one of a freed value, while {@link encodeStored} runs). */
  #toShared(bytes: Uint8Array): SharedArrayBuffer {
    const pool = this.#pool ?? this.#spare;
    const shared = (BlockPool.keeps(bytes.byteLength) ? pool?.take(bytes.byteLength) : undefined) ?? allocateSharedBlock(bytes.byteLength);
    if (this.#pool !== undefined) this.#made = shared;
    new Uint8Array(shared).set(bytes);
    this.#fresh.add(shared);
    this.#adopt(shared, this.#newId());
    return shared;
  }

  /** Marks a buffer as the store-owned block `id` (and caches it in a worker). */
  #adopt(buffer: SharedArrayBuffer, id: number): SharedArrayBuffer {
    this.#storeOwned.set(buffer, id);
    if (this.#caching) this.#blocks.set(id, buffer);
    return buffer;
  }

  /** Block id of a SharedArrayBuffer, made a store block (without a copy) if it is not one yet. */
  #sharedBlock(buffer: SharedArrayBuffer): number {
    const known = this.#storeOwned.get(buffer);
    if (known !== undefined) return known;
    const id = this.#newId();
    this.#adopt(buffer, id);
    return id;
  }

  /**
   * Encodes a value for the store or a message. Throws SerializationError
   * naming `what` (for example "argument 1 of task square") and the reason.
   */
  encode(value: unknown, what: string): Encoded {
    switch (typeof value) {
      case "number":
      case "boolean":
      case "bigint":
      case "undefined":
        return value;
      case "string":
        if (value.length <= INLINE_LIMIT) return value;
        break;
      case "function":
      case "symbol":
        throw new SerializationError(`Cannot send ${what} (${show(value)}): ${refuse(value)}`);
      default:
        break;
    }
    if (value === null) return null;
    if (typeof value === "object") {
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        const view = value as TypedArray;
        const name = view.constructor.name as TypedArrayName;
        if (Object.hasOwn(TYPED_ARRAYS, name)) { // the name of a subclass such as Buffer is not in the table
          if (view.buffer instanceof SharedArrayBuffer) {
            // Shared memory stays shared (that is what a SharedArrayBuffer is for): no snapshot.
            return { t: "ta", c: name, b: view.buffer, k: this.#sharedBlock(view.buffer), o: view.byteOffset, n: view.length };
          }
          const shared = this.#toShared(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
          return { t: "ta", c: name, b: shared, k: this.#sharedBlock(shared), o: 0, n: view.length };
        }
      }
      if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
        const shared = value instanceof SharedArrayBuffer ? value : this.#toShared(new Uint8Array(value));
        return { t: "ab", b: shared, k: this.#sharedBlock(shared), n: shared.byteLength };
      }
      const kind = arrowKind(value);
      if (kind !== undefined) return { t: "ar", k: kind, b: new Uint8Array(this.#toShared(arrowBytes(value, kind))) };
    }
    refuseClassInstance(value, what);
    let bytes: Uint8Array;
    try {
      bytes = v8.serialize(value);
    } catch (error) {
      throw new SerializationError(`Cannot send ${what} (${show(value)}): ${cloneFailure(value, error)}`, { cause: error });
    }
    const hasHandles = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(HANDLE_BYTES) >= 0;
    const ids = hasHandles ? this.collectRefIds(value, []) : undefined;
    if (bytes.byteLength > INLINE_LIMIT) return { t: "s", b: new Uint8Array(this.#toShared(bytes)), ids };
    // A clone copies the whole backing buffer, so make sure it is exactly these bytes.
    if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength) bytes = bytes.slice();
    return { t: "s", b: bytes, ids };
  }

  /**
   * Encodes a value given to `put`, as {@link encode} does, with its block
   * (when the value is copied into one) taken from `pool` if it holds one of
   * that size. Returns the block it copied the value into, seen by nothing
   * else yet, or undefined when the value kept its own memory or none.
   */
  encodeStored(value: unknown, what: string, pool: BlockPool): { value: Encoded; block: SharedArrayBuffer | undefined } {
    this.#pool = pool;
    this.#made = undefined;
    try {
      const encoded = this.encode(value, what);
      return { value: encoded, block: this.#made };
    } finally {
      this.#pool = undefined;
      this.#made = undefined;
    }
  }

  /**
   * Encodes a task argument passed by value. A typed array that is not
   * already in the store is copied into a private buffer that travels by
   * structured clone: it is used once, and fresh shared memory per call costs
   * far more (new pages, and a collection in every thread that saw it) than
   * the clone. Everything else is encoded as by {@link encode}.
   */
  encodeArg(value: unknown, what: string): Encoded {
    if (typeof value === "object" && value !== null && ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const view = value as TypedArray;
      const shared = view.buffer instanceof SharedArrayBuffer;
      const Ctor = TYPED_ARRAYS[view.constructor.name as TypedArrayName] as unknown as (new (buffer: ArrayBuffer, offset: number, length: number) => TypedArray) | undefined;
      if (!shared && Ctor !== undefined && view.byteLength > INLINE_LIMIT) {
        const copy = new Ctor(this.#takeArgBuffer(view.byteLength), 0, view.length);
        copy.set(view as never);
        return { t: "tc", v: copy };
      }
    }
    return this.encode(value, what);
  }

  #takeArgBuffer(bytes: number): ArrayBuffer {
    const free = this.#argBuffers.get(bytes)?.pop();
    if (free === undefined) return new ArrayBuffer(bytes);
    this.#argBufferBytes -= bytes;
    return free;
  }

  /** Gives back the buffer of a by-value argument copy whose task has settled (and will not be sent again). */
  releaseArg(value: Encoded): void {
    if (typeof value !== "object" || value === null || value.t !== "tc") return;
    const buffer = value.v.buffer;
    if (!(buffer instanceof ArrayBuffer) || this.#argBufferBytes + buffer.byteLength > ARG_POOL_BYTES) return;
    const free = this.#argBuffers.get(buffer.byteLength);
    if (free === undefined) this.#argBuffers.set(buffer.byteLength, [buffer]);
    else free.push(buffer);
    this.#argBufferBytes += buffer.byteLength;
  }

  /** Decodes a stored or received value. Binary values come back as views on shared memory. */
  decode(encoded: Encoded, revive: Reviver): unknown {
    if (typeof encoded !== "object" || encoded === null) return encoded;
    switch (encoded.t) {
      case "s": {
        const value: unknown = v8.deserialize(encoded.b);
        return encoded.ids === undefined ? value : reviveHandles(value, revive);
      }
      case "ta":
        return new TYPED_ARRAYS[encoded.c](this.#handOut(encoded.b, encoded.k), encoded.o, encoded.n);
      case "ab":
        return this.#handOut(encoded.b, encoded.k);
      case "tc":
        return encoded.v;
      case "ar":
        return decodeArrow(encoded.k, encoded.b);
      case "r":
        throw new Error(`internal: unresolved ref ${encoded.id} reached decode`);
    }
  }

  /** The block of a decoded value, which user code of this thread now sees: never reused by this thread. */
  #handOut(buffer: SharedArrayBuffer | undefined, id: number): SharedArrayBuffer {
    const block = buffer === undefined ? this.#blockOf(id) : this.#adopt(buffer, id);
    this.#fresh.delete(block);
    return block;
  }

  /** Collects the object ids of every ObjectRef inside a value (nested refs), without copying it. */
  collectRefIds(value: unknown, out: number[], seen = new Set<object>()): number[] {
    if (typeof value !== "object" || value === null || seen.has(value)) return out;
    seen.add(value);
    if (isHandleData(value)) {
      if (value[HANDLE_KEY] === "ref") out.push(refNum(value, this.#tag, "a value holding"));
      else if (value[HANDLE_KEY] === "actor") {
        checkActorOwner(value, value[ACTOR_KEY].id, this.#tag, "a value holding");
        this.onActorExport?.(value[ACTOR_KEY].id);
      }
      return out;
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return out;
    const items = Array.isArray(value) || value instanceof Set ? value : value instanceof Map ? value.values() : Object.values(value);
    for (const item of items) this.collectRefIds(item, out, seen);
    return out;
  }
}
