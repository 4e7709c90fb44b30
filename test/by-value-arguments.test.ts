/**
 * A typed array passed by value is snapshotted at the call, as Ray copies
 * arguments: mutating it afterwards never reaches the task, whether the
 * task is queued, running, or reuses the buffer of an earlier call's copy.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const ends = ray.remote((x: Float64Array) => [x[0]!, x[x.length - 1]!, x.length]);

test("each call sees the array as it was when it was made, even with many in flight", async () => {
  const data = new Float64Array(100_000); // large enough to take the by-value copy path
  const refs: ray.ObjectRef<number[]>[] = [];
  for (let i = 0; i < 60; i++) {
    data[0] = i;
    data[data.length - 1] = -i;
    refs.push(ends.remote(data));
  }
  data.fill(999);
  const results = await ray.get(refs);
  results.forEach((result, i) => assert.deepEqual(result, [i, -i, 100_000]));
});

test("calls made one after another reuse copy buffers without mixing contents", async () => {
  const data = new Float64Array(50_000);
  for (let i = 0; i < 30; i++) {
    data.fill(i);
    assert.deepEqual(await ray.get(ends.remote(data)), [i, i, 50_000]);
  }
});

test("a small typed array and a subarray view travel by value too", async () => {
  const big = Float64Array.from({ length: 200_000 }, (_, i) => i);
  assert.deepEqual(await ray.get(ends.remote(big.subarray(100, 100_100))), [100, 100_099, 100_000]);
  assert.deepEqual(await ray.get(ends.remote(Float64Array.from([7, 8, 9]))), [7, 9, 3]);
});
