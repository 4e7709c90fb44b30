import { checkMethodGroups, DEFAULT_NAMESPACE, resolveActorOptions } from "./actor-options.js";
import { prepareCaptures } from "../runtime/captures.js";
import { functionFields } from "../codec/class-fields.js";
import { currentBackend, state } from "../runtime/global-state.js";
import type { ActorId } from "./ids.js";
import type { ActorOptions, ResolvedActorOptions } from "./options.js";
import { ACTOR_KEY, HANDLE_KEY } from "../protocol/protocol.js";
import type { RemoteArgs } from "./remote-function.js";
import { generatorMethods, type ActorMethod } from "./actor-method.js";
import { handleShape, makeActorHandle, type HandleShape } from "./actor-handle.js";

export { makeActorHandle } from "./actor-handle.js";

export type { ActorMethod, ActorMethodOptions, MethodReturn } from "./actor-method.js";

/** A class whose instances can live on a worker as actors. */
export type ActorConstructor = new (...args: never[]) => object;

/** Keys whose values are functions, also when optional or possibly undefined (assigned later, e.g. `this.f = () => ...` in a method). */
type MethodKeys<T> = {
  [K in keyof T]-?: [NonNullable<T[K]>] extends [never] ? never : NonNullable<T[K]> extends (...args: never[]) => unknown ? K : never;
}[keyof T] &
  string;

/** The id and name every handle carries, unless the class has methods of those names. */
interface HandleInfo {
  readonly actorId: ActorId;
  readonly actorName: string;
}

/**
 * A handle to an actor: each method of the class (and each instance field
 * holding a function) becomes an {@link ActorMethod}. Calls run one at a
 * time on the actor, in the order they were submitted, unless the actor has
 * `maxConcurrency` or `concurrencyGroups`. Handles can be passed to tasks and
 * other actors. `actorId` and `actorName` give way to methods of those names.
 */
export type ActorHandle<T> = {
  readonly [K in MethodKeys<T>]: NonNullable<T[K]> extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
} & Omit<HandleInfo, MethodKeys<T>>;

/**
 * What an actor found by name offers when no type is given: any method,
 * untyped. Pass the class (`getActor("x", Counter)`) or a type parameter
 * (`getActor<Counter>("x")`) for typed methods.
 */
export type UntypedActor = Record<string, (...args: unknown[]) => unknown>;

/**
 * An actor class made by `remote(Class)`. `.remote(...args)` starts an actor
 * (on a thread shared with other actors, or its own with `dedicatedThread`)
 * and returns its handle at once.
 *
 * @example
 * const Counter = ray.remote(class Counter { n = 0; inc() { return ++this.n; } });
 * const c = Counter.remote();
 * await ray.get(c.inc.remote()); // 1
 */
export class ActorClass<C extends ActorConstructor> {
  /** Marks the class so it survives a structured clone: tasks can start actors of it. */
  readonly [HANDLE_KEY] = "cls" as const;
  /** @internal */
  readonly classId: number;
  /** The class name. */
  readonly name: string;
  /** The methods its handles expose. */
  readonly methods: readonly string[];
  /** The options actors of this class start with. */
  readonly actorOptions: ResolvedActorOptions;
  /** Its generator methods: their calls return an ObjectRefGenerator. */
  readonly streaming: readonly string[];
  /** The prototype of its handles in the current runtime. */
  #shape: HandleShape | undefined;

  /** @internal Made by `remote()`. */
  constructor(classId: number, name: string, methods: readonly string[], options: ResolvedActorOptions, streaming?: readonly string[]) {
    checkMethodGroups(options, methods, name);
    this.classId = classId;
    this.name = name;
    this.methods = methods;
    this.actorOptions = options;
    this.streaming = streaming ?? streamingMethods(classId, methods);
  }

  /** Starts an actor (or, with `getIfExists`, finds the live one of its name); its constructor runs on the actor's thread. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    const backend = currentBackend();
    prepareCaptures(this.classId, backend);
    const id = backend.createActor(this.classId, args, this.actorOptions, this.methods);
    let shape = this.#shape;
    if (shape?.tag !== state.tag) this.#shape = shape = handleShape(this.methods, this.streaming);
    return makeActorHandle(id, this.actorOptions.name ?? this.name, this.methods, this.streaming, shape) as ActorHandle<InstanceType<C>>;
  }

  /** The same class with other actor options. */
  options(options: ActorOptions): ActorClass<C> {
    return new ActorClass<C>(this.classId, this.name, this.methods, resolveActorOptions(options, this.actorOptions));
  }
}

export const DEFAULT_ACTOR_OPTIONS: ResolvedActorOptions = {
  maxRestarts: 0,
  maxTaskRetries: 0,
  name: undefined,
  namespace: DEFAULT_NAMESPACE,
  getIfExists: false,
  detached: false,
  maxConcurrency: 1,
  concurrencyGroups: {},
  methodGroups: {},
  dedicatedThread: false,
};

/** Public method names of a class, along its prototype chain, then its instance fields that hold functions. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any class: the value passed a `typeof === "function"` check
export function methodNames(cls: Function): string[] {
  const names = new Set<string>();
  for (let current: unknown = cls; typeof current === "function" && current !== Function.prototype; current = Object.getPrototypeOf(current)) {
    for (const field of functionFields(Function.prototype.toString.call(current))) names.add(field);
  }
  for (let proto = cls.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor" || key.startsWith("#")) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined && typeof descriptor.value === "function") names.add(key);
    }
  }
  return [...names];
}

/** Generator methods of a class defined by source in this thread (none when its source is not known here). */
export function streamingMethods(classId: number, methods: readonly string[]): string[] {
  const def = state.functions.get(classId);
  return def?.kind === "source" ? generatorMethods(def.source, methods) : [];
}

/** The id, name and methods of an actor handle made by rayts, or undefined for anything else. */
export function actorInfo(handle: unknown): { readonly id: number; readonly name: string; readonly methods: readonly string[] } | undefined {
  if (typeof handle !== "object" || handle === null) return undefined;
  const record = handle as Record<string, unknown>;
  if (!Object.hasOwn(record, HANDLE_KEY) || record[HANDLE_KEY] !== "actor") return undefined;
  const data = record[ACTOR_KEY] as { id?: unknown; name?: unknown; methods?: unknown } | null | undefined;
  if (typeof data !== "object" || data === null || typeof data.id !== "number" || typeof data.name !== "string" || !Array.isArray(data.methods)) {
    return undefined;
  }
  return { id: data.id, name: data.name, methods: data.methods as string[] };
}
