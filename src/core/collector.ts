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
export class MemoryPressure {
  readonly #threshold: number;
  readonly #young: boolean;
  #pending = 0;
  #scheduled = false;

  constructor(threshold: number, kind: "full" | "young") {
    this.#threshold = threshold;
    this.#young = kind === "young";
  }

  /** `bytes` more may be unreachable, or soon will be. */
  add(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending < this.#threshold || this.#scheduled) return;
    this.#scheduled = true;
    // Not inside whatever is running now (a message handler, a settle, a
    // task): at the next turn, when the caller's temporaries are gone too.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pending = 0;
      collector()?.(this.#young ? { type: "minor" } : undefined);
    });
  }
}
