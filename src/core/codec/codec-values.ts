/**
 * The stateless half of the value codec: how values are recognised, sized
 * and checked, and Arrow's loading. The stateful half (block ids, a
 * worker's block cache, argument buffers) is {@link Codec}, one per thread.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { HANDLE_KEY, type Encoded, type HandleData, type TypedArrayName } from "../protocol/protocol.js";

/** Strings longer than this, and serialized values larger than this many bytes, go to shared memory. */
export const INLINE_LIMIT = 64 * 1024;

export type TypedArray =
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

export type TypedArrayConstructor = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => TypedArray;

export const TYPED_ARRAYS: Record<TypedArrayName, TypedArrayConstructor> = {
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

export interface ArrowModule {
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
      arrow = module;
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
export function loadArrow(): ArrowModule {
  if (arrow === undefined) {
    const require = createRequire(import.meta.url);
    arrow = require(fileURLToPath(import.meta.resolve("apache-arrow"))) as ArrowModule;
  }
  return arrow;
}

export type ArrowKind = "table" | "batch" | "vector";
/** Recognises Arrow values by shape, without loading apache-arrow. */
export function arrowKind(value: object): ArrowKind | undefined {
  const name = (value as { constructor?: { readonly name: string } }).constructor?.name; // undefined for Object.create(null)
  if (name === "Table" && "schema" in value && "batches" in value) return "table";
  if (name === "RecordBatch" && "schema" in value && "data" in value) return "batch";
  if (name === "Vector" && "data" in value && "type" in value) return "vector";
  return undefined;
}

/** Arrow IPC bytes of a table, record batch or vector. */
export function arrowBytes(value: object, kind: ArrowKind): Uint8Array {
  const lib = loadArrow();
  let table: unknown = value;
  if (kind === "batch") table = new lib.Table(value);
  if (kind === "vector") table = new lib.Table({ v: value });
  return lib.tableToIPC(table, "stream");
}

export function decodeArrow(kind: ArrowKind, bytes: Uint8Array): unknown {
  const table = loadArrow().tableFromIPC(bytes);
  if (kind === "table") return table;
  if (kind === "batch") return table.batches[0];
  return table.getChildAt(0);
}

/** Prototypes structured clone keeps (or that need none): values with them travel as they are. */
const CLONEABLE: readonly { readonly prototype: unknown }[] = [
  Object, Array, Map, Set, Date, RegExp, Error, Boolean, Number, String, BigInt, ArrayBuffer, SharedArrayBuffer, DataView,
];

/**
 * The first instance of a user class inside a value, with its path, or
 * undefined. Structured clone copies such an object's fields but not its
 * prototype, so the receiver would get a plain object without its methods:
 * rayts refuses it instead of handing over something that only looks right.
 */
export function findClassInstance(value: unknown, path = "", seen = new Set<object>()): { path: string; name: string } | undefined {
  return findNested(value, path, seen, (item, at) => {
    if (typeof item !== "object" || item === null || isHandleData(item) || ArrayBuffer.isView(item) || item instanceof Error) return undefined;
    const proto = Object.getPrototypeOf(item) as object | null;
    if (proto === null || proto === Object.prototype || CLONEABLE.some((ctor) => proto === ctor.prototype)) return undefined;
    return { path: at, name: (proto as { constructor?: { name?: string } }).constructor?.name || "anonymous" };
  });
}

/** The path of the first function or symbol nested inside a value (what structured clone refuses), or undefined. */
function findUnsendable(value: unknown, path: string, seen: Set<object>): { path: string; value: unknown } | undefined {
  return findNested(value, path, seen, (item, at) => (typeof item === "function" || typeof item === "symbol" ? { path: at, value: item } : undefined));
}

/**
 * The first result `match` gives for `value` or a value nested in it, with
 * its path; arrays, maps, sets and fields are entered once each, handles
 * and binary views not at all.
 */
function findNested<R>(value: unknown, path: string, seen: Set<object>, match: (value: unknown, path: string) => R | undefined): R | undefined {
  const found = match(value, path);
  if (found !== undefined) return found;
  if (typeof value !== "object" || value === null || seen.has(value) || isHandleData(value) || ArrayBuffer.isView(value)) return undefined;
  seen.add(value);
  if (value instanceof Map) {
    for (const [key, item] of value) {
      const inside = findNested(key, `${path}.keys()`, seen, match) ?? findNested(item, `${path}.get(${typeof key === "string" ? JSON.stringify(key) : "..."})`, seen, match);
      if (inside !== undefined) return inside;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const item of value) {
      const inside = findNested(item, `${path}.values()`, seen, match);
      if (inside !== undefined) return inside;
    }
    return undefined;
  }
  const array = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const inside = findNested((value as Record<string, unknown>)[key], array ? `${path}[${key}]` : `${path}.${key}`, seen, match);
    if (inside !== undefined) return inside;
  }
  return undefined;
}

/**
 * Why the serializer refused `value`: where a nested function or symbol
 * sits and why it cannot travel, or else the serializer's own message.
 */
export function cloneFailure(value: unknown, error: unknown): string {
  let found: { path: string; value: unknown } | undefined;
  try {
    found = findUnsendable(value, "", new Set());
  } catch {
    // A getter that throws, or nesting deeper than the stack: the serializer's message says enough.
  }
  if (found !== undefined && found.path !== "") return `it holds a ${typeof found.value} at ${found.path}; ${refuse(found.value) ?? ""}`;
  return error instanceof Error ? error.message : String(error);
}

/** Why a value cannot be encoded, or undefined when it can be tried. */
export function refuse(value: unknown): string | undefined {
  if (typeof value === "function") return "functions cannot be sent to a worker; make it a remote function or pass its result";
  if (typeof value === "symbol") return "symbols cannot be sent to a worker";
  return undefined;
}

/** Private copies at least this large make their task worth sending at once. */
const LARGE_COPY = 1024 * 1024;

/** True for a by-value argument copy of at least a megabyte. */
export function isLargeCopy(value: Encoded): boolean {
  return typeof value === "object" && value !== null && value.t === "tc" && value.v.byteLength >= LARGE_COPY;
}

/** Turns handle data back into live handles; supplied by the runtime of the thread. */
export type Reviver = (data: HandleData) => unknown;

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
export function reviveHandles(value: unknown, revive: Reviver): unknown {
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

