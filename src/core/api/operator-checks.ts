/**
 * Checks of the operators' arguments (functions to run, sequences to fold,
 * inputs to map), with the same messages as the core's option checks.
 * Handles are recognised by their marker, so a RemoteFunction or an
 * ObjectRef from another copy of rayts is recognised too.
 */
import type { ObjectRef } from "./object-ref.js";
import type { RemoteFunction } from "./remote-function.js";
import { show } from "./checks.js";

/** True for an ObjectRef from any copy of rayts (its marker survives a clone). */
function isRefLike(value: object): boolean {
  return (value as { __rayts$?: unknown }).__rayts$ === "ref";
}

/** Renders a received value for an error message (the core's renderer: one validation place). */
export const describe = show;

/** True for a RemoteFunction from this or another copy of rayts (the handle marker survives). */
export function isRemoteFunction(value: unknown): value is RemoteFunction<unknown[], unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { __rayts$?: unknown }).__rayts$ === "fn" &&
    typeof (value as { remote?: unknown }).remote === "function"
  );
}

/** A plain function, checked. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the function type it checked for
export function checkFunction<F extends (...args: never[]) => unknown>(value: unknown, name: string): F {
  if (typeof value !== "function") throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  return value as F;
}

/** A plain function or a RemoteFunction, checked. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the function types it checked for
export function checkFunctionOrRemote<F extends (...args: never[]) => unknown, R>(value: unknown, name: string): F | R {
  if (typeof value === "function" || isRemoteFunction(value)) return value as F | R;
  throw new TypeError(`Expected \`${name}\` to be a function or a RemoteFunction, got ${describe(value)}`);
}

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

function isArrayLike(value: object): value is ArrayLike<unknown> {
  const length = (value as { length?: unknown }).length;
  return typeof length === "number" && Number.isInteger(length) && length >= 0;
}

/**
 * A sequence to fold, as something indexable. Arrays and typed arrays are
 * used as they are (no copy); other iterables are read once into an array.
 * Empty input is a RangeError, as in the classic `agg_list`.
 */
export function checkSequence<T>(value: unknown, name: string, what: string): ArrayLike<T> {
  let items: ArrayLike<T>;
  if (typeof value === "object" && value !== null && isRefLike(value)) {
    throw new TypeError(`Expected \`${name}\` of ${what} to be an array or an iterable, got ${describe(value)}; get() it first, or use aggListDistributed, which takes refs`);
  }
  if (typeof value === "object" && value !== null && isArrayLike(value)) items = value as ArrayLike<T>;
  else if (typeof value === "object" && value !== null && isIterable(value)) items = Array.from(value as Iterable<T>);
  else throw new TypeError(`Expected \`${name}\` of ${what} to be an array, a typed array or an iterable, got ${describe(value)}`);
  checkNotEmpty(items, name, what);
  return items;
}

/** Refuses an empty sequence, naming it. */
export function checkNotEmpty(items: ArrayLike<unknown>, name: string, what: string): void {
  if (items.length === 0) throw new RangeError(`Expected \`${name}\` of ${what} to hold at least one item, got an empty sequence`);
}

/** Inputs of a pipelined map: any sync or async iterable (arrays included). */
export function checkInputs<T>(value: unknown, name: string, what: string): Iterable<T> | AsyncIterable<T> {
  if (typeof value === "object" && value !== null && !isRefLike(value) && (isIterable(value) || isAsyncIterable(value))) {
    return value as Iterable<T> | AsyncIterable<T>;
  }
  throw new TypeError(`Expected \`${name}\` of ${what} to be an array, an iterable or an async iterable, got ${describe(value)}`);
}

/** A sequence or a ref to one, for the distributed fold. */
export function checkSequenceOrRef<T>(value: unknown, name: string, what: string): ArrayLike<T> | ObjectRef<ArrayLike<T>> {
  if (typeof value === "object" && value !== null && isRefLike(value)) return value as ObjectRef<ArrayLike<T>>;
  if (typeof value === "object" && value !== null && (isArrayLike(value) || isIterable(value))) return checkSequence<T>(value, name, what);
  throw new TypeError(
    `Expected \`${name}\` of ${what} to be an array, a typed array, an iterable or an ObjectRef to an array, got ${describe(value)}`,
  );
}
