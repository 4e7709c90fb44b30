import { prepareCaptures } from "../runtime/captures.js";
import { currentBackend, nextFunctionId, state } from "../runtime/global-state.js";
import type { ObjectRef } from "./object-ref.js";
import { checkStreaming, NO_BACKPRESSURE, ObjectRefGenerator } from "./object-ref-generator.js";
import { splitReturns, type ObjectRefTuple } from "./multiple-returns.js";
import { resolveTaskOptions, type TaskOptions } from "./options.js";
import type { Sendable } from "./sendable.js";
import { HANDLE_KEY, type FunctionDefinition, type ResolvedTaskOptions } from "../protocol/protocol.js";

/**
 * Each parameter of a remote call accepts the value or an ObjectRef to it.
 * A parameter whose type cannot be sent to a worker (functions, class
 * instances: see {@link Sendable}) accepts only an ObjectRef, so passing the
 * value is a compile error, as it is a SerializationError at run time.
 */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: Sendable<A[K]> | ObjectRef<A[K]> };

/** What `.remote()` of a function returning `R` gives: a ref to its value. */
export type SingleReturn<R> = ObjectRef<Sendable<Awaited<R>>>;

/** A remote generator function: `.remote()` gives an {@link ObjectRefGenerator} of its items. */
export type RemoteGeneratorFunction<A extends unknown[], T> = RemoteFunction<A, T, ObjectRefGenerator<Sendable<T>>>;

/** A remote function with `numReturns: N`: `.remote()` gives a tuple of N refs. */
export type RemoteTupleFunction<A extends unknown[], R extends readonly unknown[]> = RemoteFunction<A, R, ObjectRefTuple<{ [K in keyof R]: Sendable<R[K]> }>>;

/**
 * A function that runs as a task on a worker. `.remote(...)` returns an
 * {@link ObjectRef} at once; the function is shipped to each worker once and
 * then called by id.
 *
 * @example
 * const square = ray.remote((x: number) => x * x);
 * await ray.get(square.remote(4)); // 16
 */
export class RemoteFunction<A extends unknown[], R, Out = SingleReturn<R>> {
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

  /**
   * Submits the task; returns a ref to its result at once (a tuple of refs
   * with `numReturns: N`, an {@link ObjectRefGenerator} for a generator).
   */
  remote(...args: RemoteArgs<A>): Out {
    const backend = currentBackend();
    prepareCaptures(this.id, backend);
    const numReturns = this.taskOptions.numReturns;
    if (numReturns === "streaming") checkStreaming(backend);
    const ref = backend.submitTask(this.id, args, this.taskOptions);
    if (numReturns === "streaming") {
      return new ObjectRefGenerator(ref, this.taskOptions.generatorBackpressureNumObjects ?? NO_BACKPRESSURE, backend) as Out;
    }
    if (numReturns !== undefined && numReturns > 1) return splitReturns(backend, ref, numReturns, this.name) as Out;
    return ref as Out;
  }

  /** A handle to the same function whose calls carry other options (`numReturns: N` makes calls return N refs). */
  options<N extends number>(options: TaskOptions & { numReturns: N }): N extends 1 ? RemoteFunction<A, R, SingleReturn<R>> : RemoteTupleFunction<A, TupleOf<Awaited<R>>>;
  options(options: TaskOptions): RemoteFunction<A, R, Out>;
  options(options: TaskOptions): unknown {
    return new RemoteFunction<A, R, Out>(this.id, resolveTaskOptions(options, this.taskOptions));
  }
}

/** `R` when it is a tuple (or array) type, else an empty tuple (a function with `numReturns` must return an array). */
export type TupleOf<R> = R extends readonly unknown[] ? R : [];

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
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any function or class: the value passed a `typeof === "function"` check
export function shippableSource(fn: Function, what: string): string {
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Expected \`${what}\` to be a function with JavaScript source, got a native or bound function (${fn.name || "anonymous"}); wrap it: remote((x) => f(x))`,
    );
  }
  return source;
}
