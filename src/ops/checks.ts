/**
 * Argument checks at the boundary of the operators. Each message names the
 * argument, what was expected and what was received; code past the boundary
 * trusts what comes out of here and never re-checks.
 */
import { isObjectRef, type ObjectRef } from "../core/object-ref.js";
import { RemoteFunction } from "../core/remote-function.js";

/** Renders a received value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (value === null || typeof value !== "object") return String(value);
  if (isObjectRef(value)) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

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

/** An integer from `min` up. NaN, fractions, infinities and non-numbers are refused. */
export function checkInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`);
  }
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  return value;
}

/** An options object (or undefined) holding only the allowed keys. */
export function checkOptions(value: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected the options of ${what} to be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` of ${what}; expected one of ${allowed.map((k) => `\`${k}\``).join(", ")}`);
    }
  }
  return value as Record<string, unknown>;
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
 * Empty input is a RangeError, as in the seed's `agg_list`.
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
