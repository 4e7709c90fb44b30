import { prepareCaptures } from "./captures.js";
import { currentBackend, state } from "./global-state.js";
import type { ObjectRef } from "./object-ref.js";
import { resolveActorOptions, type ActorOptions, type ResolvedActorOptions } from "./options.js";
import { ACTOR_KEY, HANDLE_KEY } from "./protocol.js";
import type { RemoteArgs } from "./remote-function.js";

/** A class whose instances can live on a worker as actors. */
export type ActorConstructor = new (...args: never[]) => object;

type MethodKeys<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T] & string;

/** One method of an actor, called with `.remote(...)`. */
export interface ActorMethod<A extends unknown[], R> {
  remote(...args: RemoteArgs<A>): ObjectRef<Awaited<R>>;
}

/**
 * A handle to an actor: each method of the class becomes an
 * {@link ActorMethod}. Calls run one at a time on the actor's worker, in the
 * order they were submitted. Handles can be passed to tasks and other actors.
 */
export type ActorHandle<T> = {
  readonly [K in MethodKeys<T>]: T[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
} & { readonly actorId: number; readonly actorName: string };

/**
 * An actor class made by `remote(Class)`. `.remote(...args)` starts an actor
 * on its own worker and returns its handle at once.
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

  /** @internal Made by `remote()`. */
  constructor(classId: number, name: string, methods: readonly string[], options: ResolvedActorOptions) {
    this.classId = classId;
    this.name = name;
    this.methods = methods;
    this.actorOptions = options;
  }

  /** Starts an actor; its constructor runs on the actor's worker. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    const backend = currentBackend();
    prepareCaptures(this.classId, backend);
    const id = backend.createActor(this.classId, args, this.actorOptions, this.methods);
    return makeActorHandle(id, this.actorOptions.name ?? this.name, this.methods) as ActorHandle<InstanceType<C>>;
  }

  /** The same class with other actor options. */
  options(options: ActorOptions): ActorClass<C> {
    return new ActorClass<C>(this.classId, this.name, this.methods, resolveActorOptions(options, this.actorOptions));
  }
}

export const DEFAULT_ACTOR_OPTIONS: ResolvedActorOptions = { maxRestarts: 0, maxTaskRetries: 0, name: undefined };

/** Public method names of a class, along its prototype chain. */
export function methodNames(cls: Function): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor" || key.startsWith("#")) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined && typeof descriptor.value === "function") names.add(key);
    }
  }
  return [...names];
}

/**
 * Builds a handle. The marker fields are the only enumerable ones, so a handle
 * crosses threads as plain data and is rebuilt there by {@link makeActorHandle}.
 */
export function makeActorHandle(id: number, name: string, methods: readonly string[]): Record<string, unknown> {
  const handle: Record<string, unknown> = { [HANDLE_KEY]: "actor", [ACTOR_KEY]: { id, name, methods: [...methods] } };
  Object.defineProperty(handle, "actorId", { value: id, enumerable: false });
  Object.defineProperty(handle, "actorName", { value: name, enumerable: false });
  for (const method of methods) {
    const stub = { remote: (...args: unknown[]) => currentBackend().submitCall(id, method, args) };
    // A method keeps its handle (and so its actor) alive, as in Ray.
    Object.defineProperty(stub, "handle", { value: handle, enumerable: false });
    if (method in handle) continue;
    Object.defineProperty(handle, method, { value: stub, enumerable: false });
  }
  state.backend?.trackActorHandle(handle, id);
  return handle;
}
