/**
 * The bytes-only form of protocol messages, for a channel that cannot share
 * memory (a socket). Between a driver and its worker threads messages go by
 * `postMessage` and keep their SharedArrayBuffers: a worker reads the
 * driver's memory with no copy. A batch for the wire is instead one byte
 * string: a header with the protocol version, then the v8 serialization of
 * the batch in which every shared buffer (and view on one) is a private
 * copy. The receiver gets shared memory back (fresh buffers holding the same
 * bytes), so its object store hands them on to its own workers without
 * another copy.
 *
 * The wire form cannot use a worker's block cache: a value whose shared
 * block was left out (`b: undefined`, sent earlier by id) is refused.
 */
import v8 from "node:v8";
import { TYPED_ARRAYS } from "../codec/codec-values.js";
import { allocateSharedBlock } from "../store/shared-blocks.js";
import type { FromWorker, ToWorker, TypedArrayName } from "./protocol.js";

/** Version of the message protocol; a receiver refuses batches of another version. */
export const PROTOCOL_VERSION = 2;

/** Any protocol message. */
export type Message = ToWorker | FromWorker;

/** First bytes of every wire batch ("RT"), then the version byte. */
const MAGIC_0 = 0x52;
const MAGIC_1 = 0x54;
const HEADER_BYTES = 3;
/** Key of the plain stand-in of shared memory inside a wire batch: its bytes. */
const SHARED = "__rayts$shared";
/** Key naming the typed array of a stand-in for a view on shared memory (absent for a whole buffer). */
const VIEW = "__rayts$view";

interface SharedStandIn {
  readonly [SHARED]: Uint8Array;
  readonly [VIEW]?: TypedArrayName;
}

/** A copy of `value` with every SharedArrayBuffer replaced by a stand-in holding a private copy of its bytes. */
function detach(value: unknown, where: string): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof SharedArrayBuffer) return { [SHARED]: new Uint8Array(value).slice() } satisfies SharedStandIn;
  if (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer) {
    const name = value.constructor.name as TypedArrayName;
    if (!Object.hasOwn(TYPED_ARRAYS, name)) throw new Error(`${where} is a ${name} on shared memory, which the wire form does not carry`);
    return { [SHARED]: new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice(), [VIEW]: name } satisfies SharedStandIn;
  }
  // Private memory: v8's serializer copies it.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) return value.map((item, index) => detach(item, `${where}[${index}]`));
  const boxed = value as { t?: unknown; b?: unknown; k?: unknown };
  if ((boxed.t === "ta" || boxed.t === "ab") && boxed.b === undefined) {
    throw new Error(`${where} names shared block ${String(boxed.k)} without its bytes (a worker's block cache); a wire batch must carry every block`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = detach(item, `${where}.${key}`);
  return out;
}

/** The inverse of {@link detach}: stand-ins become fresh SharedArrayBuffers. */
function attach(value: unknown): unknown {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = attach(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const bytes = record[SHARED];
  if (bytes instanceof Uint8Array) {
    const shared = allocateSharedBlock(bytes.byteLength);
    new Uint8Array(shared).set(bytes);
    const view = record[VIEW] as TypedArrayName | undefined;
    if (view === undefined) return shared;
    const Ctor = TYPED_ARRAYS[view];
    return new Ctor(shared, 0, bytes.byteLength / (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
  }
  for (const key of Object.keys(record)) record[key] = attach(record[key]);
  return record;
}

/** A message's kind, for errors; flat cells are runs (to a worker) or results (from one). */
export function messageKind(message: Message): string {
  return Array.isArray(message) ? "cells" : message.kind;
}

/**
 * Encodes a batch of messages as bytes that hold no shared memory.
 * Throws when a message names a cached block instead of carrying it.
 */
export function batchToBytes(batch: readonly Message[]): Uint8Array {
  const body = v8.serialize(batch.map((message, index) => detach(message, `message ${index} (${messageKind(message)})`)));
  const bytes = new Uint8Array(HEADER_BYTES + body.byteLength);
  bytes[0] = MAGIC_0;
  bytes[1] = MAGIC_1;
  bytes[2] = PROTOCOL_VERSION;
  bytes.set(body, HEADER_BYTES);
  return bytes;
}

/** Decodes a batch made by {@link batchToBytes}; refuses bytes of another format or protocol version. */
export function batchFromBytes(bytes: Uint8Array): Message[] {
  if (bytes.byteLength < HEADER_BYTES || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
    throw new Error(`Expected a rayts message batch (starting with "RT"), got ${bytes.byteLength} bytes that are not one`);
  }
  const version = bytes[2];
  if (version !== PROTOCOL_VERSION) {
    throw new Error(`Expected a message batch of protocol version ${PROTOCOL_VERSION}, got version ${String(version)}: both ends must run the same rayts release`);
  }
  const batch: unknown = v8.deserialize(bytes.subarray(HEADER_BYTES));
  if (!Array.isArray(batch)) throw new Error("Expected a message batch to hold an array of messages");
  return attach(batch) as Message[];
}
