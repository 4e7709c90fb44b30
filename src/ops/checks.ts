/**
 * Argument checks at the boundary of the operators: the core's option checks
 * (one place for messages) plus the operators' own sequence checks. Each
 * message names the argument, what was expected and what was received; code
 * past the boundary trusts what comes out of here and never re-checks.
 */
import { isObjectRef, type ObjectRef } from "../core/object-ref.js";
import { checkBoolean, checkInteger, checkOptions, show } from "../core/options.js";
import { RemoteFunction } from "../core/remote-function.js";

/** Renders a received value for an error message (the core's renderer: one validation place). */
export const describe = show;

/** True for a RemoteFunction from this or another copy of rayts (the handle marker survives). */
export function isRemoteFunction(value: unknown): value is RemoteFunction<unknown[], unknown> {
  if (value instanceof RemoteFunction) return true;
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { __rayts$?: unknown }).__rayts$ === "fn" &&
    typeof (value as { remote?: unknown }).remote === "function"
  );
}

/** A plain function, checked. */
export function checkFunction<F extends Function>(value: unknown, name: string): F {
  if (typeof value !== "function") throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  return value as F;
}

/** A plain function or a RemoteFunction, checked. */
export function checkFunctionOrRemote<F extends Function, R>(value: unknown, name: string): F | R {
  if (typeof value === "function" || isRemoteFunction(value)) return value as F | R;
  throw new TypeError(`Expected \`${name}\` to be a function or a RemoteFunction, got ${describe(value)}`);
}

export { checkBoolean, checkInteger, checkOptions };

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
  if (typeof value === "object" && value !== null && isObjectRef(value)) {
    throw new TypeError(`Expected \`${name}\` of ${what} to be an array or an iterable, got ${describe(value)}; get() it first, or use aggListDistributed, which takes refs`);
  }
  if (typeof value === "object" && value !== null && isArrayLike(value)) items = value as ArrayLike<T>;
  else if (typeof value === "object" && value !== null && isIterable(value)) items = Array.from(value as Iterable<T>);
  else throw new TypeError(`Expected \`${name}\` of ${what} to be an array, a typed array or an iterable, got ${describe(value)}`);
  checkNotEmpty(items, name, what);
  return items;
}

export function checkNotEmpty(items: ArrayLike<unknown>, name: string, what: string): void {
  if (items.length === 0) throw new RangeError(`Expected \`${name}\` of ${what} to hold at least one item, got an empty sequence`);
}

/** Inputs of a pipelined map: any sync or async iterable (arrays included). */
export function checkInputs<T>(value: unknown, name: string, what: string): Iterable<T> | AsyncIterable<T> {
  if (typeof value === "object" && value !== null && !isObjectRef(value) && (isIterable(value) || isAsyncIterable(value))) {
    return value as Iterable<T> | AsyncIterable<T>;
  }
  throw new TypeError(`Expected \`${name}\` of ${what} to be an array, an iterable or an async iterable, got ${describe(value)}`);
}

/** A sequence or a ref to one, for the distributed fold. */
export function checkSequenceOrRef<T>(value: unknown, name: string, what: string): ArrayLike<T> | ObjectRef<ArrayLike<T>> {
  if (typeof value === "object" && value !== null && isObjectRef(value)) return value as ObjectRef<ArrayLike<T>>;
  if (typeof value === "object" && value !== null && (isArrayLike(value) || isIterable(value))) return checkSequence<T>(value, name, what);
  throw new TypeError(
    `Expected \`${name}\` of ${what} to be an array, a typed array, an iterable or an ObjectRef to an array, got ${describe(value)}`,
  );
}
