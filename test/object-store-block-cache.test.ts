/**
 * Shared blocks reach each worker once: later tasks name the block by id and
 * the worker uses its cached copy. When the store drops an object the
 * workers forget its block, and a block stored again is sent again.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { collectNow } from "../src/core/store/collector.js";
import { eventually } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const sumAt = ray.remote((data: Float64Array, from: number) => {
  let sum = 0;
  for (let i = from; i < data.length; i++) sum += data[i]!;
  return sum;
});

test("a ref used by many tasks on every worker gives the right value each time", async () => {
  const data = Float64Array.from({ length: 1000 }, (_, i) => i);
  const ref = ray.put(data);
  const froms = Array.from({ length: 40 }, (_, i) => i * 10);
  const sums = await ray.get(froms.map((from) => sumAt.remote(ref, from)));
  assert.deepEqual(sums, froms.map((from) => data.slice(from).reduce((a, b) => a + b, 0)));
});

test("a block stored again after its first object was dropped reaches the workers again", async () => {
  let first: ray.ObjectRef<Float64Array> | undefined = ray.put(Float64Array.from([1, 2, 3, 4]));
  assert.equal(await ray.get(sumAt.remote(first, 0)), 10);
  assert.equal(await ray.get(sumAt.remote(first, 1)), 9);
  // A view on the stored block, put again: a second object on the same shared memory.
  const view = await ray.get(first);
  const second = ray.put(view);
  const freed = ray.objectStoreStats().freedCount;
  first = undefined;
  // Collect until the first object's ref is finalized and the store frees it (V8's gc is had without --expose-gc).
  await eventually(() => {
    collectNow();
    return ray.objectStoreStats().freedCount > freed;
  }, "the dropped ref to be collected and its object freed");
  // The first object is gone; the second, on the same shared memory, still works everywhere.
  assert.deepEqual(await ray.get([sumAt.remote(second, 0), sumAt.remote(second, 2), sumAt.remote(second, 3)]), [10, 7, 4]);
});

test("a task result that is a view on its input shares the input's block", async () => {
  const head = ray.remote((data: Float64Array, n: number) => data.subarray(0, n));
  const ref = ray.put(Float64Array.from([5, 6, 7, 8]));
  const firstTwo = head.remote(ref, 2);
  assert.deepEqual([...(await ray.get(firstTwo))], [5, 6]);
  assert.equal(await ray.get(sumAt.remote(firstTwo, 0)), 11);
});
