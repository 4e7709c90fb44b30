/**
 * A typed array passed by value is snapshotted at the call, as Ray copies
 * arguments: mutating it afterwards never reaches the task, whether the
 * task is queued, running, or reuses the buffer of an earlier call's copy.
 * A task carrying a large copy leaves at once, so workers start on it while
 * the caller is still copying the next ones.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { GUARD_MS, sharedInts } from "./support/shared.js";

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

/** Counts itself in flags[0] (and wakes the driver), then returns its argument's length. */
const started = ray.remote((flags: Int32Array, x: Uint8Array) => {
  Atomics.add(flags, 0, 1);
  Atomics.notify(flags, 0);
  return x.length;
});

test("a task with a large by-value argument is sent during the call, not at the end of the tick", async () => {
  const flags = await sharedInts();
  await ray.get(started.remote(flags, new Uint8Array(8))); // workers up and the function defined
  const big = new Uint8Array(2 * 1024 * 1024);
  const ref = started.remote(flags, big);
  // Block the driver thread: only a message already posted can reach the worker.
  Atomics.wait(flags, 0, 1, 10_000);
  assert.equal(Atomics.load(flags, 0), 2);
  assert.equal(await ray.get(ref), big.length);
});

test("a synchronous loop of large-argument calls takes in finished tasks and keeps every worker busy", async () => {
  const flags = await sharedInts();
  await ray.get(started.remote(flags, new Uint8Array(8)));
  Atomics.store(flags, 0, 0);
  const big = new Uint8Array(2 * 1024 * 1024);
  const refs: ray.ObjectRef<number>[] = [];
  // Twelve calls on two workers without yielding to the event loop: past the
  // first two, a call can only start if the loop itself took in finished
  // tasks and placed more. A done message that has not arrived yet delays a
  // call until the next one, so each call is awaited once the next one is
  // made, and the last call alone may still be waiting.
  for (let i = 0; i < 12; i++) {
    refs.push(started.remote(flags, big));
    // A guard against a hang, not a window: the calls before this one are expected to have started.
    const deadline = Date.now() + 60_000;
    while (Atomics.load(flags, 0) < i && Date.now() < deadline) Atomics.wait(flags, 0, Atomics.load(flags, 0), 50);
  }
  assert.ok(Atomics.load(flags, 0) >= 11, `only ${Atomics.load(flags, 0)} of 12 calls started during the loop`);
  assert.deepEqual(await ray.get(refs), Array(12).fill(big.length));
});

/** Takes arrays and reports the ArrayBuffer memory of its thread. */
const Probe = ray.remote(
  class Probe {
    take(x: Float64Array): number {
      return x.length;
    }
    arrayBuffers(): number {
      return process.memoryUsage().arrayBuffers;
    }
  },
);

test("a worker frees a large by-value copy once the call that took it is done", async () => {
  const probe = Probe.remote();
  const before = await ray.get(probe.arrayBuffers.remote());
  assert.equal(await ray.get(probe.take.remote(new Float64Array(1024 * 1024))), 1024 * 1024); // 8 MB
  // The actor's thread allocates almost nothing, so V8 would keep the dead
  // copy for a long while; the worker collects after a large copy, so the
  // next allocation of that size reuses the memory instead of fresh pages.
  let after = await ray.get(probe.arrayBuffers.remote());
  const guard = Date.now() + GUARD_MS;
  while (after >= before + 1024 * 1024 && Date.now() < guard) after = await ray.get(probe.arrayBuffers.remote());
  assert.ok(after < before + 1024 * 1024, `the worker still holds ${after - before} bytes of array buffers`);
  ray.kill(probe);
});
