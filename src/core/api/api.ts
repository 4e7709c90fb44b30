/**
 * The public runtime API. Each call routes to the runtime of the calling
 * thread: the driver runtime in the main thread, a proxy to it in workers,
 * so the same code works in a task and in the driver.
 */
import {
  ActorClass,
  actorInfo,
  DEFAULT_ACTOR_OPTIONS,
  makeActorHandle,
  streamingMethods,
  methodNames,
  type ActorConstructor,
  type ActorHandle,
  type UntypedActor,
} from "./actor.js";
import { isDriverBackend, type DriverBackend, type WaitResult } from "../runtime/backend.js";
import { RayError } from "./errors.js";
import { moduleDefinition } from "../runtime/captures.js";
import type { Observation } from "../runtime/events.js";
import { beginRuntime, currentBackend, state } from "../runtime/global-state.js";
import { currentNum, isObjectRef, type ObjectRef } from "./object-ref.js";
import { checkActorOwner } from "./ids.js";
import {
  checkNodeVersion,
  resolveActorOptions,
  resolveCancelOptions,
  resolveGetOptions,
  resolveWaitOptions,
  resolveInitOptions,
  resolveTaskOptions,
  type ResolvedInitOptions,
  type ActorOptions,
  type InitOptions,
  type TaskOptions,
} from "./options.js";
import { checkOptions, show } from "./checks.js";
import {
  RemoteFunction,
  defaultTaskOptions,
  defineFunction,
  shippableSource,
  type RemoteGeneratorFunction,
  type RemoteTupleFunction,
  type TupleOf,
} from "./remote-function.js";
import { isGeneratorFunction, isObjectRefGenerator, type ObjectRefGenerator } from "./object-ref-generator.js";
import type { ResolvedTaskOptions } from "../protocol/protocol.js";
import type { ClusterResources, NodeInfo, ObjectStoreStats } from "../runtime/runtime.js";
import { startLocalDriver, type LocalDriver } from "../runtime/driver-factory.js";

/** The driver's backend, started with defaults if need be (`init()` is optional). */
function driver(what: string): DriverBackend {
  const backend = state.backend ?? currentBackend();
  if (isDriverBackend(backend)) return backend;
  throw new RayError(`${what}() is only available in the driver, not inside a task`);
}

state.autoInit ??= () => {
  checkNodeVersion();
  const options = resolveInitOptions(undefined);
  beginRuntime();
  const runtime = startLocalDriver(options);
  state.backend = runtime;
  void announceDashboard(startObserving(runtime, options));
  return runtime;
};

function startObserving(runtime: LocalDriver, options: ResolvedInitOptions): Observation | undefined {
  runtime.observation = options.recordState ? state.observe?.(runtime, options) : undefined;
  return runtime.observation;
}

/** Prints the dashboard's address once it listens, as Ray does at init. */
async function announceDashboard(observation: Observation | undefined): Promise<void> {
  await observation?.ready;
  if (observation?.dashboardUrl !== undefined) process.stderr.write(`View the rayts dashboard at ${observation.dashboardUrl}\n`);
}

/**
 * Starts the local runtime: a pool of `numCpus` worker threads and an object
 * store of `objectStoreMemory` bytes. Optional: the first `.remote()` or
 * `put()` initialises with defaults.
 *
 * @example
 * await ray.init({ numCpus: 2 });
 */
export async function init(options?: InitOptions): Promise<void> {
  const resolved = resolveInitOptions(options);
  checkNodeVersion();
  if (state.backend !== undefined && !isDriverBackend(state.backend)) {
    throw new RayError("init() is only available in the driver, not inside a task: a task uses the runtime of the driver that runs it");
  }
  if (state.backend !== undefined) {
    if (resolved.ignoreReinitError) return;
    throw new RayError("init() was called twice; call shutdown() first, or pass { ignoreReinitError: true }");
  }
  if (resolved.address !== undefined) {
    // Loaded only in cluster mode: local drivers and workers never load the Redis client.
    const { connectCluster } = await import("../../cluster/driver-connect.js");
    beginRuntime();
    state.backend = await connectCluster(resolved);
    return;
  }
  beginRuntime();
  const runtime = startLocalDriver(resolved);
  state.backend = runtime;
  await Promise.all([runtime.ready(), announceDashboard(startObserving(runtime, resolved))]);
}

/**
 * Stops every worker and actor and drops the object store. Safe to call when
 * not initialized; refused inside a task (only the driver may stop the runtime).
 */
export async function shutdown(): Promise<void> {
  const backend = state.backend;
  if (backend === undefined) return;
  if (!isDriverBackend(backend)) {
    throw new RayError("shutdown() is only available in the driver, not inside a task: return from the task and let the driver call it");
  }
  state.backend = undefined;
  await backend.shutdown();
}

/** True between `init()` (or auto-init) and `shutdown()`. */
export function isInitialized(): boolean {
  return state.backend !== undefined;
}

/**
 * Turns a self-contained function into a remote function, or a class into an
 * actor class. Uncompiled, the function's source text is shipped to the
 * workers, so it may use only its parameters, globals such as `Math`, and the
 * rayts API under the names its module imports it as (`ray.get` after
 * `import * as ray from "rayts"`, `get` after `import { get } from "rayts"`).
 * Use `raycompile` for functions that capture module-level values.
 *
 * A task function (not an arrow) runs with `this` bound to its own
 * RemoteFunction, typed, so a recursive task calls `this.remote(...)`.
 *
 * @example
 * const square = ray.remote((x: number) => x * x);
 * const Counter = ray.remote(class Counter { n = 0; inc() { return ++this.n; } });
 * const fib = ray.remote(async function (n: number): Promise<number> {
 *   if (n < 2) return n;
 *   const [a, b] = await ray.get([this.remote(n - 1), this.remote(n - 2)]);
 *   return a + b;
 * });
 */
export function remote<C extends ActorConstructor>(cls: C, options?: ActorOptions): ActorClass<C>;
export function remote<A extends unknown[], R, N extends number>(
  fn: (this: RemoteFunction<A, R>, ...args: A) => R,
  options: TaskOptions & { numReturns: N },
): N extends 1 ? RemoteFunction<A, R> : RemoteTupleFunction<A, TupleOf<Awaited<R>>>;
export function remote<A extends unknown[], R>(fn: (this: RemoteFunction<A, R>, ...args: A) => R, options?: TaskOptions): RemoteFor<A, R>;
export function remote(target: unknown, options?: TaskOptions | ActorOptions): unknown {
  if (typeof target !== "function") {
    const already = target instanceof RemoteFunction ? ", which is remote already: call its .remote(...) instead" : "";
    throw new TypeError(`Expected \`remote\` to receive a function or a class, got ${show(target)}${already}`);
  }
  const source = shippableSource(target, "remote");
  const name = target.name || "anonymous";
  if (/^class\b/.test(source)) {
    const id = defineFunction({ kind: "source", name, source });
    return new ActorClass(id, name, methodNames(target), resolveActorOptions(options, DEFAULT_ACTOR_OPTIONS));
  }
  const id = defineFunction({ kind: "source", name, source });
  return new RemoteFunction(id, resolveTaskOptions(options, generatorDefaults(defaultTaskOptions(name), isGeneratorFunction(target))));
}

/** The remote function for a function returning `R`: a generator function's calls stream its items. */
export type RemoteFor<A extends unknown[], R> = [R] extends [never]
  ? RemoteFunction<A, R>
  : [R] extends [Generator<infer T, unknown, undefined> | AsyncGenerator<infer T, unknown, undefined>]
    ? RemoteGeneratorFunction<A, T>
    : RemoteFunction<A, R>;

/** A generator function streams its items unless its options say otherwise. */
function generatorDefaults(options: ResolvedTaskOptions, generator: boolean | undefined): ResolvedTaskOptions {
  return generator === true ? { ...options, numReturns: "streaming" } : options;
}

/** What `raycompile` emits for a remote function: where workers load it from and what it captures. */
export interface CompiledRemoteSpec {
  /** Name shown in logs and errors. */
  name: string;
  /** File URL of the generated task module. */
  moduleUrl: string;
  /**
   * Export of that module: a factory called once per worker with the
   * captured values (by name) that returns the function or class.
   */
  exportName: string;
  /**
   * Module-level values the function captures, by name. Each is evaluated and
   * `put` once, on the first call, then handed to every worker by ref.
   */
  captures?: Record<string, () => unknown>;
  /** The function is a generator: calls return an ObjectRefGenerator. */
  streaming?: boolean;
}

function compiledDefinition(spec: CompiledRemoteSpec): number {
  const input: unknown = spec; // callers may be untyped JavaScript
  if (typeof input !== "object" || input === null) throw new TypeError(`Expected a compiled remote spec object, got ${show(input)}`);
  for (const key of ["name", "moduleUrl", "exportName"] as const) {
    if (typeof spec[key] !== "string") throw new TypeError(`Expected \`${key}\` of the compiled remote spec to be a string, got ${show(spec[key])}`);
  }
  const captures = spec.captures ?? {};
  for (const [name, thunk] of Object.entries(captures)) {
    if (typeof thunk !== "function") throw new TypeError(`Expected capture \`${name}\` to be a function returning the value, got ${show(thunk)}`);
  }
  // Captures are read and put on the first call in each runtime (see captures.ts).
  return defineFunction(moduleDefinition(spec.name, spec.moduleUrl, spec.exportName, captures));
}

/**
 * A remote function whose code workers load from a generated task module;
 * emitted by `raycompile`, rarely written by hand.
 */
export function remoteFromModule<A extends unknown[], R>(spec: CompiledRemoteSpec, options?: TaskOptions): RemoteFunction<A, R> {
  const id = compiledDefinition(spec);
  return new RemoteFunction<A, R>(id, resolveTaskOptions(options, generatorDefaults(defaultTaskOptions(spec.name), spec.streaming)));
}

/** An actor class whose code workers load from a generated task module; emitted by `raycompile`. */
export function actorFromModule<C extends ActorConstructor>(
  spec: CompiledRemoteSpec & { methods: readonly string[]; streamingMethods?: readonly string[] },
  options?: ActorOptions,
): ActorClass<C> {
  const id = compiledDefinition(spec);
  return new ActorClass<C>(id, spec.name, spec.methods, resolveActorOptions(options, DEFAULT_ACTOR_OPTIONS), spec.streamingMethods ?? []);
}

/** Options of `get`. */
export interface GetOptions {
  /** Milliseconds to wait before rejecting with GetTimeoutError. */
  timeout?: number;
}

type Values<R extends readonly ObjectRef<unknown>[]> = { -readonly [K in keyof R]: R[K] extends ObjectRef<infer T> ? T : never };

/** Checks every element is a live ref; `unique` (for `wait`, as in Ray) also refuses one given twice, which `get` accepts. */
function checkRefs(refs: readonly unknown[], what: string, unique: boolean): ObjectRef<unknown>[] {
  const seen = new Set<number>();
  refs.forEach((ref, index) => {
    if (!isObjectRef(ref)) throw new TypeError(`Expected \`${what}\` to hold only ObjectRefs, got ${show(ref)} at index ${index}`);
    const num = currentNum(ref, `${what}[${index}]`);
    if (unique && seen.has(num)) throw new RangeError(`Expected \`${what}\` to hold distinct ObjectRefs, got ${String(ref)} twice (again at index ${index})`);
    seen.add(num);
  });
  return refs as ObjectRef<unknown>[];
}

/**
 * Waits for one value or an array of values (in order). Rejects with the
 * task's error (`RayTaskError`, `WorkerCrashedError`, `TaskCancelledError`...)
 * or with `GetTimeoutError` after `timeout` ms.
 *
 * @example
 * await ray.get(ref);           // value
 * await ray.get([r1, r2]);      // [v1, v2]
 */
export function get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
export function get<const R extends readonly ObjectRef<unknown>[]>(refs: R, options?: GetOptions): Promise<Values<R>>;
export function get(refs: unknown, options?: GetOptions): Promise<unknown> {
  // Not an async function: `await get(ref)` then waits on the backend's own promise, one hop fewer per call.
  try {
    const timeout = options === undefined ? undefined : resolveGetOptions(options).timeout;
    if (Array.isArray(refs)) {
      if (refs.length === 0) return Promise.resolve([]);
      return currentBackend().get(checkRefs(refs, "refs", false), timeout);
    }
    if (!isObjectRef(refs)) throw new TypeError(`Expected \`get\` to receive an ObjectRef or an array of them, got ${show(refs)}`);
    currentNum(refs, "ref");
    const backend = currentBackend();
    if (backend.getOne !== undefined) return backend.getOne(refs, timeout);
    return backend.get([refs], timeout).then((values) => values[0]);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Stores an immutable copy of a value and returns a ref to it, synchronously.
 * Typed arrays, ArrayBuffers and Arrow data go to shared memory and reach
 * workers without another copy.
 *
 * @example
 * const ref = ray.put(new Float64Array(1_000_000));
 */
export function put<T>(value: T): ObjectRef<T> {
  return currentBackend().put(value) as ObjectRef<T>;
}

/** The value type of a ref type (distributes over a union of refs). */
type RefValue<R> = R extends ObjectRef<infer T> ? T : never;

/** Options of `wait`. */
export interface WaitOptions {
  /** How many ready refs to wait for (default 1). */
  numReturns?: number;
  /** Milliseconds to wait at most; then return what is ready. */
  timeout?: number;
}

/**
 * Waits until `numReturns` of the refs are ready (or `timeout` ms pass) and
 * returns `[ready, notReady]`, each in input order.
 *
 * @example
 * const [ready, rest] = await ray.wait(refs, { numReturns: 1 });
 */
export function wait<T>(refs: readonly ObjectRef<T>[], options?: WaitOptions): Promise<WaitResult<T>>;
/** Refs of different types: `ready` and `notReady` hold refs to the union of their value types. */
export function wait<R extends ObjectRef<unknown>>(refs: readonly R[], options?: WaitOptions): Promise<WaitResult<RefValue<R>>>;
export async function wait(refs: readonly ObjectRef<unknown>[], options?: WaitOptions): Promise<WaitResult<unknown>> {
  if (!Array.isArray(refs)) throw new TypeError(`Expected \`refs\` to be an array of ObjectRefs, got ${show(refs)}`);
  const checked = checkRefs(refs, "refs", true);
  const { numReturns, timeout } = resolveWaitOptions(options);
  if (checked.length === 0) return [[], []];
  if (numReturns > checked.length) {
    throw new RangeError(`Expected \`numReturns\` to be at most the number of refs (${checked.length}), got ${numReturns}`);
  }
  return currentBackend().wait(checked, numReturns, timeout);
}

/**
 * Cancels a task. A task not started yet never runs; a running one is
 * abandoned (its result discarded), or with `force` its worker is stopped.
 * `get` on the ref then rejects with TaskCancelledError.
 */
export function cancel(ref: ObjectRef<unknown> | ObjectRefGenerator<unknown>, options?: CancelOptions): void {
  if (isObjectRefGenerator(ref)) {
    const { force } = resolveCancelOptions(options);
    currentBackend().cancel(ref.completed(), force);
    ref.close();
    return;
  }
  if (!isObjectRef(ref)) throw new TypeError(`Expected \`cancel\` to receive an ObjectRef or an ObjectRefGenerator, got ${show(ref)}`);
  currentNum(ref, "ref");
  const { force } = resolveCancelOptions(options);
  currentBackend().cancel(ref, force);
}

/** Options of `cancel`. */
export interface CancelOptions {
  /** Stop the worker running the task (it is replaced); default false, the result is dropped. */
  force?: boolean;
}

/**
 * Stops an actor at once; pending and later calls reject with ActorDiedError.
 * An actor sharing its thread leaves it without disturbing the others (a
 * synchronous call it is running finishes first); a dedicated thread is stopped.
 * Refuses anything but a handle made by rayts, and ids this runtime never started.
 */
export function kill<T>(actor: ActorHandle<T>, options?: KillOptions): void {
  if (options !== undefined) {
    const checked = checkOptions(options, ["noRestart"], "kill()");
    if (checked["noRestart"] !== undefined && checked["noRestart"] !== true) {
      throw new TypeError(`Expected \`noRestart\` of kill() to be true (a killed actor is never restarted; maxRestarts covers crashes), got ${show(checked["noRestart"])}`);
    }
  }
  const info = actorInfo(actor);
  if (info === undefined) {
    throw new TypeError(`Expected \`kill\` to receive an actor handle (from ActorClass.remote() or getActor()), got ${show(actor)}`);
  }
  const backend = currentBackend();
  checkActorOwner(actor, info.id, state.tag, "kill():");
  backend.kill(info.id);
}

/** Options of `kill`. */
export interface KillOptions {
  /** A killed actor is never restarted: only `true` (the default) is accepted. */
  noRestart?: true;
}

/** Options of `getActor`. */
export interface GetActorOptions {
  /** The namespace the actor was named in (default `"default"`). */
  namespace?: string;
}

/**
 * The handle of the actor started with `{ name }` (in `namespace`), or throws
 * a RayError when there is none. Give the class, or a type parameter, for
 * typed methods; without either the methods are untyped.
 *
 * @example
 * const c = ray.getActor("hits", Counter);   // ActorHandle<Counter>, checked to be a Counter
 * const d = ray.getActor<Counter>("hits");   // typed, unchecked
 */
export function getActor<C extends ActorConstructor>(name: string, cls: ActorClass<C>, options?: GetActorOptions): ActorHandle<InstanceType<C>>;
export function getActor<T = UntypedActor>(name: string, options?: GetActorOptions): ActorHandle<T>;
export function getActor(name: string, clsOrOptions?: unknown, maybeOptions?: GetActorOptions): unknown {
  if (typeof name !== "string") throw new TypeError(`Expected \`name\` to be a string, got ${show(name)}`);
  const cls = clsOrOptions instanceof ActorClass ? (clsOrOptions as ActorClass<ActorConstructor>) : undefined;
  const options = checkOptions(cls === undefined ? clsOrOptions : maybeOptions, ["namespace"], "getActor()");
  const namespace = options["namespace"];
  if (namespace !== undefined && (typeof namespace !== "string" || namespace.length === 0)) {
    throw new TypeError(`Expected \`namespace\` to be a non-empty string, got ${show(namespace)}`);
  }
  const found = currentBackend().getActor(name, namespace);
  if (found === undefined) throw new RayError(`no live actor is named "${name}"${namespace === undefined ? "" : ` in namespace "${namespace}"`}`);
  if (cls !== undefined && found.cls !== undefined && cls.classId !== found.cls) {
    throw new TypeError(`Expected the actor named "${name}" to be a ${cls.name}, got an actor of another class (${found.name})`);
  }
  return makeActorHandle(found.id, found.name, found.methods, found.streaming ?? (found.cls === undefined ? [] : streamingMethods(found.cls, found.methods)));
}

/** Resources free now: `{ CPU, memory, object_store_memory, "node:<ip>" }`. */
export function availableResources(): ClusterResources {
  return driver("availableResources").resources(false);
}

/** Resource totals, same keys as {@link availableResources}. */
export function clusterResources(): ClusterResources {
  return driver("clusterResources").resources(true);
}

/** The nodes of the cluster: one in local mode. */
export function nodes(): NodeInfo[] {
  return driver("nodes").nodes();
}

/** Counters of the object store: objects, bytes, puts made. */
export function objectStoreStats(): ObjectStoreStats {
  return driver("objectStoreStats").storeStats();
}
