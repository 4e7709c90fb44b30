/**
 * Shared by the examples: the quick-mode switch, a stopwatch, progress lines
 * and the comparison lines. Only used on the driver, never inside a remote
 * function.
 */
export const quick = process.argv.includes("--quick") || process.env["RAYTS_QUICK"] === "1";

/** Runs `fn` and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Times of repeated runs: the median, and every run (sorted). */
export interface Timing {
  readonly median: number;
  readonly runs: readonly number[];
}

/**
 * Runs `fn` `runs` times and returns the last result with the median time
 * (on a shared machine one run can land on a burst of someone else's load).
 * `label` turns on a progress line per run, for steps that take seconds.
 */
export async function timedMedian<T>(runs: number, fn: () => T | Promise<T>, label?: string): Promise<[T, number, Timing]> {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) {
    if (label !== undefined) step(`${label}${runs > 1 ? `, run ${i + 1} of ${runs}` : ""}`);
    [value, times[i]] = await timed(fn);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  return [value as T, median, { median, runs: times }];
}

/** Prints a progress line before a step that takes a while (the step may block the event loop). */
export function step(text: string): void {
  console.log(`  ... ${text}`);
}

/** What a time is compared with: the name says what the ratio means. */
export interface Baseline {
  readonly name: string;
  readonly ms: number;
  /** The baseline's runs, to print the range of the ratio. */
  readonly timing?: Timing;
}

/**
 * Prints "label: 123.4 ms" and, given a baseline, how many times faster (or
 * slower) than it, naming it: "1.80x faster than serial". When slower than
 * serial, `slowerBecause` says why this workload can lose.
 */
export function report(label: string, ms: number, base?: Baseline, options: { timing?: Timing; slowerBecause?: string } = {}): void {
  let comparison = "";
  if (base !== undefined) {
    const ratio = base.ms / ms;
    comparison = ratio >= 1 ? `  (${ratio.toFixed(2)}x faster than ${base.name}` : `  (${(1 / ratio).toFixed(2)}x slower than ${base.name}`;
    const runs = options.timing?.runs;
    const baseRuns = base.timing?.runs;
    if (runs !== undefined && baseRuns !== undefined && runs.length > 1 && baseRuns.length === runs.length) {
      // Best against best and worst against worst: the spread of the machine, not of rayts alone.
      const low = baseRuns[0]! / runs[0]!;
      const high = baseRuns[baseRuns.length - 1]! / runs[runs.length - 1]!;
      comparison += `; runs: ${Math.min(low, high).toFixed(2)}x..${Math.max(low, high).toFixed(2)}x`;
    }
    comparison += ")";
  }
  console.log(`${label.padEnd(40)} ${ms.toFixed(1).padStart(9)} ms${comparison}`);
  if (base !== undefined && base.name === "serial" && ms > base.ms) {
    console.log(
      `  slower than serial in this run: ${options.slowerBecause ?? "the work per task is too small to outweigh sending it to a worker and back"}. ` +
        "Also, on a machine with few cores the driver and the workers share them, and other load on the machine takes its share.",
    );
  }
}
