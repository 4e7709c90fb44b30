/**
 * Arrow values (apache-arrow `Table`, `RecordBatch`, `Vector`) across
 * machines. Structured clone would copy their fields without their
 * prototypes (or refuse their closures), so on the cluster wire each one
 * travels as a marker holding its Arrow IPC stream bytes and its kind, the
 * form the local codec already gives Arrow values between threads; the
 * receiver rebuilds the value from the bytes. A marker is plain data, so
 * a large Arrow value takes the large-object path like any other value: it
 * stays on the machine that made it and is pulled in chunks.
 *
 * apache-arrow is loaded (through `import()`, the user's own instance) only
 * once an Arrow value or marker is met, and before it is read or rebuilt:
 * a value holding one waits for the load, as it does in local mode.
 *
 * Markers are made where a value is copied for the wire anyway (`unshare`
 * in wire.ts meets every object that is not plain data) and found where
 * received values are already searched for nested-ref markers, so values
 * without Arrow inside pay no extra pass.
 */
import { arrowBytes, arrowKind, arrowReady, decodeArrow, needsArrow, preloadArrow, type ArrowKind } from "../core/codec/codec-values.js";

/** Key of the marker that stands for an Arrow value on the wire. */
export const ARROW_VALUE = "__rayts_arrow__";

/** An Arrow value on the wire: its kind and its Arrow IPC stream bytes. */
export interface ArrowMarker {
  readonly [ARROW_VALUE]: ArrowKind;
  readonly b: Uint8Array;
}

/** The marker of an Arrow value, or undefined when `value` is not one. */
export function arrowMarker(value: object): ArrowMarker | undefined {
  const kind = arrowKind(value);
  if (kind === undefined) return undefined;
  const bytes = arrowBytes(value, kind);
  // A private copy of exactly these bytes (the IPC writer's buffer may be larger, or shared).
  return { [ARROW_VALUE]: kind, b: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice() };
}

/** True for a non-plain object that is an Arrow value (what `unshare` turns into a marker). */
export function isArrowValue(value: object): boolean {
  return arrowKind(value) !== undefined;
}

/** True when `value` is a plain object standing for an Arrow value. */
export function isArrowMarker(value: unknown): value is ArrowMarker {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype && ARROW_VALUE in value;
}

/** The Arrow value a marker stands for. */
export function fromArrowMarker(marker: ArrowMarker): unknown {
  // v8.deserialize places a view at any offset of its input; Arrow's reader needs 8-byte aligned buffers.
  const bytes = marker.b.byteOffset % 8 === 0 ? marker.b : new Uint8Array(marker.b);
  return decodeArrow(marker[ARROW_VALUE], bytes);
}

/** How deep inside a value markers are looked for (as nested-refs.ts). */
const MAX_DEPTH = 32;

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** True when a received value holds Arrow markers (in arrays and plain objects). */
export function holdsArrowMarkers(value: unknown, depth = 0): boolean {
  if (isArrowMarker(value)) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => holdsArrowMarkers(item, depth + 1));
  if (isPlain(value)) {
    for (const key in value) if (holdsArrowMarkers(value[key], depth + 1)) return true;
  }
  return false;
}

/** `value` with each Arrow marker replaced by its Arrow value (a copy of the containers that hold one). */
export function reviveArrows(value: unknown, depth = 0): unknown {
  if (isArrowMarker(value)) return fromArrowMarker(value);
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => reviveArrows(item, depth + 1));
  if (isPlain(value)) {
    const copy: Record<string, unknown> = {};
    for (const key in value) copy[key] = reviveArrows(value[key], depth + 1);
    return copy;
  }
  return value;
}

/** `value` with its Arrow markers rebuilt, once apache-arrow is loaded; `value` itself when it holds none. */
export async function withArrows(value: unknown): Promise<unknown> {
  if (!holdsArrowMarkers(value)) return value;
  await preloadArrow();
  return reviveArrows(value);
}

/** True when one of `values` is an Arrow value (or encoded one) met before apache-arrow was loaded. */
export function arrowPending(values: readonly unknown[]): boolean {
  return !arrowReady() && values.some(needsArrow);
}

export { preloadArrow };
