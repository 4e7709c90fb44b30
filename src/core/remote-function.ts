import { prepareCaptures } from "./captures.js";
import { currentBackend, nextFunctionId, state } from "./global-state.js";
import type { ObjectRef } from "./object-ref.js";
import { resolveTaskOptions, type TaskOptions } from "./options.js";
import type { Sendable } from "./sendable.js";
import { HANDLE_KEY, type FunctionDefinition, type ResolvedTaskOptions } from "./protocol.js";

/**
 * Each parameter of a remote call accepts the value or an ObjectRef to it.
 * A parameter whose type cannot be sent to a worker (functions, class
 * instances: see {@link Sendable}) accepts only an ObjectRef, so passing the
 * value is a compile error, as it is a SerializationError at run time.
 */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: Sendable<A[K]> | ObjectRef<A[K]> };

/**
 * A function that runs as a task on a worker. `.remote(...)` returns an
 * {@link ObjectRef} at once; the function is shipped to each worker once and
 * then called by id.
 *
 * @example
 * const square = ray.remote((x: number) => x * x);
 * await ray.get(square.remote(4)); // 16
 */
export class RemoteFunction<A extends unknown[], R> {
  /** Marks the handle so it survives a structured clone. */
  readonly [HANDLE_KEY] = "fn" as const;
  /** The function's id, unique in this runtime. */
  readonly id: number;
  /** The name shown in logs and errors. */
  readonly name: string;
  /** The options every call of this handle carries. */
  readonly taskOptions: ResolvedTaskOptions;

  /** @internal Made by `remote()`. */
  constructor(id: number, taskOptions: ResolvedTaskOptions) {
    this.id = id;
    this.name = taskOptions.name;
    this.taskOptions = taskOptions;
  }

  /** Submits the task; returns a ref to its result at once. */
  remote(...args: RemoteArgs<A>): ObjectRef<Sendable<Awaited<R>>> {
    const backend = currentBackend();
    prepareCaptures(this.id, backend);
    return backend.submitTask(this.id, args, this.taskOptions) as ObjectRef<Sendable<Awaited<R>>>;
  }

  /** A handle to the same function whose calls carry other options. */
  options(options: TaskOptions): RemoteFunction<A, R> {
    return new RemoteFunction<A, R>(this.id, resolveTaskOptions(options, this.taskOptions));
  }
}

/** Default task options, Ray's: one CPU, three retries on worker death, no retry on exceptions. */
export function defaultTaskOptions(name: string): ResolvedTaskOptions {
  return { numCpus: 1, maxRetries: 3, retryExceptions: false, name };
}

/** Registers a function definition in this thread and returns its id. */
export function defineFunction(def: FunctionDefinition): number {
  const id = nextFunctionId();
  state.functions.set(id, def);
  return id;
}

/** Source text of a function that can be rebuilt in a worker, or a TypeError saying why not. */
export function shippableSource(fn: Function, what: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Expected \`${what}\` to be a function with JavaScript source, got a native or bound function (${fn.name || "anonymous"}); wrap it: remote((x) => f(x))`,
    );
  }
  return source;
}
