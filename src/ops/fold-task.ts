/**
 * The task `aggListDistributed` runs on workers: fold one chunk of a sequence
 * with a combine function that travels as source text.
 *
 * Its source is shipped to workers as is, so it must stay self-contained: no
 * module-level names, and no nested named functions (a TypeScript loader such
 * as tsx wraps those in a `__name(...)` helper that the worker lacks).
 */
import { remote, type ObjectRef, type RemoteFunction } from "../core/index.js";

/**
 * How a chunk's items reach the task (plain numbers, since the task's source
 * cannot refer to an enum):
 * - 0, slice: `data` is the chunk itself (a slice made on the driver); fold all of it;
 * - 1, range: `data` is the whole sequence (a typed array in shared memory, no copy); fold `[start, end)`;
 * - 2, boxed: `data` is `[ref]`, a ref to the whole sequence in the store, fetched once per worker; fold `[start, end)`.
 */
export type ChunkMode = 0 | 1 | 2;

/** The worker's rayts API, in scope inside uncompiled tasks. */
declare const get: <T>(ref: ObjectRef<T>) => Promise<T>;

type Fold = (source: string, data: unknown, start: number, end: number, mode: ChunkMode) => Promise<unknown>;

/**
 * Worker-side state, kept on `globalThis` because a task shipped as source
 * has no module of its own:
 * - `fns`: combine functions compiled from source, by source text (at most 64);
 * - `seq`: the last sequence fetched by ref (mode 2), so that the
 *   chunks of one fold deserialise it once per worker; dropped after 2 s idle.
 */
async function raytsFoldChunk(source: string, data: unknown, start: number, end: number, mode: ChunkMode): Promise<unknown> {
  type Combine = (a: unknown, b: unknown) => unknown;
  interface FoldState {
    fns: Map<string, Combine>;
    seqId: string;
    seq: ArrayLike<unknown> | undefined;
    timer: ReturnType<typeof setTimeout> | undefined;
  }
  const holder = globalThis as unknown as { __raytsFold?: FoldState };
  let cache = holder.__raytsFold;
  if (cache === undefined) {
    cache = { fns: new Map(), seqId: "", seq: undefined, timer: undefined };
    holder.__raytsFold = cache;
  }
  let fn = cache.fns.get(source);
  if (fn === undefined) {
    // `__name` is given as the identity: tsx-compiled sources call it.
    let made: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- rebuilding shipped source is what this task does
      made = new Function("__name", `"use strict";\nreturn (${source}\n);`)(function (f: unknown) {
        return f;
      });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // A method written in shorthand (`add(a, b) { ... }`) is not an expression on its own.
      // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- rebuilding shipped source is what this task does
      const methods = new Function("__name", `"use strict";\nreturn ({${source}\n});`)(function (f: unknown) {
        return f;
      }) as Record<string, unknown>;
      made = Object.values(methods)[0];
    }
    if (typeof made !== "function") throw new TypeError("the source text of `fn` did not evaluate to a function in the worker");
    fn = made as Combine;
    if (cache.fns.size >= 64) cache.fns.clear();
    cache.fns.set(source, fn);
  }
  let items: ArrayLike<unknown>;
  if (mode === 0) {
    items = data as ArrayLike<unknown>;
    start = 0;
    end = items.length;
  } else if (mode === 1) {
    items = data as ArrayLike<unknown>;
  } else {
    const ref = (data as [ObjectRef<ArrayLike<unknown>>])[0];
    if (cache.seq === undefined || cache.seqId !== ref.id) {
      cache.seq = await get(ref);
      cache.seqId = ref.id;
    }
    items = cache.seq;
    const state = cache;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      state.seq = undefined;
      state.seqId = "";
    }, 2000);
    state.timer.unref();
  }
  // The same blocked pairwise fold as aggList (foldRange in tree-reduce.ts), inlined.
  try {
    let source = items;
    let from = start;
    let to = end;
    for (;;) {
      const results: unknown[] = [];
      for (let blockStart = from; blockStart < to; blockStart += 4096) {
        const blockEnd = Math.min(to, blockStart + 4096);
        const n = blockEnd - blockStart;
        if (n === 1) {
          results.push(source[blockStart]);
          continue;
        }
        const half = n >>> 1;
        const buf: unknown[] = [];
        for (let i = 0; i < half; i++) buf.push(fn(source[blockStart + 2 * i], source[blockStart + 2 * i + 1]));
        if (n & 1) buf.push(source[blockEnd - 1]);
        let length = buf.length;
        while (length > 1) {
          const pairs = length >>> 1;
          for (let i = 0; i < pairs; i++) buf[i] = fn(buf[2 * i], buf[2 * i + 1]);
          if (length & 1) buf[pairs] = buf[length - 1];
          length = pairs + (length & 1);
        }
        results.push(buf[0]);
      }
      if (results.length === 1) return results[0];
      source = results;
      from = 0;
      to = results.length;
    }
  } catch (error) {
    const match = error instanceof ReferenceError ? /^(\S+) is not defined$/.exec(error.message) : null;
    if (match === null) throw error;
    throw new ReferenceError(
      `${match[1]} is not defined in the worker: aggListDistributed ships \`fn\` as source text, so it can use only its ` +
        `parameters and globals. Make it self-contained, pass a RemoteFunction built from compiled code (raycompile), or fold locally with aggList.`,
    );
  }
}

/** An empty task; its round trip is the task overhead the auto rule measures. */
function raytsNoop(): number {
  return 0;
}

let foldTask: RemoteFunction<Parameters<Fold>, unknown> | undefined;
let probe: RemoteFunction<[], number> | undefined;

/** The fold task, defined on first use. */
export function foldChunkTask(): RemoteFunction<Parameters<Fold>, unknown> {
  foldTask ??= remote(raytsFoldChunk, { name: "aggListDistributed.fold" });
  return foldTask;
}

/** An empty task, defined on first use. */
export function probeTask(): RemoteFunction<[], number> {
  probe ??= remote(raytsNoop, { name: "aggListDistributed.probe" });
  return probe;
}
