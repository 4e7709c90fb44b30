/**
 * "How does Ray deal with variables of the enclosing scope?"
 * `foo1` gets the array by value on every call (copied into the store each
 * time); passing a ref put once avoids the copies; `foo2` reads a
 * module-level array, which only works compiled: raycompile puts `A` once
 * and hands workers the ref. Uncompiled (under tsx) this example says so.
 */
import * as ray from "../src/index.js";
import { quick, report, timed } from "./support.js";

const A = new Float64Array(quick ? 100_000 : 1_000_000).fill(42);

const foo1 = ray.remote((x: Float64Array) => x[5]! ** 2);
const foo2 = ray.remote((j: number) => A[j]! ** 2);

await ray.init({ numCpus: 2 });
const calls = quick ? 100 : 1000;
// Warm-up: each worker loads the function once.
for (let i = 0; i < 10; i++) await ray.get(foo1.remote(A));

const [, byValueMs] = await timed(async () => {
  for (let i = 0; i < calls; i++) await ray.get(foo1.remote(A));
});
const aRef = ray.put(A);
const [, byRefMs] = await timed(async () => {
  for (let i = 0; i < calls; i++) await ray.get(foo1.remote(aRef));
});
console.log(`foo1(A) = ${await ray.get(foo1.remote(aRef))}, A has ${A.length} elements, ${calls} calls each`);
const everyTime = { name: "putting A every time", ms: byValueMs };
report("Time putting A every time", byValueMs);
report("Time passing ref of A", byRefMs, everyTime);
try {
  const [value] = await timed(() => ray.get(foo2.remote(5)));
  const [, capturedMs] = await timed(async () => {
    for (let i = 0; i < calls; i++) await ray.get(foo2.remote(5));
  });
  console.log(`foo2(5) = ${value} (compiled: A captured, put once)`);
  report("Time capturing A in the function", capturedMs, everyTime);
} catch (error) {
  console.log(`foo2 needs raycompile: ${(error as Error).message.split("\n")[0]}`);
}
await ray.shutdown();
