/**
 * The classic Ray example's `agg_list_with_ray`: split the sequence into chunks, fold each
 * chunk on a worker, fold the partial results in order on the driver. The
 * chunk size comes from a cost model fed with measured figures (see
 * chunk-plan.ts) unless the caller fixes it.
 */
import { availableParallelism } from "node:os";
import { availableResources, cancel, get, isInitialized, put, isObjectRef, type ObjectRef, type RemoteFunction } from "../core/index.js";
import { allocateSharedBlock, shippableSource, checkFunctionOrRemote, checkInteger, checkNotEmpty, checkOptions, checkSequenceOrRef, describe, isRemoteFunction, runtimeScoped } from "../core/internal.js";
import { distributedLowerBoundMs, localMs, planChunks, SAFETY_MARGIN, type ChunkPlan } from "./chunk-plan.js";
import { foldChunkTask, probeTask, type ChunkMode } from "./fold-task.js";
import { foldRange, type Combiner } from "./tree-reduce.js";

/** Options of {@link aggListDistributed}. */
export interface AggListDistributedOptions {
  /**
   * Items per chunk task, or `"auto"` (the default): measure the combine and
   * the task overhead, pick the size, and fold locally when distributing
   * cannot win. A number always distributes, even a single chunk.
   */
  chunkSize?: number | "auto";
}

/** A combine step that runs as a task: `remote((a, b) => ...)`. */
export type RemoteCombiner<T> = RemoteFunction<[T, T], T | PromiseLike<T>>;

/** What `"auto"` decided and why, for tests, benchmarks and curious users. */
export type AggListDecision = ChunkPlan & {
  /** Items folded on the driver while measuring the combine. */
  readonly sampled: number;
  /** Measured fixed cost of one combine (ms). */
  readonly combineMs: number;
  /** Measured growth of a combine's cost per item of its result (ms; 0: constant cost). */
  readonly growthMsPerItem: number;
};

interface Resolved<T> {
  readonly combine: Combiner<T> | RemoteCombiner<T>;
  readonly chunkSize: number | "auto";
}

/** Combines timed while sampling stop once they took this long (ms). */
const SAMPLE_MS = 0.5;
/**
 * Sampling goes on (up to GROWTH_SAMPLE_MS) until its two last partials
 * hold this many items: merging a handful of items costs about what merging
 * two does, so growth only shows on larger operands.
 */
const GROWTH_MIN_ITEMS = 64;
const GROWTH_SAMPLE_MS = 4 * SAMPLE_MS;
/** Below this estimated local time (ms) the fold stays local without measuring the task overhead. */
const MIN_DISTRIBUTE_MS = 2;
/** Least cost of copying a typed array into new shared memory, in ns per byte (2 GB/s). */
const COPY_NS_PER_BYTE = 0.5;
/** Items cloned to estimate the transfer cost of plain values. */
const TRANSFER_SAMPLE = 64;

/** What this operator remembers for the life of a runtime (a new `init()` measures again). */
interface Memory {
  overheadMs: number | undefined;
  decision: AggListDecision | undefined;
}
const MEMORY = Symbol("aggListDistributed");

function memory(): Memory {
  return runtimeScoped<Memory>(MEMORY, () => ({ overheadMs: undefined, decision: undefined }));
}

/** The decision of the last `"auto"` call of {@link aggListDistributed} in this thread's current runtime, if any. */
export function lastAggListDecision(): AggListDecision | undefined {
  return memory().decision;
}

function resolveOptions<T>(fn: unknown, options: unknown): Resolved<T> {
  const combine = checkFunctionOrRemote<Combiner<T>, RemoteCombiner<T>>(fn, "fn");
  const raw = checkOptions(options, ["chunkSize"], "aggListDistributed");
  const chunkSize = raw["chunkSize"];
  if (chunkSize === undefined || chunkSize === "auto") return { combine, chunkSize: "auto" };
  if (typeof chunkSize !== "number" || !Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`Expected \`chunkSize\` to be "auto" or an integer from 1 and up, got ${describe(chunkSize)}`);
  }
  return { combine, chunkSize: checkInteger(chunkSize, "chunkSize", 1) };
}

function isTypedArray(value: unknown): value is ArrayLike<unknown> & { subarray(start: number, end: number): ArrayLike<unknown> } {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** CPU slots free now; 1 when that cannot be known (inside a task). */
function freeWorkers(): number {
  if (!isInitialized()) return availableParallelism();
  try {
    return Math.max(1, Math.floor(availableResources()["CPU"]));
  } catch {
    return 1;
  }
}

/** Round trip of an empty task, measured once per thread (best of 5, the first starts the workers). */
async function taskOverheadMs(): Promise<number> {
  const known = memory().overheadMs;
  if (known !== undefined) return known;
  const probe = probeTask();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await get(probe.remote());
    best = Math.min(best, performance.now() - t0);
  }
  memory().overheadMs = best; // the runtime the probe started, if none ran before
  return best;
}

/**
 * Where the items live and how a chunk of them is handed to a task:
 * - a plain array on the driver: each task gets its slice (mode 0);
 * - a typed array: stored once in shared memory, each task gets the whole
 *   array by ref with no copy and folds its index range (mode 1);
 * - a ref to a plain array: each task gets the ref boxed (so it is not
 *   resolved on the driver), fetches it once per worker and folds its range
 *   (mode 2).
 */
interface Source<T> {
  readonly items: ArrayLike<T>;
  /** A typed array already in shared memory: tasks read it with no copy at all. */
  readonly shared: boolean;
  chunk(start: number, end: number): [data: unknown, start: number, end: number, mode: ChunkMode];
}

async function openSource<T>(seq: ArrayLike<T> | ObjectRef<ArrayLike<T>>): Promise<Source<T>> {
  if (isObjectRef(seq)) {
    const items = (await get(seq)) as ArrayLike<T> | null; // the ref's type is only a claim
    if (typeof items !== "object" || items === null || typeof (items as { length?: unknown }).length !== "number") {
      throw new TypeError(`Expected \`seq\` of aggListDistributed to refer to an array or a typed array, got ${describe(items)}`);
    }
    checkNotEmpty(items, "seq", "aggListDistributed");
    if (isTypedArray(items)) return { items, shared: true, chunk: (a, b) => [seq, a, b, 1] };
    const box = [seq];
    return { items, shared: false, chunk: (a, b) => [box, a, b, 2] };
  }
  const items = seq;
  if (isTypedArray(items)) {
    let ref: ObjectRef<ArrayLike<T>> | undefined;
    return {
      items,
      // A view on shared memory most likely came from the store (get): passing it on copies nothing.
      shared: (items as unknown as { buffer: unknown }).buffer instanceof SharedArrayBuffer,
      chunk: (a, b) => {
        ref ??= put(items);
        return [ref, a, b, 1];
      },
    };
  }
  return { items, shared: false, chunk: (a, b) => [Array.prototype.slice.call(items, a, b), 0, b - a, 0] };
}

/** A combine whose cost at the larger operands is below this multiple of the small one counts as constant. */
const GROWTH_RATIO = 2;
/** Repetitions of each timed combine when measuring growth; the fastest counts. */
const GROWTH_REPEATS = 3;
/** A timing of a combine lasts at least this long (ms): a single call of a few microseconds is below the clock's noise. */
const GROWTH_MIN_TIMING_MS = 0.05;
/** Most calls in one timing. */
const GROWTH_MAX_CALLS = 1024;

/** Best of GROWTH_REPEATS timings of `fn(a, b)` per call, in ms, each timing long enough to read. */
function timeCombine<T>(fn: Combiner<T>, a: T, b: T): number {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn(a, b);
    if (performance.now() - t0 >= GROWTH_MIN_TIMING_MS || calls >= GROWTH_MAX_CALLS) break;
    calls *= 2;
  }
  let best = Infinity;
  for (let round = 0; round < GROWTH_REPEATS; round++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn(a, b);
    best = Math.min(best, (performance.now() - t0) / calls);
  }
  return best;
}

/**
 * How a combine's cost grows with its operands: timed on two single items
 * and on the two largest sampled partials (results of `big` items in all).
 * A merge of sorted lists costs in proportion to its output, a sum does not;
 * assuming a constant cost under-estimates such merges many times over.
 * Returns the fixed cost and the cost per item of the result.
 */
function measureGrowth<T>(fn: Combiner<T>, items: ArrayLike<T>, left: T, right: T, big: number): { fixedMs: number; perItemMs: number } | undefined {
  if (items.length < 2 || big < 8) return undefined;
  const small = timeCombine(fn, items[0] as T, items[1] as T);
  const large = timeCombine(fn, left, right);
  if (!(large > small * GROWTH_RATIO)) return undefined;
  const perItemMs = (large - small) / (big - 2);
  return { fixedMs: Math.max(0, small - 2 * perItemMs), perItemMs };
}

/**
 * Folds leading items locally while timing the combine; the work is kept.
 * Samples double in size until they took SAMPLE_MS in all (and at least
 * three were taken, and the last two hold GROWTH_MIN_ITEMS items unless
 * sampling reached GROWTH_SAMPLE_MS), so two large partials exist to time
 * a combine of large operands. The estimate is the lowest per-combine time
 * seen over samples of 3 combines or more: a GC pause or a busy core only
 * ever makes a sample slower, and a low estimate errs towards folding
 * locally, which never loses much. Then {@link measureGrowth} says whether
 * that cost grows with the operands.
 */
function sample<T>(fn: Combiner<T>, items: ArrayLike<T>): { parts: T[]; consumed: number; combineMs: number; growthMsPerItem: number } {
  const n = items.length;
  const parts: T[] = [];
  const sizes: number[] = [];
  let consumed = 0;
  let size = 2;
  let spent = 0;
  let bestRate = Infinity; // over samples of 3 combines or more
  let smallRate = Infinity; // over the 1-combine sample
  while (consumed < n) {
    const take = Math.min(size, n - consumed);
    const t0 = performance.now();
    parts.push(foldRange(fn, items, consumed, consumed + take));
    sizes.push(take);
    const took = performance.now() - t0;
    consumed += take;
    spent += took;
    if (take >= 4) bestRate = Math.min(bestRate, took / (take - 1));
    else if (take >= 2) smallRate = Math.min(smallRate, took / (take - 1));
    const lastTwo = take + (sizes[sizes.length - 2] ?? 0);
    if (spent >= SAMPLE_MS && parts.length >= 3 && (lastTwo >= GROWTH_MIN_ITEMS || spent >= GROWTH_SAMPLE_MS)) break;
    size *= 2;
  }
  const combineMs = bestRate !== Infinity ? bestRate : smallRate !== Infinity ? smallRate : 0;
  const last = parts.length - 1;
  if (last < 1) return { parts, consumed, combineMs, growthMsPerItem: 0 };
  const growth = measureGrowth(fn, items, parts[last - 1] as T, parts[last] as T, (sizes[last - 1] ?? 0) + (sizes[last] ?? 0));
  if (growth === undefined) return { parts, consumed, combineMs, growthMsPerItem: 0 };
  return { parts, consumed, combineMs: growth.fixedMs, growthMsPerItem: growth.perItemMs };
}

/**
 * Driver-side cost of sending one item: a structured clone of a few plain
 * values, or a copy of a typed array not yet in shared memory (one `put`);
 * nothing for a typed array already in the store.
 */
function transferMsPerItem<T>(source: Source<T>, from: number): number {
  const items = source.items;
  if (isTypedArray(items)) {
    if (source.shared) return 0;
    // What `put` does: copy into a fresh store block. The sample is taken from the end of
    // the array, away from the prefix just folded, so that it is not served from the cache.
    const view = items as unknown as { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
    const count = Math.min(items.length - from, 131_072);
    if (count <= 0) return 0;
    const bytes = Math.floor((view.byteLength / items.length) * count);
    const t0 = performance.now();
    new Uint8Array(allocateSharedBlock(bytes)).set(new Uint8Array(view.buffer, view.byteOffset + view.byteLength - bytes, bytes));
    const measured = (performance.now() - t0) / count;
    // A small sample may land in memory already mapped; a large put also pays for fresh pages.
    // Floor: 2 GB/s, what a large put into new shared memory was measured at.
    return Math.max(measured, ((bytes / count) * COPY_NS_PER_BYTE) / 1e6);
  }
  const end = Math.min(items.length, from + TRANSFER_SAMPLE);
  if (end <= from) return 0;
  const slice = Array.prototype.slice.call(items, from, end);
  const t0 = performance.now();
  structuredClone(slice);
  return (performance.now() - t0) / slice.length;
}

/** Submits one fold task per chunk of `[from, n)`. */
function submitChunks<T>(source: string, src: Source<T>, from: number, chunkSize: number): ObjectRef<T>[] {
  const task = foldChunkTask();
  const refs: ObjectRef<T>[] = [];
  const n = src.items.length;
  for (let start = from; start < n; start += chunkSize) {
    const [data, a, b, mode] = src.chunk(start, Math.min(n, start + chunkSize));
    refs.push(task.remote(source, data, a, b, mode) as ObjectRef<T>);
  }
  return refs;
}

async function gatherAll<T>(refs: ObjectRef<T>[]): Promise<T[]> {
  try {
    return await get(refs);
  } catch (error) {
    for (const ref of refs) {
      try {
        cancel(ref);
      } catch {
        // already finished or gone: nothing to cancel
      }
    }
    throw error;
  }
}

/**
 * With a RemoteFunction every combine is a task. The whole tree of
 * `n - 1` tasks is submitted at once, pairwise within chunks of
 * `chunkSize` leaves and then over the chunk results; each task names its
 * operands by ref, so the runtime starts it as soon as both exist and no
 * intermediate value passes through the driver.
 */
function remoteTree<T>(fn: RemoteCombiner<T>, items: ArrayLike<T>, chunkSize: number): ObjectRef<T> | T {
  const n = items.length;
  const tree = (level: (T | ObjectRef<T>)[]): T | ObjectRef<T> => {
    while (level.length > 1) {
      const next: (T | ObjectRef<T>)[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(fn.remote(level[i] as never, level[i + 1] as never) as ObjectRef<T>);
      if (level.length & 1) next.push(level[level.length - 1] as T);
      level = next;
    }
    return level[0] as T | ObjectRef<T>;
  };
  const partials: (T | ObjectRef<T>)[] = [];
  for (let start = 0; start < n; start += chunkSize) {
    partials.push(tree(Array.prototype.slice.call(items, start, Math.min(n, start + chunkSize)) as T[]));
  }
  return tree(partials);
}

/**
 * Tree fold distributed over the workers: the sequence is cut into chunks,
 * each chunk is folded on a worker, and the partial results are folded in
 * order on the driver. Equals `aggList(fn, seq)` (and so `seq.reduce(fn)`)
 * for any associative `fn`.
 *
 * - `fn`: a self-contained function (shipped as source text, compiled once
 *   per worker) or a RemoteFunction (then each combine is one task).
 * - `seq`: an array, a typed array, an iterable, or an ObjectRef to an array
 *   or typed array. Typed arrays are chunked without copying: tasks read
 *   index ranges of the one shared copy.
 * - `chunkSize`: `"auto"` (default) samples the combine on the first items,
 *   measures the task overhead, and folds locally when distribution cannot
 *   win; a number forces chunks of that size. See docs/operators.md.
 *
 * @throws RangeError on an empty sequence or a bad `chunkSize`; TypeError on
 * a bad `fn` or `seq`; the task's error (RayTaskError...) when a fold fails.
 *
 * @example
 * const total = await aggListDistributed((a, b) => a + b, new Float64Array(1e7).fill(1));
 * const merged = await aggListDistributed((a, b) => [...a, ...b], lists, { chunkSize: 5000 });
 */
export async function aggListDistributed<T>(
  fn: Combiner<T> | RemoteCombiner<T>,
  seq: ArrayLike<T> | Iterable<T> | ObjectRef<ArrayLike<T>>,
  options?: AggListDistributedOptions,
): Promise<T> {
  const { combine, chunkSize } = resolveOptions<T>(fn, options);
  const checked = checkSequenceOrRef<T>(seq, "seq", "aggListDistributed");
  if (isRemoteFunction(combine)) {
    const items = isObjectRef(checked) ? await get(checked) : checked;
    checkNotEmpty(items, "seq", "aggListDistributed");
    const size = chunkSize === "auto" ? Math.ceil(items.length / freeWorkers()) : chunkSize;
    const root = remoteTree(combine as RemoteCombiner<T>, items, size);
    return isObjectRef(root) ? await get(root) : root;
  }
  const local = combine as Combiner<T>;
  const source = shippableSource(local, "fn");
  const src = await openSource(checked);
  const n = src.items.length;
  if (chunkSize !== "auto") {
    const partials = await gatherAll(submitChunks(source, src, 0, chunkSize));
    return foldRange(local, partials, 0, partials.length);
  }

  const { parts, consumed, combineMs, growthMsPerItem } = sample(local, src.items);
  const rest = n - consumed;
  const finish = (tail: T[]): T => {
    const all = [...parts, ...tail];
    return foldRange(local, all, 0, all.length);
  };
  const stayLocal = (plan: ChunkPlan): T => {
    memory().decision = { ...plan, sampled: consumed, combineMs, growthMsPerItem };
    return finish(rest > 0 ? [foldRange(local, src.items, consumed, n)] : []);
  };
  const localEstimate = localMs({ items: rest, combineMs, growthMsPerItem });
  const workers = freeWorkers();
  if (rest === 0 || workers < 2 || localEstimate < MIN_DISTRIBUTE_MS) {
    return stayLocal({ kind: "local", localMs: localEstimate, distributedMs: Infinity });
  }
  const transfer = transferMsPerItem(src, consumed);
  const bound = distributedLowerBoundMs({ items: rest, combineMs, growthMsPerItem, transferMsPerItem: transfer, workers });
  if (bound * SAFETY_MARGIN >= localEstimate) return stayLocal({ kind: "local", localMs: localEstimate, distributedMs: bound });
  const plan = planChunks({ items: rest, combineMs, growthMsPerItem, transferMsPerItem: transfer, taskOverheadMs: await taskOverheadMs(), workers });
  if (plan.kind === "local") return stayLocal(plan);
  memory().decision = { ...plan, sampled: consumed, combineMs, growthMsPerItem };
  return finish(await gatherAll(submitChunks(source, src, consumed, plan.chunkSize)));
}
