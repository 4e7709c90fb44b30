/**
 * `mapPipelined`: Ray's "process one, pass one on" advice as an async
 * iterable. Results come out as tasks finish (or in input order), with a
 * bounded number of tasks in flight and inputs pulled lazily.
 */
import { availableParallelism } from "node:os";
import { clusterResources, isInitialized, remote, type ObjectRef, type RemoteFunction } from "../core/index.js";
import { shippableSource, checkBoolean, checkFunctionOrRemote, checkInputs, checkInteger, checkOptions, isRemoteFunction } from "../core/internal.js";
import { fromInputs, Stage, valuesOf } from "./stage.js";

/** Options of {@link mapPipelined}. */
export interface MapPipelinedOptions {
  /** Most tasks in flight at once (default: the runtime's CPU count). */
  concurrency?: number;
  /** Yield results in input order instead of as they finish (default false). */
  ordered?: boolean;
}

/** A function to map with: self-contained (shipped as source) or already remote. */
export type Mapper<T, R> = ((item: T) => R) | RemoteFunction<[T], R>;

/** Inputs of a pipelined map: values or refs to them, from any sync or async iterable. */
export type MapInputs<T> = Iterable<T | ObjectRef<T>> | AsyncIterable<T | ObjectRef<T>>;

const remoteOf = new WeakMap<object, RemoteFunction<[unknown], unknown>>();

/**
 * The remote function for a mapper; plain functions are made remote once and
 * reused (named after the function, or `fallbackName` when it has none).
 */
export function asRemote<T, R>(fn: Mapper<T, R>, fallbackName: string): RemoteFunction<[T], R> {
  if (typeof fn !== "function" || isRemoteFunction(fn)) return fn as RemoteFunction<[T], R>;
  let made = remoteOf.get(fn);
  if (made === undefined) {
    shippableSource(fn, "fn"); // a native or bound function is refused here, naming `fn`
    made = remote(fn as (item: unknown) => unknown, { name: fn.name || fallbackName });
    remoteOf.set(fn, made);
  }
  return made as RemoteFunction<[T], R>;
}

/** The default concurrency: the runtime's CPUs, or this machine's before `init`. */
export function defaultConcurrency(): number {
  if (!isInitialized()) return availableParallelism();
  try {
    return Math.max(1, Math.floor(clusterResources()["CPU"]));
  } catch {
    // inside a task the driver's resources are not visible
    return availableParallelism();
  }
}

/** Checks `concurrency` (undefined means the default). */
export function checkConcurrency(value: unknown): number | undefined {
  return value === undefined ? undefined : checkInteger(value, "concurrency", 1);
}

/**
 * Maps `fn` over `inputs` as remote tasks and yields the results as they
 * finish (or in input order with `ordered: true`), keeping at most
 * `concurrency` tasks in flight. Inputs are pulled lazily from arrays,
 * iterables or async iterables, so an endless stream works; an input may
 * also be an ObjectRef (resolved before the task runs).
 *
 * A failed item ends the iteration with a {@link MapItemError} carrying its
 * `index` and the task's error as `cause`. Stopping early (`break`,
 * `return`, a throw in the loop) cancels the tasks still in flight and closes
 * the input iterator.
 *
 * Options are checked at the call; the work starts when iteration does, and
 * each iteration of the returned iterable runs the map afresh.
 *
 * @example
 * const square = (x: number) => x * x;
 * for await (const y of ray.mapPipelined(square, [1, 2, 3], { concurrency: 2 })) console.log(y);
 *
 * @example
 * // streaming input, results in order, stop after 10
 * function* naturals() { for (let i = 0; ; i++) yield i; }
 * let n = 0;
 * for await (const y of ray.mapPipelined(square, naturals(), { ordered: true })) if (++n === 10) break;
 */
export function mapPipelined<T, R>(fn: RemoteFunction<[T], R>, inputs: MapInputs<T>, options?: MapPipelinedOptions): AsyncIterable<Awaited<R>>;
// eslint-disable-next-line @typescript-eslint/unified-signatures -- one overload per kind of mapper reads better in editor hints
export function mapPipelined<T, R>(fn: (item: T) => R, inputs: MapInputs<T>, options?: MapPipelinedOptions): AsyncIterable<Awaited<R>>;
export function mapPipelined<T, R>(fn: Mapper<T, R>, inputs: MapInputs<T>, options?: MapPipelinedOptions): AsyncIterable<Awaited<R>> {
  checkFunctionOrRemote(fn, "fn");
  const source = checkInputs<unknown>(inputs, "inputs", "mapPipelined");
  const raw = checkOptions(options, ["concurrency", "ordered"], "mapPipelined");
  const concurrency = checkConcurrency(raw["concurrency"]);
  const ordered = raw["ordered"] === undefined ? false : checkBoolean(raw["ordered"], "ordered");
  const task = asRemote(fn as Mapper<unknown, unknown>, "mapPipelined.fn");
  return {
    [Symbol.asyncIterator](): AsyncIterator<Awaited<R>, undefined> {
      const stage = new Stage<unknown, Awaited<R>>(fromInputs(source), {
        task,
        concurrency: concurrency ?? defaultConcurrency(),
        ordered,
        fetch: true,
      });
      return valuesOf(stage);
    },
  };
}
