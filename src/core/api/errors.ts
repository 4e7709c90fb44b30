/**
 * Error classes of rayts. Each has a stable `code`; errors raised in a worker
 * cross the thread boundary as plain {@link ErrorData} and are rebuilt here
 * from that code, so `instanceof` works on the driver.
 */

/** Stable codes of every rayts error class. */
export type RayErrorCode =
  | "RAY_ERROR"
  | "RAY_TASK_ERROR"
  | "GET_TIMEOUT"
  | "TASK_CANCELLED"
  | "WORKER_CRASHED"
  | "ACTOR_DIED"
  | "OBJECT_STORE_FULL"
  | "OUT_OF_MEMORY"
  | "SERIALIZATION_ERROR"
  | "NODE_DIED"
  | "OBJECT_LOST"
  | "OWNER_DIED";

const FOOTPRINT = Symbol.for("rayts.error");

/** Base class of every error rayts raises. */
export class RayError extends Error {
  readonly code: RayErrorCode = "RAY_ERROR";
  override name = "RayError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, FOOTPRINT, { value: true });
  }
}

/**
 * A task or actor method threw. `taskName` names the remote function or
 * `Class.method`; `cause` holds the original error, rebuilt on the driver
 * with its name, message and stack.
 */
export class RayTaskError extends RayError {
  override readonly code = "RAY_TASK_ERROR";
  override name = "RayTaskError";
  readonly taskName: string;
  readonly remoteStack: string | undefined;
  constructor(taskName: string, message: string, options?: { cause?: unknown; remoteStack?: string | undefined }) {
    super(`task ${taskName} failed: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.taskName = taskName;
    // Not enumerable: printed, the error shows the task's text once, in its header, then the remote frames.
    Object.defineProperty(this, "remoteStack", { value: options?.remoteStack, enumerable: false });
    if (options?.remoteStack !== undefined) {
      const frames = options.remoteStack
        .split("\n")
        .filter((line) => /^\s+at /.test(line) && !/\(node:internal|WorkerServer\.|\/core\/worker\.[jt]s:\d+:\d+\)$/.test(line));
      this.stack = `${this.name}: ${this.message}\n${frames.join("\n")}`;
    }
  }

  /**
   * Printed (console, uncaught), the error shows the task's text once: its
   * header and the remote frames. `cause` keeps the original error whole
   * (name, message, stack) for code that reads it; it is not printed again.
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.stack ?? `${this.name}: ${this.message}`;
  }
}

/** `get` (or `wait` with a timeout) did not see the value in time. */
export class GetTimeoutError extends RayError {
  override readonly code = "GET_TIMEOUT";
  override name = "GetTimeoutError";
}

/** The task was cancelled with `cancel()` before it produced a value. */
export class TaskCancelledError extends RayError {
  override readonly code = "TASK_CANCELLED";
  override name = "TaskCancelledError";
}

/** The worker running the task died and the task ran out of retries. */
export class WorkerCrashedError extends RayError {
  override readonly code = "WORKER_CRASHED";
  override name = "WorkerCrashedError";
}

/** The actor is dead (killed, crashed past `maxRestarts`, or its constructor threw). */
export class ActorDiedError extends RayError {
  override readonly code = "ACTOR_DIED";
  override name = "ActorDiedError";
}

/** A `put` or a task result would take the object store past `objectStoreMemory`. */
export class ObjectStoreFullError extends RayError {
  override readonly code = "OBJECT_STORE_FULL";
  override name = "ObjectStoreFullError";
}

/**
 * The task's worker was stopped for memory: the memory monitor stopped it
 * while the machine (or its cgroup) was past its memory threshold, or the
 * worker passed its heap limit (`workerMaxHeapMB`), and the task had no
 * retries left. An actor call whose thread passed the heap limit fails
 * the same way.
 */
export class OutOfMemoryError extends RayError {
  override readonly code = "OUT_OF_MEMORY";
  override name = "OutOfMemoryError";
}

/** A value cannot be sent between threads; the message says which and why. */
export class SerializationError extends RayError {
  override readonly code = "SERIALIZATION_ERROR";
  override name = "SerializationError";
}

/** A cluster node died while running the work, and the work cannot be retried (out of `maxRetries`). */
export class NodeDiedError extends RayError {
  override readonly code = "NODE_DIED";
  override name = "NodeDiedError";
}

/** Every copy of an object was lost (its holders died) and it cannot be rebuilt from its lineage. */
export class ObjectLostError extends RayError {
  override readonly code = "OBJECT_LOST";
  override name = "ObjectLostError";
}

/** The owner of an object (the driver that made it) died, so the object can no longer be reached. */
export class OwnerDiedError extends RayError {
  override readonly code = "OWNER_DIED";
  override name = "OwnerDiedError";
}

/** An error as plain data, safe to post between threads. */
export interface ErrorData {
  readonly code: RayErrorCode | "USER";
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** For RAY_TASK_ERROR: the task's name. */
  readonly taskName?: string;
  /** For RAY_TASK_ERROR: the original error. */
  readonly cause?: ErrorData;
}

/** Causes followed at most this deep; a cycle of causes ends at the first repeat. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Reads a property of a thrown value without letting it throw: getters,
 * proxies and `toString`s of user values may throw or return anything.
 */
function readString(value: unknown, key: string): string | undefined {
  try {
    const field: unknown = (value as Record<string, unknown>)[key];
    if (field === undefined) return undefined;
    return typeof field === "string" ? field : safeString(field);
  } catch {
    return undefined;
  }
}

/** `String(value)`, or a fixed text when that throws. */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[value that cannot be shown]";
    }
  }
}

function isInstance(value: unknown, Ctor: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof Ctor;
  } catch {
    return false; // a proxy whose getPrototypeOf trap throws
  }
}

/** Turns any thrown value into {@link ErrorData}. Never throws, whatever was thrown. */
export function errorToData(error: unknown): ErrorData {
  return toData(error, new Set(), 0);
}

function toData(error: unknown, seen: Set<unknown>, depth: number): ErrorData {
  try {
    if (typeof error === "object" && error !== null) seen.add(error);
    if (isInstance(error, RayError)) {
      const code = readString(error, "code");
      const kind = code !== undefined && Object.hasOwn(ERROR_KINDS, code) ? ERROR_KINDS[code as RayErrorCode] : ERROR_KINDS.RAY_ERROR;
      const data: ErrorData = { code: kind.code, name: readString(error, "name") ?? kind.name, message: readString(error, "message") ?? "", stack: readString(error, "stack") };
      if (kind.encode === undefined) return data;
      const nested = (cause: unknown): ErrorData | undefined => (cause === undefined || seen.has(cause) || depth >= MAX_CAUSE_DEPTH ? undefined : toData(cause, seen, depth + 1));
      return { ...data, ...kind.encode(error as RayError, nested) };
    }
    if (isInstance(error, Error)) {
      return { code: "USER", name: readString(error, "name") ?? "Error", message: readString(error, "message") ?? "", stack: readString(error, "stack") };
    }
    return { code: "USER", name: "Error", message: describeThrown(error), stack: undefined };
  } catch {
    return { code: "USER", name: "Error", message: "a value was thrown that cannot be described", stack: undefined };
  }
}

function readCause(error: Error): unknown {
  try {
    return error.cause;
  } catch {
    return undefined;
  }
}

function describeThrown(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return `non-error value thrown: ${(JSON.stringify(value) as string | undefined) ?? safeString(value)}`;
  } catch {
    return `non-error value thrown: ${safeString(value)}`;
  }
}

const USER_ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

/** How one rayts error class is named, and how it crosses threads and the wire as {@link ErrorData}. */
export interface ErrorKind {
  readonly code: RayErrorCode;
  readonly name: string;
  readonly Class: abstract new (...args: never[]) => RayError;
  /** What the data carries beyond code, name, message and stack; `nested` encodes a cause (undefined past a cycle or the depth limit). */
  readonly encode?: (error: RayError, nested: (cause: unknown) => ErrorData | undefined) => Partial<ErrorData>;
  /** Rebuilds the error from its data (the data's `code` is this kind's). */
  readonly decode: (data: ErrorData) => RayError;
}

/** The plain kinds: only a message crosses. */
function plain(code: RayErrorCode, name: string, Class: new (message: string) => RayError): ErrorKind {
  return { code, name, Class, decode: (data) => new Class(data.message) };
}

/**
 * Every rayts error class by its stable code: the one table that
 * {@link errorToData} and {@link errorFromData} follow. A new error class is
 * a new row (and a new code in {@link RayErrorCode}).
 */
export const ERROR_KINDS: { readonly [C in RayErrorCode]: ErrorKind } = {
  RAY_ERROR: plain("RAY_ERROR", "RayError", RayError),
  RAY_TASK_ERROR: {
    code: "RAY_TASK_ERROR",
    name: "RayTaskError",
    Class: RayTaskError,
    // The stack is the task's own (remote) one; the original error rides as `cause`.
    encode: (error, nested) => {
      const cause = nested(readCause(error));
      return { stack: readString(error, "remoteStack"), taskName: readString(error, "taskName") ?? "task", ...(cause === undefined ? {} : { cause }) };
    },
    decode: (data) => {
      const cause = data.cause === undefined ? undefined : errorFromData(data.cause);
      const inner = cause?.message ?? data.message;
      const remoteStack = data.cause?.stack ?? data.stack;
      return new RayTaskError(data.taskName ?? "task", inner, { cause, remoteStack });
    },
  },
  GET_TIMEOUT: plain("GET_TIMEOUT", "GetTimeoutError", GetTimeoutError),
  TASK_CANCELLED: plain("TASK_CANCELLED", "TaskCancelledError", TaskCancelledError),
  WORKER_CRASHED: plain("WORKER_CRASHED", "WorkerCrashedError", WorkerCrashedError),
  ACTOR_DIED: plain("ACTOR_DIED", "ActorDiedError", ActorDiedError),
  OBJECT_STORE_FULL: plain("OBJECT_STORE_FULL", "ObjectStoreFullError", ObjectStoreFullError),
  OUT_OF_MEMORY: plain("OUT_OF_MEMORY", "OutOfMemoryError", OutOfMemoryError),
  SERIALIZATION_ERROR: plain("SERIALIZATION_ERROR", "SerializationError", SerializationError),
  NODE_DIED: plain("NODE_DIED", "NodeDiedError", NodeDiedError),
  OBJECT_LOST: plain("OBJECT_LOST", "ObjectLostError", ObjectLostError),
  OWNER_DIED: plain("OWNER_DIED", "OwnerDiedError", OwnerDiedError),
};

/**
 * Rebuilds an error from {@link ErrorData}: rayts errors by code through
 * {@link ERROR_KINDS}, a code this release does not know as a RayError (so a
 * newer peer's error still reads), others by name.
 */
export function errorFromData(data: ErrorData): Error {
  if (data.code !== "USER") {
    const kind = Object.hasOwn(ERROR_KINDS, data.code) ? ERROR_KINDS[data.code] : ERROR_KINDS.RAY_ERROR;
    return kind.decode(data);
  }
  const Ctor = USER_ERROR_TYPES[data.name] ?? Error;
  const error = new Ctor(data.message);
  if (error.name !== data.name) error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

/** Wraps a user error thrown by a task into the error `get` rejects with. */
export function taskErrorData(taskName: string, error: unknown): ErrorData {
  if (isInstance(error, RayError)) return errorToData(error);
  const cause = errorToData(error);
  return { code: "RAY_TASK_ERROR", name: "RayTaskError", message: cause.message, stack: cause.stack, taskName, cause };
}
