/**
 * The caller's side of a streaming generator task: `.remote()` on a remote
 * (async) generator function or actor method returns an ObjectRefGenerator,
 * whose items are refs to the values the generator yields, available while
 * the task still runs (Ray's `num_returns="streaming"`).
 */
import type { Backend } from "../runtime/backend.js";
import { RayError } from "./errors.js";
import { currentBackend } from "../runtime/global-state.js";
import type { ObjectId } from "./ids.js";
import { currentNum, type ObjectRef } from "./object-ref.js";

/** Backpressure value meaning "none": the generator never pauses. */
export const NO_BACKPRESSURE = -1;

/** A generator dropped without being finished still frees its unconsumed items. */
const dropped = new FinalizationRegistry<{ backend: Backend; task: number }>(({ backend, task }) => backend.closeStream?.(task));

/**
 * An async iterable of refs to the items a remote generator yields, in order,
 * as they are produced. If the generator throws after k items, the iteration
 * gives those k refs, then a ref whose `get` throws the task's error, then
 * ends. Breaking out of `for await` (or `return()`) stops the generator in
 * its worker and frees the items not consumed; so does `ray.cancel(gen)`.
 * With `generatorBackpressureNumObjects: n`, the worker pauses while n items
 * are yielded and not yet taken from this iterator.
 *
 * @example
 * const count = ray.remote(async function* (n: number) {
 *   for (let i = 0; i < n; i++) yield i;
 * });
 * for await (const ref of count.remote(3)) console.log(await ray.get(ref));
 */
export class ObjectRefGenerator<T> implements AsyncIterableIterator<ObjectRef<T>> {
  /** The id of the generator task (also the id of its completion object). */
  readonly id: ObjectId;
  /** The task's number in its runtime. */
  readonly #task: number;
  readonly #backend: Backend;
  readonly #completion: ObjectRef<number>;
  #done = false;

  /** @internal Made by `.remote()` of a generator function or method. */
  constructor(completion: ObjectRef<unknown>, backpressure: number, backend: Backend = currentBackend()) {
    checkStreaming(backend);
    this.id = completion.id;
    this.#task = currentNum(completion, "the generator's completion");
    this.#backend = backend;
    this.#completion = completion as ObjectRef<number>;
    (backend.openStream as (task: number, backpressure: number) => void)(this.#task, backpressure);
    dropped.register(this, { backend, task: this.#task }, this);
  }

  /**
   * A ref that settles when the generator task ends: to the number of items
   * it yielded, or to its error.
   */
  completed(): ObjectRef<number> {
    return this.#completion;
  }

  /** The next item's ref; `done` once the generator has returned (or failed, after its error item). */
  async next(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    if (this.#done) return { done: true, value: undefined };
    const ref = await (this.#backend.nextItem as (task: number) => Promise<ObjectRef<unknown> | undefined>)(this.#task);
    if (ref === undefined) {
      this.#finish();
      return { done: true, value: undefined };
    }
    return { done: false, value: ref as ObjectRef<T> };
  }

  /** Stops the generator (if it still runs) and frees the items not consumed. */
  async return(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Same as `return()`, without a promise. */
  close(): void {
    if (this.#done) return;
    this.#finish();
    this.#backend.closeStream?.(this.#task);
  }

  #finish(): void {
    this.#done = true;
    dropped.unregister(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  toString(): string {
    return `ObjectRefGenerator(${this.id})`;
  }
}

/** Throws unless `backend` runs streaming generators (checked before a stream's task is submitted). */
export function checkStreaming(backend: Backend): void {
  if (backend.openStream === undefined || backend.nextItem === undefined || backend.closeStream === undefined) {
    throw new RayError("streaming generators run in local mode only: this runtime cannot stream a generator's items");
  }
}

/** True for an ObjectRefGenerator. */
export function isObjectRefGenerator(value: unknown): value is ObjectRefGenerator<unknown> {
  return value instanceof ObjectRefGenerator;
}

/** True for a function written as `function*` or `async function*` (a generator method too). */
export function isGeneratorFunction(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  const tag = Object.prototype.toString.call(fn);
  return tag === "[object GeneratorFunction]" || tag === "[object AsyncGeneratorFunction]";
}

/** True for the object a generator function returns (sync or async). */
export function isGeneratorObject(value: unknown): value is Generator<unknown> | AsyncGenerator<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const tag = Object.prototype.toString.call(value);
  return tag === "[object Generator]" || tag === "[object AsyncGenerator]";
}
