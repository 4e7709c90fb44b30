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
 * A young-generation collection (a fraction of a millisecond): frees what
 * the last tasks dropped, such as the private copies of their by-value
 * arguments, before the next ones arrive. A large buffer freed at once is
 * reused, still mapped, by the next allocation of its size; one freed later
 * leaves that allocation to fresh pages, which cost more than the copy.
 */
export function collectYoung(): void {
  collector()?.({ type: "minor" });
}

/** Counts shared bytes that wait on this thread's collector; collects past a threshold. */
export class SharedMemoryPressure {
  readonly #threshold: number;
  #pending = 0;
  #scheduled = false;
  #collections = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** `bytes` more of shared memory may be unreachable, or soon will be. */
  add(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending < this.#threshold || this.#scheduled) return;
    this.#scheduled = true;
    // Not inside whatever is running now (a message handler, a settle): at
    // the next turn, when the caller's temporaries are gone too.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pending = 0;
      const gc = collector();
      if (gc === null) return;
      gc();
      this.#collections++;
    });
  }
}

