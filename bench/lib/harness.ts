/**
 * Two ways to time things. Micro figures (one operation, thousands of times)
 * use benchmark.js, which picks the iteration count and gives one mean per
 * sample; macro figures (a whole workload) are timed a few times by hand.
 * Both return raw values, summarised by the caller into median/min/max.
 */
import Benchmark from "benchmark";
import type { Progress } from "./progress.js";

/** How hard to measure: `--quick` shrinks everything for a fast pass. */
export interface Budget {
  readonly quick: boolean;
  /** Repetitions of a macro workload. */
  readonly reps: number;
  /** Seconds benchmark.js may spend on one micro figure. */
  readonly maxTime: number;
  /** Minimum benchmark.js samples. */
  readonly minSamples: number;
}

export function budget(quick: boolean): Budget {
  return quick ? { quick, reps: 3, maxTime: 0.4, minSamples: 5 } : { quick, reps: 7, maxTime: 2.5, minSamples: 10 };
}

/**
 * Times `fn` `reps` times after `warmup` untimed runs; returns milliseconds
 * per repetition. `fn` may be async.
 */
export async function repeat(
  label: string,
  progress: Progress,
  reps: number,
  fn: () => unknown,
  warmup = 1,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    progress.step(`${label}: warmup`);
    await fn();
  }
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    // A turn of the event loop between repetitions, as a program gets
    // between two pieces of work (finalizers, and rayts's collections, run there).
    await new Promise((resolve) => setImmediate(resolve));
    progress.step(`${label}: ${i + 1}/${reps}`);
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/** True for promises and other thenables (workerpool returns its own Promise class). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Measures one operation with benchmark.js and returns seconds per operation,
 * one value per benchmark.js sample. Asynchronous operations (anything
 * returning a thenable) run deferred: the next one starts when the previous
 * one settles.
 */
export async function micro(label: string, progress: Progress, budget: Budget, fn: () => unknown): Promise<number[]> {
  progress.step(label);
  const probe = fn();
  const deferred = isThenable(probe);
  if (deferred) await probe;
  return new Promise((resolve, reject) => {
    let failed: unknown;
    const options: Benchmark.Options = {
      maxTime: budget.maxTime,
      minSamples: budget.minSamples,
      initCount: 1,
      onCycle() {
        progress.step(`${label}: ${bench.stats.sample.length} samples`);
      },
      onError() {
        failed ??= (bench as unknown as { error?: unknown }).error;
      },
      onComplete() {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on whatever the benchmark threw
        if (failed !== undefined || bench.aborted) reject(failed ?? new Error(`${label}: benchmark aborted`));
        else resolve([...(bench.stats.sample as number[])]);
      },
    };
    if (deferred) {
      options.defer = true;
      options.fn = (d: Benchmark.Deferred) => {
        (fn() as PromiseLike<unknown>).then(
          () => d.resolve(),
          (error: unknown) => {
            failed = error;
            d.resolve();
          },
        );
      };
    } else {
      options.fn = fn;
    }
    const bench: Benchmark = new Benchmark(label, options);
    bench.run({ async: true });
  });
}

/**
 * Runs each case `rounds` times, interleaved (A B C A B C ...), and pools
 * the samples per case. On a shared, noisy machine this spreads load swings
 * over every runtime instead of penalising whichever ran during one.
 */
export async function interleaved(
  rounds: number,
  cases: readonly (readonly [key: string, run: (round: number) => Promise<number[]>])[],
): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(cases.map(([key]) => [key, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [key, run] of cases) samples.get(key)!.push(...(await run(round)));
  }
  return samples;
}

/** A budget for one of `rounds` interleaved rounds. */
export function perRound(budget: Budget, rounds: number): Budget {
  return { ...budget, maxTime: budget.maxTime / rounds, minSamples: Math.max(2, Math.ceil(budget.minSamples / rounds)) };
}
