/**
 * Shared by the examples: the quick-mode switch and a stopwatch. Only used
 * on the driver, never inside a remote function.
 */
export const quick = process.argv.includes("--quick") || process.env["RAYTS_QUICK"] === "1";

/** Runs `fn` and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/**
 * Runs `fn` `runs` times and returns the last result with the median time:
 * on a shared machine one run can land on a burst of someone else's load.
 */
export async function timedMedian<T>(runs: number, fn: () => T | Promise<T>): Promise<[T, number]> {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < runs; i++) [value, times[i]] = await timed(fn);
  times.sort((a, b) => a - b);
  return [value as T, times[Math.floor(times.length / 2)]!];
}

/** Prints "label: 123.4 ms" and, given a serial time, the speedup. */
export function report(label: string, ms: number, serialMs?: number): void {
  const speedup = serialMs === undefined ? "" : `  (${(serialMs / ms).toFixed(2)}x vs serial)`;
  console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms${speedup}`);
}
