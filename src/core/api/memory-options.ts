/**
 * The `init` options of object spilling and memory protection, checked once
 * at the boundary and resolved into one object the runtime trusts.
 */
import { isAbsolute } from "node:path";
import { checkBoolean, checkInteger, show } from "./checks.js";

/** A reading of the memory the monitor guards: bytes in use and bytes available in all. */
export interface MemoryReading {
  readonly used: number;
  readonly total: number;
}

/** Spilling and memory-protection options of `init`. */
export interface MemoryInitOptions {
  /**
   * Write cold objects to disk when the object store passes
   * `objectSpillingThreshold` of `objectStoreMemory`, and read them back on
   * `get` or as task arguments (default true).
   */
  objectSpilling?: boolean;
  /** Fraction of `objectStoreMemory` past which objects are spilled (default 0.8). */
  objectSpillingThreshold?: number;
  /** Folder under which each runtime makes its spill folder (default: `RAYTS_TMPDIR` or the OS temp folder, then `rayts`). */
  objectSpillingDirectory?: string;
  /** Bytes the spill files may take on disk (default: no limit but the disk's own: spilling stops while the disk is 95% full). */
  objectSpillingLimit?: number;
  /** How often the memory monitor reads memory use, in ms (default 250; 0 turns the monitor off). */
  memoryMonitorRefreshMs?: number;
  /** Fraction of the machine's (or the cgroup's) memory past which the monitor stops a task (default 0.95). */
  memoryUsageThreshold?: number;
  /** Where the monitor reads memory use (default: cgroup v2 `memory.current`/`memory.max` when limited, else the machine's). */
  memoryUsageReader?: () => MemoryReading;
  /** Heap limit of each worker thread in MB: a task that passes it fails with OutOfMemoryError (default: Node's own limit). */
  workerMaxHeapMB?: number;
}

/** {@link MemoryInitOptions} after validation and defaults. */
export interface ResolvedMemoryOptions {
  readonly objectSpilling: boolean;
  readonly objectSpillingThreshold: number;
  readonly objectSpillingDirectory: string | undefined;
  readonly objectSpillingLimit: number;
  readonly memoryMonitorRefreshMs: number;
  readonly memoryUsageThreshold: number;
  readonly memoryUsageReader: (() => MemoryReading) | undefined;
  readonly workerMaxHeapMB: number | undefined;
}

/** The option keys of {@link MemoryInitOptions}. */
export const MEMORY_OPTION_KEYS = [
  "objectSpilling",
  "objectSpillingThreshold",
  "objectSpillingDirectory",
  "objectSpillingLimit",
  "memoryMonitorRefreshMs",
  "memoryUsageThreshold",
  "memoryUsageReader",
  "workerMaxHeapMB",
] as const;

function checkFraction(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw new RangeError(`Expected \`${name}\` to be a fraction above 0 and at most 1, got ${show(value)}`);
  }
  return value;
}

/** Resolves the spilling and memory options out of `init`'s (already key-checked) options. */
export function resolveMemoryOptions(options: Record<string, unknown>): ResolvedMemoryOptions {
  const directory = options["objectSpillingDirectory"];
  if (directory !== undefined && (typeof directory !== "string" || !isAbsolute(directory))) {
    throw new TypeError(`Expected \`objectSpillingDirectory\` to be an absolute path, got ${show(directory)}`);
  }
  const limit = options["objectSpillingLimit"];
  if (limit !== undefined && limit !== Infinity) checkInteger(limit, "objectSpillingLimit", 0);
  const reader = options["memoryUsageReader"];
  if (reader !== undefined && typeof reader !== "function") {
    throw new TypeError(`Expected \`memoryUsageReader\` to be a function returning { used, total } in bytes, got ${show(reader)}`);
  }
  return {
    objectSpilling: options["objectSpilling"] === undefined ? true : checkBoolean(options["objectSpilling"], "objectSpilling"),
    objectSpillingThreshold: options["objectSpillingThreshold"] === undefined ? 0.8 : checkFraction(options["objectSpillingThreshold"], "objectSpillingThreshold"),
    objectSpillingDirectory: directory,
    objectSpillingLimit: limit === undefined ? Infinity : (limit as number),
    memoryMonitorRefreshMs: options["memoryMonitorRefreshMs"] === undefined ? 250 : checkInteger(options["memoryMonitorRefreshMs"], "memoryMonitorRefreshMs", 0),
    memoryUsageThreshold: options["memoryUsageThreshold"] === undefined ? 0.95 : checkFraction(options["memoryUsageThreshold"], "memoryUsageThreshold"),
    memoryUsageReader: reader as (() => MemoryReading) | undefined,
    workerMaxHeapMB: options["workerMaxHeapMB"] === undefined ? undefined : checkInteger(options["workerMaxHeapMB"], "workerMaxHeapMB", 16),
  };
}
