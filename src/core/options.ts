/**
 * Option validation at the public boundary. Every check names the option,
 * what was expected and what was received; what comes out is a `Resolved...`
 * object that internal code trusts.
 */
import { availableParallelism, totalmem } from "node:os";
import type { ResolvedTaskOptions } from "./protocol.js";

/** Options of `init`. */
export interface InitOptions {
  /** Worker threads for tasks (CPU slots). Defaults to the logical CPU count. */
  numCpus?: number;
  /** Bytes the object store may hold. Defaults to 30% of system memory. */
  objectStoreMemory?: number;
  /** Cluster address; only local mode (`undefined`, `"local"`) is available. */
  address?: string;
  /** Make a second `init` a no-op instead of an error. */
  ignoreReinitError?: boolean;
}

export interface ResolvedInitOptions {
  readonly numCpus: number;
  readonly objectStoreMemory: number;
  readonly ignoreReinitError: boolean;
}

/** Options of a remote function, `remote(fn, options)` or `.options(...)`. */
export interface TaskOptions {
  /** CPU slots the task holds while it runs (default 1). */
  numCpus?: number;
  /** Times a task whose worker died is retried (default 3). */
  maxRetries?: number;
  /** Also retry when the task throws (default false). */
  retryExceptions?: boolean;
  /** Name shown in logs and errors (default: the function's name). */
  name?: string;
}

/** Options of an actor class, `remote(Class, options)` or `.options(...)`. */
export interface ActorOptions {
  /** Times the actor is restarted after its worker dies (default 0). */
  maxRestarts?: number;
  /** Times a method call is retried after the actor's worker died (default 0). */
  maxTaskRetries?: number;
  /** Register the actor under this name for `getActor(name)`. */
  name?: string;
  /** Namespace of the actor's name (default `"default"`); `getActor(name, { namespace })` looks there. */
  namespace?: string;
  /** With `name`: return the live actor of that name instead of failing when it exists. */
  getIfExists?: boolean;
  /**
   * `"detached"`: the actor is not stopped when no handle can reach it; it
   * lives until `kill()` or `shutdown()`. Default: stopped once unreachable.
   */
  lifetime?: "detached" | "default";
  /** Calls of the default group that may run at once; above 1, async methods interleave at their awaits (default 1: strict order). */
  maxConcurrency?: number;
  /** Named groups of methods, each with its own limit of calls at once, e.g. `{ io: 4 }`. */
  concurrencyGroups?: Record<string, number>;
  /** Per-method options: `{ fetch: { concurrencyGroup: "io" } }`; other methods run in the default group. */
  methodOptions?: Record<string, { concurrencyGroup?: string }>;
  /** Give the actor a thread of its own instead of sharing one with other actors (default false). */
  dedicatedThread?: boolean;
}

export interface ResolvedActorOptions {
  readonly maxRestarts: number;
  readonly maxTaskRetries: number;
  readonly name: string | undefined;
  readonly namespace: string;
  readonly getIfExists: boolean;
  readonly detached: boolean;
  readonly maxConcurrency: number;
  readonly concurrencyGroups: Readonly<Record<string, number>>;
  /** Method name to concurrency group. */
  readonly methodGroups: Readonly<Record<string, string>>;
  readonly dedicatedThread: boolean;
}

/** Renders a received value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `a function`;
  if (typeof value === "symbol") return value.toString();
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

export function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${what}\` to be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkKeys(options: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`Unknown option \`${key}\` in ${what}; expected one of ${allowed.map((k) => `\`${k}\``).join(", ")}`);
    }
  }
}

/** Checks an integer option; `min` is inclusive. */
export function checkInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be an integer from ${min} and up, got ${show(value)}`);
  }
  return value;
}

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

/** Checks a timeout in milliseconds; `undefined` means wait forever. */
export function checkTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === Infinity) return undefined;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a number of milliseconds from 0 and up, got ${show(value)}`);
  }
  return value;
}

/** Most task threads `init` starts: each costs memory and start-up time, and past the cores they only contend. */
export function maxNumCpus(): number {
  return Math.max(64, 8 * availableParallelism());
}

/** Refuses a `numCpus` no machine could use; warns when it passes the logical CPU count. */
function checkThreadCount(numCpus: number): number {
  const cores = availableParallelism();
  if (numCpus > maxNumCpus()) {
    throw new RangeError(`Expected \`numCpus\` to be at most ${maxNumCpus()} (8 threads per logical CPU, ${cores} here, and at least 64), got ${numCpus}`);
  }
  if (numCpus > cores) {
    process.emitWarning(`init(): numCpus ${numCpus} is above the ${cores} logical CPUs of this machine; the extra threads only contend`, { code: "RAYTS_NUM_CPUS" });
  }
  return numCpus;
}

export function resolveInitOptions(input: unknown): ResolvedInitOptions {
  const options = checkObject(input, "init options");
  checkKeys(options, ["numCpus", "objectStoreMemory", "address", "ignoreReinitError"], "init()");
  const address = options["address"];
  if (address !== undefined && address !== "local") {
    throw new RangeError(
      `Expected \`address\` to be undefined or "local", got ${show(address)}: cluster mode is not available in this version`,
    );
  }
  return {
    numCpus: options["numCpus"] === undefined ? availableParallelism() : checkThreadCount(checkInteger(options["numCpus"], "numCpus", 1)),
    objectStoreMemory:
      options["objectStoreMemory"] === undefined
        ? Math.floor(totalmem() * 0.3)
        : checkInteger(options["objectStoreMemory"], "objectStoreMemory", 1),
    ignoreReinitError: options["ignoreReinitError"] === undefined ? false : checkBoolean(options["ignoreReinitError"], "ignoreReinitError"),
  };
}

export function resolveTaskOptions(input: unknown, base: ResolvedTaskOptions): ResolvedTaskOptions {
  const options = checkObject(input, "task options");
  checkKeys(options, ["numCpus", "maxRetries", "retryExceptions", "name"], "task options");
  return {
    numCpus: options["numCpus"] === undefined ? base.numCpus : checkInteger(options["numCpus"], "numCpus", 1),
    maxRetries: options["maxRetries"] === undefined ? base.maxRetries : checkInteger(options["maxRetries"], "maxRetries", 0),
    retryExceptions:
      options["retryExceptions"] === undefined ? base.retryExceptions : checkBoolean(options["retryExceptions"], "retryExceptions"),
    name: options["name"] === undefined ? base.name : checkName(options["name"], "name"),
  };
}

export { resolveActorOptions } from "./actor-options.js";
