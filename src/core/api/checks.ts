/**
 * Checks of single values at the public boundary, shared by every option
 * resolver and by the operators: each names the option, what was expected
 * and what was received (rendered by {@link show}).
 */
import type { ObjectRef } from "./object-ref.js";

/** Renders a received value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `a function`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if ((value as { __rayts$?: unknown }).__rayts$ === "ref") return (value as ObjectRef<unknown>).toString();
  const name = (value as { constructor?: { readonly name: string } }).constructor?.name; // undefined for Object.create(null)
  if (!name || name === "Object") return "an object";
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * An options object, or `{}` for undefined; `what` names the call ("get()":
 * "the options of get()") or the options themselves ("task options",
 * "options of method f": "the task options").
 */
export function checkObject(value: unknown, what: string): Record<string, unknown> {
  const named = what.startsWith("options of ") || what.endsWith(" options");
  return checkObjectOption(value, named ? `the ${what}` : `the options of ${what}`);
}

/** An object-valued option such as `concurrencyGroups`, or `{}` for undefined. */
export function checkObjectOption(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected ${name.startsWith("the ") ? name : `\`${name}\``} to be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Refuses keys outside `allowed`, naming the key and the keys that exist. */
export function checkKeys(options: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` of ${what}; expected one of ${allowed.map((k) => `\`${k}\``).join(", ")}`);
    }
  }
}

/** An options object (or undefined) holding only the allowed keys. */
export function checkOptions(value: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  const options = checkObject(value, what);
  checkKeys(options, allowed, what);
  return options;
}

/** Checks an integer option; `min` is inclusive. */
export function checkInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be an integer from ${min} and up, got ${show(value)}`);
  }
  return value;
}

/**
 * A retry or restart count that never runs out. Ray writes it -1; it is kept
 * as a large finite number so that it survives JSON and compares as a count.
 */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Checks `maxRetries`, `maxRestarts` or `maxTaskRetries`: a count from 0, or -1 (or Infinity) for no limit, as in Ray. */
export function checkRetries(value: unknown, name: string): number {
  if (value === -1 || value === Infinity) return UNLIMITED;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be an integer from 0 and up, or -1 for no limit, got ${show(value)}`);
  }
  return value;
}

/** Checks a boolean option. */
export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

export function checkName(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/**
 * Checks a task's `numCpus`: 0, a fraction of one CPU (to 4 decimals), or a
 * whole number of CPUs, as Ray accepts them (`1.5` is refused, as in Ray).
 */
export function checkCpus(value: unknown, name: string): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    value >= 0 &&
    (Number.isInteger(value) || (value < 1 && Math.abs(value * 10_000 - Math.round(value * 10_000)) < 1e-6));
  if (!ok) {
    throw new RangeError(`Expected \`${name}\` to be 0, a fraction of one CPU (such as 0.25) or a whole number of CPUs, got ${show(value)}`);
  }
  return value;
}

/** Checks a timeout in milliseconds; `undefined` means wait forever. */
export function checkTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === Infinity) return undefined;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a number of milliseconds from 0 and up, got ${show(value)}`);
  }
  // Node fires a timer longer than it can hold at once (after 1 ms): such a timeout (over 24.8 days) means no limit.
  return value > MAX_TIMER_MS ? undefined : value;
}

/** The longest delay a Node timer holds (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
