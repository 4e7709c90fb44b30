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
  /** Serve the dashboard (default true). The state API works without it. */
  includeDashboard?: boolean;
  /** Port of the dashboard (default 8265; 0 picks a free one). When taken, the next free port is used. */
  dashboardPort?: number;
  /** Address the dashboard binds (default "127.0.0.1"). Any other address requires `dashboardToken`. */
  dashboardHost?: string;
  /** Token the dashboard asks for (`Authorization: Bearer <token>` or `?token=`). */
  dashboardToken?: string;
  /** Record task, actor and worker lifecycles for `ray.state` and the dashboard (default true). */
  recordState?: boolean;
}

export interface ResolvedInitOptions {
  readonly numCpus: number;
  readonly objectStoreMemory: number;
  readonly ignoreReinitError: boolean;
  readonly includeDashboard: boolean;
  readonly dashboardPort: number;
  readonly dashboardHost: string;
  readonly dashboardToken: string | undefined;
  readonly recordState: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

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
}

export interface ResolvedActorOptions {
  readonly maxRestarts: number;
  readonly maxTaskRetries: number;
  readonly name: string | undefined;
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

function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${what}\` to be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkKeys(options: Record<string, unknown>, allowed: readonly string[], what: string): void {
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

function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

function checkName(value: unknown, name: string): string {
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

export function resolveInitOptions(input: unknown): ResolvedInitOptions {
  const options = checkObject(input, "init options");
  checkKeys(
    options,
    ["numCpus", "objectStoreMemory", "address", "ignoreReinitError", "includeDashboard", "dashboardPort", "dashboardHost", "dashboardToken", "recordState"],
    "init()",
  );
  const dashboardPort = options["dashboardPort"] === undefined ? 8265 : checkInteger(options["dashboardPort"], "dashboardPort", 0);
  if (dashboardPort > 65535) throw new RangeError(`Expected \`dashboardPort\` to be a port from 0 to 65535, got ${dashboardPort}`);
  const dashboardHost = options["dashboardHost"] === undefined ? "127.0.0.1" : checkName(options["dashboardHost"], "dashboardHost");
  const dashboardToken = options["dashboardToken"] === undefined ? undefined : checkName(options["dashboardToken"], "dashboardToken");
  if (!LOOPBACK.test(dashboardHost) && dashboardToken === undefined) {
    throw new RangeError(`Expected \`dashboardToken\` when \`dashboardHost\` is not a loopback address, got host ${show(dashboardHost)} and no token`);
  }
  const address = options["address"];
  if (address !== undefined && address !== "local") {
    throw new RangeError(
      `Expected \`address\` to be undefined or "local", got ${show(address)}: cluster mode is not available in this version`,
    );
  }
  return {
    numCpus: options["numCpus"] === undefined ? availableParallelism() : checkInteger(options["numCpus"], "numCpus", 1),
    objectStoreMemory:
      options["objectStoreMemory"] === undefined
        ? Math.floor(totalmem() * 0.3)
        : checkInteger(options["objectStoreMemory"], "objectStoreMemory", 1),
    ignoreReinitError: options["ignoreReinitError"] === undefined ? false : checkBoolean(options["ignoreReinitError"], "ignoreReinitError"),
    includeDashboard: options["includeDashboard"] === undefined ? true : checkBoolean(options["includeDashboard"], "includeDashboard"),
    dashboardPort,
    dashboardHost,
    dashboardToken,
    recordState: options["recordState"] === undefined ? true : checkBoolean(options["recordState"], "recordState"),
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

export function resolveActorOptions(input: unknown, base: ResolvedActorOptions): ResolvedActorOptions {
  const options = checkObject(input, "actor options");
  checkKeys(options, ["maxRestarts", "maxTaskRetries", "name"], "actor options");
  return {
    maxRestarts: options["maxRestarts"] === undefined ? base.maxRestarts : checkInteger(options["maxRestarts"], "maxRestarts", 0),
    maxTaskRetries:
      options["maxTaskRetries"] === undefined ? base.maxTaskRetries : checkInteger(options["maxTaskRetries"], "maxTaskRetries", 0),
    name: options["name"] === undefined ? base.name : checkName(options["name"], "name"),
  };
}
