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
    if (isInstance(error, RayTaskError)) {
      const task = error as RayTaskError;
      const cause = readCause(task);
      return {
        code: "RAY_TASK_ERROR",
        name: readString(task, "name") ?? "RayTaskError",
        message: readString(task, "message") ?? "",
        stack: readString(task, "remoteStack"),
        taskName: readString(task, "taskName") ?? "task",
        ...(cause === undefined || seen.has(cause) || depth >= MAX_CAUSE_DEPTH ? {} : { cause: toData(cause, seen, depth + 1) }),
      };
    }
    if (isInstance(error, RayError)) {
      return { code: (error as RayError).code, name: readString(error, "name") ?? "RayError", message: readString(error, "message") ?? "", stack: readString(error, "stack") };
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
    return `non-error value thrown: ${JSON.stringify(value) ?? safeString(value)}`;
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

/** Rebuilds an error from {@link ErrorData}: rayts errors by code, others by name. */
export function errorFromData(data: ErrorData): Error {
  let error: Error;
  switch (data.code) {
    case "RAY_TASK_ERROR": {
      const cause = data.cause === undefined ? undefined : errorFromData(data.cause);
      const inner = cause?.message ?? data.message;
      const remoteStack = data.cause?.stack ?? data.stack;
      return new RayTaskError(data.taskName ?? "task", inner, { cause, remoteStack });
    }
    case "GET_TIMEOUT":
      error = new GetTimeoutError(data.message);
      break;
    case "TASK_CANCELLED":
      error = new TaskCancelledError(data.message);
      break;
    case "WORKER_CRASHED":
      error = new WorkerCrashedError(data.message);
      break;
    case "ACTOR_DIED":
      error = new ActorDiedError(data.message);
      break;
    case "OBJECT_STORE_FULL":
      error = new ObjectStoreFullError(data.message);
      break;
    case "SERIALIZATION_ERROR":
      error = new SerializationError(data.message);
      break;
    case "NODE_DIED":
      error = new NodeDiedError(data.message);
      break;
    case "OBJECT_LOST":
      error = new ObjectLostError(data.message);
      break;
    case "OWNER_DIED":
      error = new OwnerDiedError(data.message);
      break;
    case "RAY_ERROR":
      error = new RayError(data.message);
      break;
    case "USER": {
      const Ctor = USER_ERROR_TYPES[data.name] ?? Error;
      error = new Ctor(data.message);
      if (error.name !== data.name) error.name = data.name;
      break;
    }
  }
  if (data.stack !== undefined && data.code === "USER") error.stack = data.stack;
  return error;
}

/** Wraps a user error thrown by a task into the error `get` rejects with. */
export function taskErrorData(taskName: string, error: unknown): ErrorData {
  if (isInstance(error, RayError)) return errorToData(error);
  const cause = errorToData(error);
  return { code: "RAY_TASK_ERROR", name: "RayTaskError", message: cause.message, stack: cause.stack, taskName, cause };
}
