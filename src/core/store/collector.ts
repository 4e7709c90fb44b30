/**
 * Collections on demand, for shared memory.
 *
 * V8 starts a collection when its heap grows, or the ArrayBuffer memory it
 * knows of, but SharedArrayBuffer memory does not count. A loop that only
 * moves large values through the store allocates almost nothing on the JS
 * heap, so the ObjectRefs it drops (which free their objects when
 * collected) and the shared blocks a worker was told to forget wait for a
 * collection that does not come, and memory grows without bound. So each
 * thread counts the shared bytes that may be waiting on its collector and
 * asks V8 for a full collection once they pass a threshold.
 */
import v8 from "node:v8";
import vm from "node:vm";

type Collect = (options?: { type?: "major" | "minor" }) => void;

let collect: Collect | null | undefined;

/**
 * V8's `gc`: the global one when the process runs with --expose-gc, else
 * one taken from a fresh context with the flag set for that moment only
 * (nothing else in the process sees it). Null where neither works.
 */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return (collect = exposed as Collect);
  // The flag is process-wide and other threads set and reset it too: a
  // thread that reset it between our two steps costs one more attempt.
  collect = null;
  for (let attempt = 0; attempt < 5 && collect === null; attempt++) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const gc: unknown = vm.runInNewContext("gc");
      if (typeof gc === "function") collect = gc as Collect;
    } catch {
      break;
    } finally {
      v8.setFlagsFromString("--no-expose-gc");
    }
  }
  return collect;
}

/**
 * Counts bytes that wait on this thread's collector and, past a threshold,
 * asks for a collection at the next turn of the event loop.
 *
 * - `"full"`: for shared memory behind dropped refs and forgotten blocks;
 *   only a full collection runs the finalizers that free them.
 * - `"young"`: for the private copies of by-value arguments (a fraction of
 *   a millisecond). A large buffer freed at once is reused, still mapped,
 *   by the next allocation of its size; one freed later leaves that
 *   allocation to fresh pages, which cost more than the copy.
 */
/** Runs a full collection now, where V8's `gc` can be had; returns whether it ran. */
export function collectNow(): boolean {
  const gc = collector();
  gc?.();
  return gc !== null;
}

/** How long a deferred collection waits for a turn before it runs on its own (ms). */
const DEFERRED_FALLBACK_MS = 20;

/**
 * A collection asked for by {@link MemoryPressure.request} waits until
 * PACE times the last collection's duration has passed since it ended, so
 * such collections take at most about 1/(PACE + 1) of the time. A full
 * collection stops the thread for the whole heap (tens of milliseconds in
 * a loaded process) however little it frees: a program that submits and
 * drops batches of 10,000 tasks would otherwise pay one per batch.
 */
const PACE = 10;
/** The longest a paced request waits (ms), whatever the last collection cost. */
const MAX_PACE_MS = 500;

/**
 * Gives finalizers a turn, and runs due collections where they work.
 *
 * V8 runs FinalizationRegistry callbacks as a separate task. In a loop that
 * only awaits results, that task may never get a turn, and on Node 22 and
 * 24 a collection started from a message callback frees refs whose
 * callbacks then never come. So the settlements of `get` and `wait` pass
 * through here: a collection that is due runs in a fresh turn before the
 * program's promise settles (the program's loop is paused meanwhile), and
 * every `every` settlements one goes through `setImmediate` anyway.
 */
export class FinalizerTurns {
  readonly #every: number;
  readonly #pressure: MemoryPressure | undefined;
  #count = 0;
  /** Settlements held back while a due collection runs. */
  #held: (() => void)[] | undefined;

  constructor(every: number, pressure?: MemoryPressure) {
    this.#every = every;
    this.#pressure = pressure;
  }

  /** Calls `settle` now, or after the event loop has turned. */
  run(settle: () => void): void {
    if (this.#held !== undefined) {
      this.#held.push(settle);
      return;
    }
    const pressure = this.#pressure;
    if (pressure?.due === true) {
      const held = (this.#held = [settle]);
      setImmediate(() => {
        pressure.collectDue();
        this.#held = undefined;
        for (const waiting of held) waiting();
      });
      return;
    }
    if (++this.#count < this.#every) {
      settle();
      return;
    }
    this.#count = 0;
    setImmediate(settle);
  }
}

export class MemoryPressure {
  readonly #threshold: number;
  readonly #young: boolean;
  #pending = 0;
  #scheduled = false;
  #collections = 0;
  /** When the last collection ended and how long it took (ms, performance.now()). */
  #lastEnd = -Infinity;
  #lastMs = 0;
  /** A request waiting for its pace (see {@link PACE}). */
  #paced: ReturnType<typeof setTimeout> | undefined;

  /** Full collections asked for so far. */
  get collections(): number {
    return this.#collections;
  }

  readonly #deferred: boolean;

  /**
   * `deferred` (full collections only): the collection waits for the next
   * settlement through {@link FinalizerTurns} (or a short timer) instead of
   * running at the next turn on its own.
   */
  constructor(threshold: number, kind: "full" | "young", deferred = false) {
    this.#threshold = threshold;
    this.#young = kind === "young";
    this.#deferred = deferred && kind === "full";
  }

  /** True when a deferred collection is due. */
  get due(): boolean {
    return this.#deferred && this.#pending >= this.#threshold;
  }

  /** Runs the collection that is due (from a turn of {@link FinalizerTurns}). */
  collectDue(): void {
    this.#pending = 0;
    this.#collections++;
    this.#collect(undefined);
  }

  #collect(options: { type: "minor" } | undefined): void {
    const gc = collector();
    if (gc === null) return;
    const start = performance.now();
    if (options !== undefined) {
      gc(options);
      return;
    }
    // No argument at all: on Node 22 and 24, gc(undefined) is no full collection (it frees nothing of a dropped array).
    gc();
    this.#lastEnd = performance.now();
    this.#lastMs = this.#lastEnd - start;
  }

  /**
   * Asks for a full collection as if the threshold had been reached, paced
   * by what the last one cost (see {@link PACE}): one asked for too soon
   * after the last is asked for when the pause is over.
   */
  request(): void {
    if (this.#paced !== undefined) return;
    const wait = Math.min(MAX_PACE_MS, PACE * this.#lastMs) - (performance.now() - this.#lastEnd);
    if (wait > 0) {
      this.#paced = setTimeout(() => {
        this.#paced = undefined;
        this.request();
      }, wait);
      this.#paced.unref();
      return;
    }
    this.add(Math.max(0, this.#threshold - this.#pending));
  }

  /** `bytes` more may be unreachable, or soon will be. */
  add(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending < this.#threshold || this.#scheduled) return;
    if (this.#deferred) {
      // Normally run by the next settlement of a `get`/`wait`; this covers programs that await none.
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        if (this.due) this.collectDue();
      }, DEFERRED_FALLBACK_MS).unref();
      return;
    }
    this.#scheduled = true;
    // Not inside whatever is running now (a message handler, a settle, a
    // task): at the next turn, when the caller's temporaries are gone too.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pending = 0;
      if (!this.#young) this.#collections++;
      this.#collect(this.#young ? { type: "minor" } : undefined);
    });
  }
}
