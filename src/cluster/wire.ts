/**
 * What crosses machines: the messages of the task transport (driver to node,
 * node to driver) and the byte form of a large object served by an object
 * server. Messages are v8-serialized in batches; values inside them are
 * plain copies (shared memory never leaves a process), Arrow values as
 * markers holding their IPC bytes (see arrow-wire.ts).
 */
import { deserialize, serialize } from "node:v8";
import type { ErrorData } from "../core/api/errors.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import { arrowMarker, isArrowValue } from "./arrow-wire.js";
import type { NamedActorRecord } from "./control-plane.js";

/** Largest value that travels inline in a message (Ray's 100 KiB); larger ones stay with their maker. */
export const INLINE_LIMIT = 100 * 1024;

/** A task argument on the wire: a value inline, or a large object to pull from one of its holders. */
export type ArgWire = { readonly i: unknown } | { readonly r: string; readonly size: number; readonly holders: readonly string[] };

/** Driver (owner) to node, through the node's stream. */
export type ToNode =
  | {
      readonly k: "task";
      readonly id: string;
      readonly owner: string;
      readonly fn: string;
      readonly name: string;
      readonly args: readonly ArgWire[];
      readonly numCpus: number;
      readonly maxRetries: number;
      readonly retryExceptions: boolean;
      /** A streaming generator: items already delivered (skipped when run again), unconsumed items at which it pauses. */
      readonly stream?: { readonly skip: number; readonly backpressure: number };
    }
  | {
      readonly k: "actor";
      readonly id: string;
      readonly owner: string;
      readonly cls: string;
      readonly name: string;
      readonly args: readonly ArgWire[];
      readonly options: ResolvedActorOptions;
      readonly methods: readonly string[];
    }
  | { readonly k: "call"; readonly id: string; readonly owner: string; readonly actor: string; readonly method: string; readonly args: readonly ArgWire[] }
  | { readonly k: "kill"; readonly actor: string }
  | { readonly k: "cancel"; readonly id: string; readonly force: boolean }
  | { readonly k: "free"; readonly ids: readonly string[] }
  /** The owner took `consumed` items of a streaming generator (its backpressure). */
  | { readonly k: "ack"; readonly id: string; readonly consumed: number }
  /** The owner streams the items of actor call `id` (sent just after the call), pausing at `backpressure` unconsumed ones (0: none). */
  | { readonly k: "stream"; readonly id: string; readonly backpressure: number }
  /** An actor was named in the cluster (see actor-registry.ts): known here before any task sent after it. */
  | { readonly k: "named"; readonly actor: NamedActorRecord };

/** Node to owner, through the owner's result stream. */
export type FromNode =
  | { readonly k: "ok"; readonly id: string; readonly v: unknown }
  | { readonly k: "big"; readonly id: string; readonly size: number; readonly holder: string }
  | { readonly k: "err"; readonly id: string; readonly e: ErrorData }
  /** Item `index` (from 0) of the streaming generator task `id`, as a result of its own. */
  | { readonly k: "item"; readonly id: string; readonly index: number; readonly item: ItemResult };

/** One item of a streaming generator: its value, where it is held, or the error its `get` throws. */
export type ItemResult =
  | { readonly k: "ok"; readonly id: string; readonly v: unknown }
  | { readonly k: "big"; readonly id: string; readonly size: number; readonly holder: string }
  | { readonly k: "err"; readonly id: string; readonly e: ErrorData };

/** A line a task printed, as its owner's driver writes it: `s` the stream, `t` the text with its prefix. */
export interface OwnerLine {
  readonly s: "out" | "err";
  readonly t: string;
}

/** One entry of a result stream. */
export interface ResultBatch {
  readonly node: string;
  readonly results: readonly FromNode[];
  /** Lines the owner's tasks and actor calls printed on `node`, in order (before the results of this batch). */
  readonly lines?: readonly OwnerLine[];
  /** Sent by whoever declared `node` dead: the owner's work that was there (see liveness.ts). */
  readonly died?: { readonly nodeId: string; readonly lost: readonly string[] };
}

/** A copy of `value` with every shared-memory view copied into private memory (v8.serialize refuses shared buffers). */
export function unshare(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (ArrayBuffer.isView(value)) {
    if (!(value.buffer instanceof SharedArrayBuffer)) return value;
    const Ctor = value.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView;
    const copy = new ArrayBuffer(value.byteLength);
    new Uint8Array(copy).set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    const width = (value as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
    return value instanceof DataView ? new DataView(copy) : new Ctor(copy, 0, value.byteLength / width);
  }
  if (value instanceof SharedArrayBuffer) {
    const copy = new ArrayBuffer(value.byteLength);
    new Uint8Array(copy).set(new Uint8Array(value));
    return copy;
  }
  if (Array.isArray(value)) return value.some(needsUnshare) ? value.map(unshare) : value;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [unshare(k), unshare(v)]));
  if (value instanceof Set) return new Set([...value].map(unshare));
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    if (!entries.some(([, v]) => needsUnshare(v))) return value;
    return Object.fromEntries(entries.map(([k, v]) => [k, unshare(v)]));
  }
  // Only objects that are not plain data get here: an Arrow value travels as its IPC bytes.
  return arrowMarker(value) ?? value;
}

function needsUnshare(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof SharedArrayBuffer) return true;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer;
  if (Array.isArray(value)) return value.some(needsUnshare);
  if (value instanceof Map || value instanceof Set) return true;
  if (Object.getPrototypeOf(value) !== Object.prototype) return isArrowValue(value);
  return Object.values(value).some(needsUnshare);
}

/** A value in its transfer form. Typed arrays and ArrayBuffers are their raw bytes (no copy). */
export interface Payload {
  readonly kind: "ta" | "ab" | "v8";
  /** Typed array constructor name for `ta`. */
  readonly type: string;
  readonly bytes: Uint8Array;
}

const TYPED: Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

/** The transfer form of a value. */
export function toPayload(value: unknown): Payload {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView) && value.constructor.name in TYPED) {
    // Buffer views (not plain Uint8Arrays): sockets write them without another copy.
    return { kind: "ta", type: value.constructor.name, bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return { kind: "ab", type: "", bytes: Buffer.from(value) };
  return { kind: "v8", type: "", bytes: serialize(unshare(value)) };
}

/** Rebuilds a value from its transfer form; `bytes` must own its ArrayBuffer from offset 0 for `ta`/`ab` (no copy then). */
export function fromPayload(kind: string, type: string, bytes: Uint8Array): unknown {
  if (kind === "v8") return deserialize(bytes);
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
  if (kind === "ab") return whole;
  const Ctor = TYPED[type];
  if (Ctor === undefined) throw new TypeError(`unknown typed array type "${type}" in a transfer`);
  const width = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return new Ctor(whole, 0, bytes.byteLength / width);
}

/** Bytes a value takes inline; `Infinity` when it is over {@link INLINE_LIMIT} (not measured further). */
export function inlineSize(value: unknown): number {
  if (value === null || typeof value !== "object") {
    return typeof value === "string" ? value.length * 2 : 16;
  }
  if (ArrayBuffer.isView(value)) return value.byteLength > INLINE_LIMIT ? Infinity : value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength > INLINE_LIMIT ? Infinity : value.byteLength;
  const size = serialize(unshare(value)).byteLength;
  return size > INLINE_LIMIT ? Infinity : size;
}
