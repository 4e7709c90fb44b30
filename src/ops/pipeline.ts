/**
 * `pipeline(inputs).map(f).map(g)...`: chained pipelined maps. Item i enters
 * stage k+1 as soon as its stage k task is done (Ray's "process one,
 * pass one on"), each stage keeps its own concurrency, and between stages
 * only refs move: a stage's result stays in the object store and is handed
 * to the next stage's task as a dependency, never decoded on the driver.
 */
import { get, isObjectRef, type RemoteFunction } from "../core/index.js";
import { checkBoolean, checkFunction, checkFunctionOrRemote, checkInputs, checkOptions } from "../core/internal.js";
import { asRemote, checkConcurrency, defaultConcurrency, type MapInputs, type Mapper } from "./pipelined-map.js";
import { fromInputs, Stage, valuesOf, type Indexed, type Upstream } from "./stage.js";
import { foldRange, type Combiner } from "./tree-reduce.js";

/** Options of {@link pipeline}. */
export interface PipelineOptions {
  /** Keep input order through every stage (default false: as they finish). `collect` is always in order. */
  ordered?: boolean;
}

/** Options of one stage, {@link Pipeline.map}. */
export interface StageOptions {
  /** Most tasks of this stage in flight at once (default: the runtime's CPU count). */
  concurrency?: number;
}

interface StageSpec {
  readonly task: RemoteFunction<[unknown], unknown>;
  readonly concurrency: number | undefined;
}

/**
 * A chain of pipelined map stages over some inputs. Immutable: `map` returns
 * a new pipeline. Nothing runs until it is iterated, collected or reduced;
 * each of those runs it afresh (so a generator input can be consumed once).
 *
 * Backpressure: a stage pulls from the one before it only while it has room,
 * so no stage holds more than about twice its concurrency in items, and
 * stopping early cancels the tasks in flight in every stage.
 *
 * Errors: a failing item ends the run with a MapItemError carrying the
 * item's input index and, as `cause`, the error of the stage that failed.
 *
 * @example
 * const lengths = await ray.pipeline(urls).map(download, { concurrency: 8 }).map(parse).collect();
 * const total = await ray.pipeline(ids).map(load).map(score).reduce((a, b) => a + b);
 */
export class Pipeline<T> implements AsyncIterable<T> {
  readonly #inputs: Iterable<unknown> | AsyncIterable<unknown>;
  readonly #stages: readonly StageSpec[];
  readonly #ordered: boolean;

  /** @internal Made by {@link pipeline}. */
  constructor(inputs: Iterable<unknown> | AsyncIterable<unknown>, stages: readonly StageSpec[], ordered: boolean) {
    this.#inputs = inputs;
    this.#stages = stages;
    this.#ordered = ordered;
  }

  /** Adds a stage that maps `fn` (self-contained or remote) over the items. */
  map<R>(fn: RemoteFunction<[T], R>, options?: StageOptions): Pipeline<Awaited<R>>;
  // eslint-disable-next-line @typescript-eslint/unified-signatures -- one overload per kind of mapper reads better in editor hints
  map<R>(fn: (item: T) => R, options?: StageOptions): Pipeline<Awaited<R>>;
  map<R>(fn: Mapper<T, R>, options?: StageOptions): Pipeline<Awaited<R>> {
    checkFunctionOrRemote(fn, "fn");
    const raw = checkOptions(options, ["concurrency"], "pipeline(...).map");
    const concurrency = checkConcurrency(raw["concurrency"]);
    const task = asRemote(fn as Mapper<unknown, unknown>, `pipeline.stage${this.#stages.length + 1}`);
    return new Pipeline<Awaited<R>>(this.#inputs, [...this.#stages, { task, concurrency }], this.#ordered);
  }

  /** Runs the pipeline and returns every result, in input order. */
  async collect(): Promise<T[]> {
    const results: T[] = [];
    const run = this.#run();
    for (;;) {
      const next = await run.next();
      if (next.done === true) return results;
      results[next.value.index] = next.value.value;
    }
  }

  /**
   * Runs the pipeline and tree-folds the results in input order with `fn` on
   * the driver (as {@link aggList}). As with `Array.prototype.reduce`, an
   * `initial` value goes first in the fold and is the result when there are
   * no items; without it, no items is a RangeError.
   */
  async reduce(fn: Combiner<T>, ...initial: [] | [initial: T]): Promise<T> {
    checkFunction(fn, "fn");
    const results = [...initial, ...(await this.collect())];
    if (results.length === 0) throw new RangeError("Expected the pipeline given to `reduce` to produce at least one item, got none");
    return foldRange(fn, results, 0, results.length);
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return valuesOf(this.#run());
  }

  /** Wires the stages: each one's upstream is the stage before it; only the last fetches values. */
  #run(): AsyncIterator<Indexed<T>, undefined> & { return(): Promise<IteratorResult<Indexed<T>, undefined>> } {
    const source = fromInputs(this.#inputs);
    if (this.#stages.length === 0) return resolveRefs<T>(source);
    let upstream: Upstream<unknown> = source;
    let last: Stage<unknown, unknown> | undefined;
    this.#stages.forEach((spec, i) => {
      const stage: Stage<unknown, unknown> = new Stage<unknown, unknown>(upstream, {
        task: spec.task,
        concurrency: spec.concurrency ?? defaultConcurrency(),
        ordered: this.#ordered,
        fetch: i === this.#stages.length - 1,
      });
      upstream = { sync: false, next: () => stage.next(), close: () => void stage.return() };
      last = stage;
    });
    return last as unknown as Stage<unknown, T>;
  }
}

/** A pipeline without stages yields its inputs, refs resolved. */
function resolveRefs<T>(source: Upstream<unknown>): AsyncIterator<Indexed<T>, undefined> & {
  return(): Promise<IteratorResult<Indexed<T>, undefined>>;
} {
  return {
    async next() {
      const result = await source.next();
      if (result.done === true) return result;
      const { index, value } = result.value;
      return { done: false, value: { index, value: (isObjectRef(value) ? await get(value) : value) as T } };
    },
    async return() {
      source.close();
      return { done: true, value: undefined };
    },
  };
}

/**
 * Starts a pipeline over `inputs` (an array, an iterable or an async
 * iterable, pulled lazily; items may be ObjectRefs). Add stages with `.map`,
 * then `for await` over it, `.collect()` or `.reduce(fn)`.
 *
 * @example
 * const out = await ray.pipeline([1, 2, 3]).map((x: number) => x + 1).map((x: number) => x * 10).collect();
 * // [20, 30, 40]
 */
export function pipeline<T>(inputs: MapInputs<T>, options?: PipelineOptions): Pipeline<T> {
  const source = checkInputs<unknown>(inputs, "inputs", "pipeline");
  const raw = checkOptions(options, ["ordered"], "pipeline");
  const ordered = raw["ordered"] === undefined ? false : checkBoolean(raw["ordered"], "ordered");
  return new Pipeline<T>(source, [], ordered);
}
