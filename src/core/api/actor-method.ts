/**
 * One method of an actor handle: `.remote(...)` submits a call; a generator
 * method's calls stream (an ObjectRefGenerator); `.options({ numReturns })`
 * splits a tuple result into refs, as for remote functions.
 */
import { currentBackend, state } from "../runtime/global-state.js";
import { ACTOR_OWNER, checkActorOwner } from "./ids.js";
import type { ObjectRef } from "./object-ref.js";
import { checkStreaming, NO_BACKPRESSURE, ObjectRefGenerator } from "./object-ref-generator.js";
import { splitReturns, type ObjectRefTuple } from "./multiple-returns.js";
import { checkInteger, checkKeys, checkObject, show } from "./checks.js";
import type { RemoteArgs, TupleOf } from "./remote-function.js";

/** Options of one actor method's calls, `handle.method.options({...})`. */
export interface ActorMethodOptions {
  /** N >= 2: the method returns an N-tuple and calls give N refs; "streaming": calls give an ObjectRefGenerator. */
  numReturns?: number | "streaming";
  /** A streaming method pauses while this many yielded items are not yet consumed (default: never). */
  generatorBackpressureNumObjects?: number;
}

/** What a call of a method returning `R` gives: a ref, or an ObjectRefGenerator for a generator method. */
export type MethodReturn<R> = [R] extends [never]
  ? ObjectRef<Awaited<R>>
  : [R] extends [Generator<infer T, unknown, undefined> | AsyncGenerator<infer T, unknown, undefined>]
    ? ObjectRefGenerator<T>
    : ObjectRef<Awaited<R>>;

/** One method of an actor, called with `.remote(...)`. */
export interface ActorMethod<A extends unknown[], R> {
  remote(...args: RemoteArgs<A>): MethodReturn<R>;
  /** The same method with call options; `numReturns: N` makes calls return a tuple of N refs. */
  options<N extends number>(options: ActorMethodOptions & { numReturns: N }): N extends 1 ? ActorMethod<A, R> : { remote(...args: RemoteArgs<A>): ObjectRefTuple<TupleOf<Awaited<R>>> };
  options(options: ActorMethodOptions): ActorMethod<A, R>;
}

interface CallOptions {
  readonly numReturns: number | "streaming";
  readonly backpressure: number;
}

function resolveMethodOptions(input: unknown, base: CallOptions, method: string): CallOptions {
  const what = `options of method ${method}`;
  const options = checkObject(input, what);
  checkKeys(options, ["numReturns", "generatorBackpressureNumObjects"], what);
  const numReturns = options["numReturns"];
  if (numReturns !== undefined && numReturns !== "streaming" && (typeof numReturns !== "number" || !Number.isInteger(numReturns) || numReturns < 1 || numReturns > 1024)) {
    throw new TypeError(`Expected \`numReturns\` to be an integer from 1 to 1024 or "streaming", got ${show(numReturns)}`);
  }
  const backpressure = options["generatorBackpressureNumObjects"];
  return {
    numReturns: numReturns ?? base.numReturns,
    backpressure: backpressure === undefined ? base.backpressure : checkInteger(backpressure, "generatorBackpressureNumObjects", 1),
  };
}

/** The stub of method `method` of actor `actor`; `handle` keeps the actor alive while the stub is reachable. */
export function makeActorMethod(actor: number, method: string, streaming: boolean, handle: object, call?: CallOptions): Record<string, unknown> {
  const options: CallOptions = call ?? { numReturns: streaming ? "streaming" : 1, backpressure: NO_BACKPRESSURE };
  const stub = {
    remote: (...args: unknown[]): unknown => {
      const backend = currentBackend();
      // The message is built only for a stale handle: this runs on every call.
      if ((handle as { readonly [ACTOR_OWNER]?: unknown })[ACTOR_OWNER] !== state.tag) checkActorOwner(handle, actor, state.tag, `${method}.remote():`);
      if (options.numReturns === "streaming") checkStreaming(backend);
      const ref = backend.submitCall(actor, method, args);
      if (options.numReturns === "streaming") return new ObjectRefGenerator(ref, options.backpressure, backend);
      if (options.numReturns > 1) return splitReturns(backend, ref, options.numReturns, method);
      return ref;
    },
    options: (input: unknown) => makeActorMethod(actor, method, streaming, handle, resolveMethodOptions(input, options, method)),
  };
  // A method keeps its handle (and so its actor) alive, as in Ray.
  Object.defineProperty(stub, "handle", { value: handle, enumerable: false });
  return stub;
}

/**
 * Names of the generator methods in a class's source text (`*name(` or
 * `async *name(`), among `methods`: calls of these stream their items.
 */
export function generatorMethods(source: string, methods: readonly string[]): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:^|[\s;{}])(?:static\s+)?(?:async\s*)?\*\s*([A-Za-z_$][\w$]*)\s*\(/g)) found.add(match[1] as string);
  return methods.filter((method) => found.has(method));
}
