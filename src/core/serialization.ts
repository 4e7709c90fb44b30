/**
 * The value codec. Binary data (typed arrays, ArrayBuffers, Arrow tables,
 * record batches and vectors) is copied once into a SharedArrayBuffer and
 * from then on crosses threads by reference: a worker's view of it is the
 * driver's memory. Primitives ride inline. Everything else goes through v8's
 * structured-clone serializer; large serialized values also move to shared
 * memory so that sending them to many tasks copies nothing.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { SerializationError } from "./errors.js";
import { show } from "./options.js";
import { nextId } from "./global-state.js";
import { ACTOR_KEY, HANDLE_KEY, type Encoded, type HandleData, type TypedArrayName } from "./protocol.js";

/** Strings longer than this, and serialized values larger than this many bytes, go to shared memory. */
const INLINE_LIMIT = 64 * 1024;
const HANDLE_BYTES = Buffer.from(HANDLE_KEY, "latin1");

/**
 * SharedArrayBuffers the store made or handed out, by block id. Views on
 * them are already immutable store objects, so passing them on needs no copy.
 */
const storeOwned = new WeakMap<SharedArrayBuffer, number>();

/**
 * A worker's cache of shared blocks, by id. Every SharedArrayBuffer that
 * crosses a port arrives as a new object that V8 counts as fresh external
 * memory, which brings on garbage collections; so the driver sends a block
 * to a worker once, the worker keeps it here, and later messages name it by
 * id alone. The driver says when to forget a block (`evict`), once the
 * object store no longer holds it. The driver itself does not cache.
 */
const blocks = new Map<number, SharedArrayBuffer>();
let caching = false;

/** Makes this thread keep the blocks it receives (workers). */
export function enableBlockCache(): void {
  caching = true;
}

/** Forgets blocks the driver no longer stores; live views keep their memory. Returns the bytes forgotten. */
export function evictBlocks(ids: readonly number[]): number {
  let bytes = 0;
  for (const id of ids) {
    const block = blocks.get(id);
    if (block === undefined) continue;
    bytes += block.byteLength;
    blocks.delete(id);
  }
  return bytes;
}

/** The block of an encoded value that travels without its buffer. */
function blockOf(id: number): SharedArrayBuffer {
  const block = blocks.get(id);
  if (block === undefined) throw new Error(`internal: shared block ${id} is not cached in this thread`);
  return block;
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayConstructor = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => TypedArray;

const TYPED_ARRAYS: Record<TypedArrayName, TypedArrayConstructor> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/** Copies bytes into a fresh store-owned SharedArrayBuffer. */
function toShared(bytes: Uint8Array): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(shared).set(bytes);
  adopt(shared, nextId());
  return shared;
}

/** Marks a buffer as the store-owned block `id` (and caches it in a worker). */
function adopt(buffer: SharedArrayBuffer, id: number): SharedArrayBuffer {
  storeOwned.set(buffer, id);
  if (caching) blocks.set(id, buffer);
  return buffer;
}

/** Block id of a SharedArrayBuffer, made a store block (without a copy) if it is not one yet. */
function sharedBlock(buffer: SharedArrayBuffer): number {
  const known = storeOwned.get(buffer);
  if (known !== undefined) return known;
  const id = nextId();
  adopt(buffer, id);
  return id;
}

/** Block id of a store-owned buffer. */
function blockId(buffer: SharedArrayBuffer): number {
  return storeOwned.get(buffer) as number;
}

interface ArrowModule {
  tableToIPC(table: unknown, type?: "file" | "stream"): Uint8Array;
  tableFromIPC(bytes: Uint8Array): ArrowTable;
  Table: new (...args: unknown[]) => ArrowTable;
  makeTable?: unknown;
}
interface ArrowTable {
  readonly batches: readonly unknown[];
  getChildAt(index: number): unknown;
}

let arrow: ArrowModule | undefined;
let arrowLoading: Promise<void> | undefined;

/**
 * Loads apache-arrow through `import()`, which yields the same module
 * instance as the user's own `import` (Arrow's IPC writer relies on
 * `instanceof`, so a second copy of the library would misread tables).
 * The driver starts this at init; workers only when they meet Arrow data.
 */
export function preloadArrow(): Promise<void> {
  arrowLoading ??= import("apache-arrow").then(
    (module) => {
      arrow = module as unknown as ArrowModule;
    },
    () => undefined, // not installed: Arrow values cannot exist either
  );
  return arrowLoading;
}

/** True once Arrow values can be encoded and decoded synchronously. */
export function arrowReady(): boolean {
  return arrow !== undefined;
}

/** True when a value, or an encoded value, needs apache-arrow to be loaded first. */
export function needsArrow(value: unknown): boolean {
  if (arrow !== undefined || typeof value !== "object" || value === null) return false;
  if ((value as { t?: unknown }).t === "ar") return true;
  return arrowKind(value) !== undefined;
}

/** The loaded module; a synchronous require is the fallback when `put` comes before the preload finished. */
function loadArrow(): ArrowModule {
  if (arrow === undefined) {
    const require = createRequire(import.meta.url);
    arrow = require(fileURLToPath(import.meta.resolve("apache-arrow"))) as ArrowModule;
  }
  return arrow;
}

type ArrowKind = "table" | "batch" | "vector";
/** Recognises Arrow values by shape, without loading apache-arrow. */
function arrowKind(value: object): ArrowKind | undefined {
  const name = value.constructor?.name;
  if (name === "Table" && "schema" in value && "batches" in value) return "table";
  if (name === "RecordBatch" && "schema" in value && "data" in value) return "batch";
  if (name === "Vector" && "data" in value && "type" in value) return "vector";
  return undefined;
}

function encodeArrow(value: object, kind: ArrowKind): Encoded {
  const lib = loadArrow();
  let table: unknown = value;
  if (kind === "batch") table = new lib.Table(value);
  if (kind === "vector") table = new lib.Table({ v: value });
  const bytes = lib.tableToIPC(table, "stream");
  return { t: "ar", k: kind, b: new Uint8Array(toShared(bytes)) };
}

function decodeArrow(kind: ArrowKind, bytes: Uint8Array): unknown {
  const table = loadArrow().tableFromIPC(bytes);
  if (kind === "table") return table;
  if (kind === "batch") return table.batches[0];
  return table.getChildAt(0);
}

/** Prototypes structured clone keeps (or that need none): values with them travel as they are. */
const CLONEABLE: readonly Function[] = [
  Object, Array, Map, Set, Date, RegExp, Error, Boolean, Number, String, BigInt, ArrayBuffer, SharedArrayBuffer, DataView,
];

/**
 * The first instance of a user class inside a value, with its path, or
 * undefined. Structured clone copies such an object's fields but not its
 * prototype, so the receiver would get a plain object without its methods:
 * rayts refuses it instead of handing over something that only looks right.
 */
export function findClassInstance(value: unknown, path = "", seen = new Set<object>()): { path: string; name: string } | undefined {
  if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (isHandleData(value) || ArrayBuffer.isView(value)) return undefined;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && proto !== Object.prototype && !(value instanceof Error)) {
    const known = CLONEABLE.some((ctor) => proto === ctor.prototype);
    if (!known) return { path, name: (proto as { constructor?: { name?: string } }).constructor?.name || "anonymous" };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === "object" && item !== null) {
        const found = findClassInstance(item, `${path}[${i}]`, seen);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
  if (value instanceof Map) {
    for (const [key, item] of value) {
      const found = findClassInstance(key, `${path}.keys()`, seen) ?? findClassInstance(item, `${path}.get(${typeof key === "string" ? JSON.stringify(key) : "..."})`, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const item of value) {
      const found = findClassInstance(item, `${path}.values()`, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = findClassInstance((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Why a value cannot be encoded, or undefined when it can be tried. */
function refuse(value: unknown): string | undefined {
  if (typeof value === "function") return "functions cannot be sent to a worker; make it a remote function or pass its result";
  if (typeof value === "symbol") return "symbols cannot be sent to a worker";
  return undefined;
}

/**
 * Encodes a value for the store or a message. Throws SerializationError
 * naming `what` (for example "argument 1 of task square") and the reason.
 */
export function encode(value: unknown, what: string): Encoded {
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
      if (TYPED_ARRAYS[name] !== undefined) {
        if (view.buffer instanceof SharedArrayBuffer) {
          // Shared memory stays shared (that is what a SharedArrayBuffer is for): no snapshot.
          return { t: "ta", c: name, b: view.buffer, k: sharedBlock(view.buffer), o: view.byteOffset, n: view.length };
        }
        const shared = toShared(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        return { t: "ta", c: name, b: shared, k: blockId(shared), o: 0, n: view.length };
      }
    }
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      const shared = value instanceof SharedArrayBuffer ? value : toShared(new Uint8Array(value));
      sharedBlock(shared);
      return { t: "ab", b: shared, k: blockId(shared), n: shared.byteLength };
    }
    const kind = arrowKind(value);
    if (kind !== undefined) return encodeArrow(value, kind);
  }
  let instance: { path: string; name: string } | undefined;
  try {
    instance = findClassInstance(value);
  } catch {
    // Nested deeper than the stack allows: the serializer below decides.
  }
  if (instance !== undefined) {
    const where = instance.path === "" ? "" : ` (at ${instance.path})`;
    throw new SerializationError(
      `Cannot send ${what} (${show(value)}): it holds an instance of class ${instance.name}${where}, and a copy sent to ` +
        `another thread keeps its fields but loses its prototype (its methods and getters). Send plain data ` +
        `(e.g. { ...value }) and rebuild the ${instance.name} on the other side, or make ${instance.name} an actor.`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = v8.serialize(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SerializationError(`Cannot send ${what} (${show(value)}): ${reason}`, { cause: error });
  }
  const hasHandles = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(HANDLE_BYTES) >= 0;
  const ids = hasHandles ? collectRefIds(value, []) : undefined;
  if (bytes.byteLength > INLINE_LIMIT) return { t: "s", b: new Uint8Array(toShared(bytes)), ids };
  // A clone copies the whole backing buffer, so make sure it is exactly these bytes.
  if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== bytes.byteLength) bytes = bytes.slice();
  return { t: "s", b: bytes, ids };
}

/**
 * Encodes a task argument passed by value. A typed array that is not
 * already in the store is copied into a private buffer that travels by
 * structured clone: it is used once, and fresh shared memory per call costs
 * far more (new pages, and a collection in every thread that saw it) than
 * the clone. Everything else is encoded as by {@link encode}.
 */
export function encodeArg(value: unknown, what: string): Encoded {
  if (typeof value === "object" && value !== null && ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const view = value as TypedArray;
    const shared = view.buffer instanceof SharedArrayBuffer;
    const Ctor = TYPED_ARRAYS[view.constructor.name as TypedArrayName] as unknown as (new (buffer: ArrayBuffer, offset: number, length: number) => TypedArray) | undefined;
    if (!shared && Ctor !== undefined && view.byteLength > INLINE_LIMIT) {
      const copy = new Ctor(takeArgBuffer(view.byteLength), 0, view.length);
      copy.set(view as never);
      return { t: "tc", v: copy };
    }
  }
  return encode(value, what);
}

/** Private copies at least this large make their task worth sending at once. */
const LARGE_COPY = 1024 * 1024;

/** True for a by-value argument copy of at least a megabyte. */
export function isLargeCopy(value: Encoded): boolean {
  return typeof value === "object" && value !== null && value.t === "tc" && value.v.byteLength >= LARGE_COPY;
}

/**
 * Buffers for the private copies of by-value arguments, by size. A copy
 * never leaves its thread (workers get a structured clone of it), so once
 * its task has settled it can hold the next call's copy: a fresh large
 * buffer costs far more than the copy itself (new pages, and garbage that
 * brings on collections). Bounded, so idle memory stays small.
 */
const argBuffers = new Map<number, ArrayBuffer[]>();
let argBufferBytes = 0;
const ARG_POOL_BYTES = 256 * 1024 * 1024;

function takeArgBuffer(bytes: number): ArrayBuffer {
  const free = argBuffers.get(bytes)?.pop();
  if (free === undefined) return new ArrayBuffer(bytes);
  argBufferBytes -= bytes;
  return free;
}

/** Gives back the buffer of a by-value argument copy whose task has settled (and will not be sent again). */
export function releaseArg(value: Encoded): void {
  if (typeof value !== "object" || value === null || value.t !== "tc") return;
  const buffer = value.v.buffer;
  if (!(buffer instanceof ArrayBuffer) || argBufferBytes + buffer.byteLength > ARG_POOL_BYTES) return;
  const free = argBuffers.get(buffer.byteLength);
  if (free === undefined) argBuffers.set(buffer.byteLength, [buffer]);
  else free.push(buffer);
  argBufferBytes += buffer.byteLength;
}

/** Turns handle data back into live handles; supplied by the runtime of the thread. */
export type Reviver = (data: HandleData) => unknown;

/** Decodes a stored or received value. Binary values come back as views on shared memory. */
export function decode(encoded: Encoded, revive: Reviver): unknown {
  if (typeof encoded !== "object" || encoded === null) return encoded;
  switch (encoded.t) {
    case "s": {
      const value: unknown = v8.deserialize(encoded.b);
      return encoded.ids === undefined ? value : reviveHandles(value, revive);
    }
    case "ta":
      return new TYPED_ARRAYS[encoded.c](encoded.b === undefined ? blockOf(encoded.k) : adopt(encoded.b, encoded.k), encoded.o, encoded.n);
    case "ab":
      return encoded.b === undefined ? blockOf(encoded.k) : adopt(encoded.b, encoded.k);
    case "tc":
      return encoded.v;
    case "ar":
      return decodeArrow(encoded.k, encoded.b);
    case "r":
      throw new Error(`internal: unresolved ref ${encoded.id} reached decode`);
  }
}

/** Bytes of an encoded value that live in shared memory (which V8's collector does not count). */
export function sharedBytes(encoded: Encoded): number {
  if (typeof encoded !== "object" || encoded === null) return 0;
  switch (encoded.t) {
    case "ta":
    case "ab":
    case "ar":
      return sizeOf(encoded);
    case "s":
      return encoded.b.buffer instanceof SharedArrayBuffer ? encoded.b.byteLength : 0;
    default:
      return 0;
  }
}

/** Bytes an encoded value occupies in the store. */
export function sizeOf(encoded: Encoded): number {
  if (typeof encoded !== "object" || encoded === null) return typeof encoded === "string" ? encoded.length * 2 : 8;
  switch (encoded.t) {
    case "s":
    case "ar":
      return encoded.b.byteLength;
    case "ab":
      return encoded.n;
    case "tc":
      return encoded.v.byteLength;
    case "ta":
      return encoded.n * (TYPED_ARRAYS[encoded.c] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    case "r":
      return 0;
  }
}

/** True when the value is a handle, as data or alive. */
export function isHandleData(value: unknown): value is HandleData {
  return typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[HANDLE_KEY] === "string";
}

/** Replaces handle data found anywhere in a deserialized value with live handles. */
function reviveHandles(value: unknown, revive: Reviver): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (isHandleData(value)) return revive(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveHandles(value[i], revive);
    return value;
  }
  if (value instanceof Map) {
    for (const [key, item] of value) value.set(key, reviveHandles(item, revive));
    return value;
  }
  if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(reviveHandles(item, revive));
    return value;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = reviveHandles(record[key], revive);
  return value;
}

let onActorExport: ((actor: number) => void) | undefined;

/** Hears of every actor handle found inside an encoded value (the driver stops tracking that actor's lifetime). */
export function setActorExportHook(hook: ((actor: number) => void) | undefined): void {
  onActorExport = hook;
}

/** Collects the object ids of every ObjectRef inside a value (nested refs), without copying it. */
export function collectRefIds(value: unknown, out: number[], seen = new Set<object>()): number[] {
  if (typeof value !== "object" || value === null || seen.has(value)) return out;
  seen.add(value);
  if (isHandleData(value)) {
    if (value[HANDLE_KEY] === "ref") out.push(value.id);
    else if (value[HANDLE_KEY] === "actor") onActorExport?.(value[ACTOR_KEY].id);
    return out;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return out;
  const items = Array.isArray(value) || value instanceof Set ? value : value instanceof Map ? value.values() : Object.values(value);
  for (const item of items) collectRefIds(item, out, seen);
  return out;
}
