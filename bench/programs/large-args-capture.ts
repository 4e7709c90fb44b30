/**
 * Seed 004's `foo2`, compiled with raycompile by the large-args suite: the
 * remote function reads a module-level array, which the compiler turns into
 * a ref put once. Prints one JSON line: { "<size>": { "empty": [ms...],
 * "capture": [ms...] } } for `calls` sequential calls per repetition.
 * Usage (compiled): node large-args-capture.js <calls> <reps>
 */
import * as ray from "../../src/index.js";

const A = new Float64Array(1_000_000).fill(42);
const B = new Float64Array(4_200).fill(42);

const foo2Big = ray.remote((j: number) => A[j]! ** 2);
const foo2Small = ray.remote((j: number) => B[j]! ** 2);
const nothing = ray.remote(() => 0);

const calls = Number(process.argv[2] ?? 1000);
const reps = Number(process.argv[3] ?? 3);

async function time(call: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await call();
  return performance.now() - start;
}

await ray.init({ numCpus: 2 });
const out: Record<string, { empty: number[]; capture: number[] }> = {};
for (const [size, task] of [
  [B.length, foo2Small],
  [A.length, foo2Big],
] as const) {
  for (let i = 0; i < 20; i++) await Promise.all([ray.get(task.remote(5)), ray.get(nothing.remote())]);
  const figures = { empty: [] as number[], capture: [] as number[] };
  for (let rep = 0; rep < reps; rep++) {
    figures.empty.push(await time(() => ray.get(nothing.remote())));
    figures.capture.push(await time(() => ray.get(task.remote(5))));
  }
  out[String(size)] = figures;
}
console.log(JSON.stringify(out));
await ray.shutdown();
