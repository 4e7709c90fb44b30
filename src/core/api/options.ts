/**
 * Option validation at the public boundary. Every check names the option,
 * what was expected and what was received; what comes out is a `Resolved...`
 * object that internal code trusts.
 */
import { availableParallelism, totalmem } from "node:os";
import { RayError } from "./errors.js";
import type { ResolvedTaskOptions } from "../protocol/protocol.js";
import { checkBoolean, checkCpus, checkInteger, checkName, checkOptions, checkRetries, checkTimeout, show } from "./checks.js";
import { MEMORY_OPTION_KEYS, resolveMemoryOptions, type MemoryInitOptions, type ResolvedMemoryOptions } from "./memory-options.js";

/** Options of `init` (spilling and memory protection: see {@link MemoryInitOptions}). */
export interface InitOptions extends MemoryInitOptions {
  /** Worker threads for tasks (CPU slots). Defaults to the logical CPU count. */
  numCpus?: number;
  /** Bytes the object store may hold. Defaults to 30% of system memory. */
  objectStoreMemory?: number;
  /**
   * Cluster to join: `"HOST:PORT"` of its Redis, or `"auto"` for the cluster
   * `rayts start` started on this machine. `undefined` or `"local"`: local mode.
   */
  address?: string;
  /** Password of the cluster's Redis (printed by `rayts start --head`); with `address`. */
  redisPassword?: string;
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

export interface ResolvedInitOptions extends ResolvedMemoryOptions {
  /** Cluster address ("HOST:PORT" or "auto"); undefined in local mode. */
  readonly address?: string | undefined;
  readonly redisPassword?: string | undefined;
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
  /**
   * CPU slots the task holds while it runs (default 1), as in Ray: 0, a
   * fraction such as 0.25, or a whole number. A worker runs tasks of less
   * than one CPU side by side on its event loop (async ones overlap while
   * they await); a 0-CPU task takes no slot at all. An async task holds its
   * slots while it awaits, so give I/O-bound tasks `numCpus: 0`.
   */
  numCpus?: number;
  /** Times a task whose worker died is retried (default 3); -1 (or Infinity): no limit, as in Ray. */
  maxRetries?: number;
  /** Also retry when the task throws (default false). */
  retryExceptions?: boolean;
  /** Name shown in logs and errors (default: the function's name). */
  name?: string;
  /** Cluster mode: where to place the task (default: Ray's hybrid policy). Ignored in local mode. */
  scheduling?: SchedulingStrategy;
  /** Cluster mode: custom resources the task holds, e.g. `{ GPU: 1 }` (declared per node with `rayts start --resources`). */
  resources?: Record<string, number>;
  /**
   * How many refs `.remote()` returns: 1 (default); N >= 2, for a function
   * returning an N-tuple, gives a tuple of N refs; `"streaming"` gives an
   * ObjectRefGenerator (the default for generator functions).
   */
  numReturns?: number | "streaming";
  /** A streaming generator pauses while this many yielded items are not yet consumed (default: never). */
  generatorBackpressureNumObjects?: number;
}

/**
 * Placement in cluster mode: `"DEFAULT"` (Ray's hybrid policy: the
 * submitter's node while it is under half busy, then the least-loaded node),
 * `"SPREAD"` (round robin over the nodes), or node affinity (`soft`: fall
 * back to the default policy when that node is gone).
 */
export type SchedulingStrategy = "DEFAULT" | "SPREAD" | { readonly nodeId: string; readonly soft?: boolean };

function checkScheduling(value: unknown): SchedulingStrategy {
  if (value === "DEFAULT" || value === "SPREAD") return value;
  if (typeof value === "object" && value !== null && typeof (value as { nodeId?: unknown }).nodeId === "string") {
    const soft = (value as { soft?: unknown }).soft;
    if (soft !== undefined && typeof soft !== "boolean") throw new TypeError(`Expected \`scheduling.soft\` to be a boolean, got ${show(soft)}`);
    return { nodeId: (value as { nodeId: string }).nodeId, soft: soft === true };
  }
  throw new TypeError(`Expected \`scheduling\` to be "DEFAULT", "SPREAD" or { nodeId: string, soft?: boolean }, got ${show(value)}`);
}

function checkResources(value: unknown): Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`resources\` to be an object of resource amounts such as { GPU: 1 }, got ${show(value)}`);
  }
  const resources: Record<string, number> = {};
  for (const [key, amount] of Object.entries(value)) {
    if (key === "CPU") throw new RangeError("Expected `resources` to leave out CPU (use `numCpus`), got a CPU entry");
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      throw new RangeError(`Expected \`resources.${key}\` to be a number from 0 and up, got ${show(amount)}`);
    }
    resources[key] = amount;
  }
  return resources;
}

/** The placement options shared by tasks and actors, inherited from `base` unless given. */
export function placement(
  options: Record<string, unknown>,
  base: { readonly scheduling?: SchedulingStrategy; readonly resources?: Readonly<Record<string, number>> },
): { scheduling?: SchedulingStrategy; resources?: Readonly<Record<string, number>> } {
  const scheduling = options["scheduling"] === undefined ? base.scheduling : checkScheduling(options["scheduling"]);
  const resources = options["resources"] === undefined ? base.resources : checkResources(options["resources"]);
  return { ...(scheduling === undefined ? {} : { scheduling }), ...(resources === undefined ? {} : { resources }) };
}

/** Options of an actor class, `remote(Class, options)` or `.options(...)`. */
export interface ActorOptions {
  /** Times the actor is restarted after its worker dies (default 0); -1 (or Infinity): no limit, as in Ray. */
  maxRestarts?: number;
  /** Times a method call is retried after the actor's worker died (default 0); -1 (or Infinity): no limit. */
  maxTaskRetries?: number;
  /** Register the actor under this name for `getActor(name)`. */
  name?: string;
  /** Cluster mode: where to place the actor (see {@link SchedulingStrategy}). */
  scheduling?: SchedulingStrategy;
  /** Cluster mode: custom resources the actor holds while it lives. */
  resources?: Record<string, number>;
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
  readonly scheduling?: SchedulingStrategy;
  readonly resources?: Readonly<Record<string, number>>;
  readonly namespace: string;
  readonly getIfExists: boolean;
  readonly detached: boolean;
  readonly maxConcurrency: number;
  readonly concurrencyGroups: Readonly<Record<string, number>>;
  /** Method name to concurrency group. */
  readonly methodGroups: Readonly<Record<string, string>>;
  readonly dedicatedThread: boolean;
  /** The name the state API shows for an actor named elsewhere (a cluster driver keeps the name; the node's runtime does not register it). */
  readonly displayName?: string | undefined;
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
  const options = checkOptions(
    input,
    [
      "numCpus",
      "objectStoreMemory",
      "address",
      "redisPassword",
      "ignoreReinitError",
      "includeDashboard",
      "dashboardPort",
      "dashboardHost",
      "dashboardToken",
      "recordState",
      ...MEMORY_OPTION_KEYS,
    ],
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
  const cluster = address !== undefined && address !== "local";
  if (cluster && (typeof address !== "string" || !(address === "auto" || /^[^\s:]+:\d{1,5}$/.test(address)))) {
    throw new RangeError(`Expected \`address\` to be "HOST:PORT", "auto", "local" or undefined, got ${show(address)}`);
  }
  const password = options["redisPassword"];
  if (password !== undefined && (typeof password !== "string" || password.length === 0)) {
    throw new TypeError(`Expected \`redisPassword\` to be a non-empty string, got ${show(password)}`);
  }
  return {
    ...(cluster ? { address, redisPassword: password } : {}),
    numCpus: options["numCpus"] === undefined ? availableParallelism() : checkThreadCount(checkInteger(options["numCpus"], "numCpus", 1)),
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
    ...resolveMemoryOptions(options),
  };
}

export function resolveTaskOptions(input: unknown, base: ResolvedTaskOptions): ResolvedTaskOptions {
  const options = checkOptions(
    input,
    ["numCpus", "maxRetries", "retryExceptions", "name", "scheduling", "resources", "numReturns", "generatorBackpressureNumObjects"],
    "task options",
  );
  const numReturns = options["numReturns"];
  const backpressure = options["generatorBackpressureNumObjects"];
  return {
    ...(numReturns === undefined
      ? base.numReturns === undefined
        ? {}
        : { numReturns: base.numReturns }
      : { numReturns: numReturns === "streaming" ? "streaming" : checkNumReturns(numReturns) }),
    ...(backpressure === undefined
      ? base.generatorBackpressureNumObjects === undefined
        ? {}
        : { generatorBackpressureNumObjects: base.generatorBackpressureNumObjects }
      : { generatorBackpressureNumObjects: checkInteger(backpressure, "generatorBackpressureNumObjects", 1) }),
    numCpus: options["numCpus"] === undefined ? base.numCpus : checkCpus(options["numCpus"], "numCpus"),
    maxRetries: options["maxRetries"] === undefined ? base.maxRetries : checkRetries(options["maxRetries"], "maxRetries"),
    retryExceptions:
      options["retryExceptions"] === undefined ? base.retryExceptions : checkBoolean(options["retryExceptions"], "retryExceptions"),
    name: options["name"] === undefined ? base.name : checkName(options["name"], "name"),
    ...placement(options, base),
  };
}

/** Largest `numReturns` of a task: each return is a ref (and a small task that picks it out). */
const MAX_NUM_RETURNS = 1024;

function checkNumReturns(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_NUM_RETURNS) {
    throw new TypeError(`Expected \`numReturns\` to be an integer from 1 to ${MAX_NUM_RETURNS} or "streaming", got ${show(value)}`);
  }
  return value;
}

export { resolveActorOptions } from "./actor-options.js";

/** `get()` options after validation. */
export interface ResolvedGetOptions {
  readonly timeout: number | undefined;
}

export function resolveGetOptions(input: unknown): ResolvedGetOptions {
  const options = checkOptions(input, ["timeout"], "get()");
  return { timeout: checkTimeout(options["timeout"], "timeout") };
}

/** `wait()` options after validation; `numReturns` is checked against the refs by the caller. */
export interface ResolvedWaitOptions {
  readonly numReturns: number;
  readonly timeout: number | undefined;
}

export function resolveWaitOptions(input: unknown): ResolvedWaitOptions {
  const options = checkOptions(input, ["numReturns", "timeout"], "wait()");
  return {
    numReturns: options["numReturns"] === undefined ? 1 : checkInteger(options["numReturns"], "numReturns", 1),
    timeout: checkTimeout(options["timeout"], "timeout"),
  };
}

/** `cancel()` options after validation. */
export function resolveCancelOptions(input: unknown): { readonly force: boolean } {
  const options = checkOptions(input, ["force"], "cancel()");
  return { force: options["force"] === undefined ? false : checkBoolean(options["force"], "force") };
}

/** The oldest Node.js rayts runs on: the `engines` field of its package.json. */
export const MIN_NODE = [20, 19] as const;

/**
 * Refuses to start on a Node.js older than {@link MIN_NODE}, which lacks what
 * rayts needs (`require` of ES modules for CommonJS users, worker-thread and
 * shared-memory fixes), rather than failing later in an obscure way.
 */
export function checkNodeVersion(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return;
  throw new RayError(
    `rayts needs Node.js >= ${MIN_NODE.join(".")} (the engines field of its package.json), got Node.js ${version}; ` +
      "upgrade to Node.js 20.19 or later (22 and 24 are supported)",
  );
}
