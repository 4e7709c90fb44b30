/**
 * Tasks of 0 or a fraction of a CPU, as in Ray: a 0-CPU task takes no slot,
 * fractional ones share the budget, and async ones overlap on a worker's
 * event loop while they await. Concurrency is read from shared counters.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { eventually, release, sharedInts } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2, objectStoreMemory: 64 * 1024 * 1024 });
});

after(async () => {
  await ray.shutdown();
});

/**
 * Counts itself running in flags[1] (peak in flags[2]), waits until flags[3]
 * reaches `meet` tasks (a barrier), then awaits a 50 ms timer.
 */
const fetchLike = ray.remote(async function fetchLike(flags: Int32Array, meet: number) {
  const running = Atomics.add(flags, 1, 1) + 1;
  for (let peak = Atomics.load(flags, 2); running > peak; peak = Atomics.load(flags, 2)) Atomics.compareExchange(flags, 2, peak, running);
  Atomics.add(flags, 3, 1);
  while (Atomics.load(flags, 3) < meet) await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  Atomics.sub(flags, 1, 1);
  return running;
});

/** Counts itself running in flags[1] (peak in flags[2]) and awaits flags[0] without blocking its thread. */
const heldAsync = ray.remote(async function heldAsync(flags: Int32Array) {
  const running = Atomics.add(flags, 1, 1) + 1;
  for (let peak = Atomics.load(flags, 2); running > peak; peak = Atomics.load(flags, 2)) Atomics.compareExchange(flags, 2, peak, running);
  while (Atomics.load(flags, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  Atomics.sub(flags, 1, 1);
  return true;
});

test("40 async tasks with numCpus: 0 all run at once on 2 workers", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const io = fetchLike.options({ numCpus: 0 });
  // Each task waits until all 40 have started: only 40 overlapping tasks can finish.
  const refs = Array.from({ length: 40 }, () => io.remote(flags, 40));
  const seen = await ray.get(refs);
  assert.equal(Atomics.load(flags, 2), 40, "peak of tasks running at once");
  assert.equal(Math.max(...seen), 40);
  assert.equal(ray.availableResources().CPU, 2);
});

test("0-CPU tasks leave every slot free, so CPU tasks still run beside them", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const waiting = Array.from({ length: 6 }, () => heldAsync.options({ numCpus: 0 }).remote(flags));
  await eventually(() => Atomics.load(flags, 1) === 6, "six 0-CPU tasks to start");
  assert.equal(ray.availableResources().CPU, 2);
  const square = ray.remote((x: number) => x * x);
  assert.deepEqual(await ray.get([square.remote(3), square.remote(4)]), [9, 16]);
  release(flags, 0);
  assert.deepEqual(await ray.get(waiting), Array(6).fill(true));
});

test("fractional tasks share the budget: eight 0.5-CPU tasks on 2 CPUs run four at a time", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const half = heldAsync.options({ numCpus: 0.5 });
  const refs = Array.from({ length: 8 }, () => half.remote(flags));
  await eventually(() => Atomics.load(flags, 1) === 4, "four 0.5-CPU tasks to start");
  // The budget is spent: the scheduler places nothing more until one finishes.
  assert.equal(ray.availableResources().CPU, 0);
  assert.equal(Atomics.load(flags, 1), 4);
  release(flags, 0);
  assert.deepEqual(await ray.get(refs), Array(8).fill(true));
  assert.equal(Atomics.load(flags, 2), 4, "never more than 4 at once");
  assert.equal(ray.availableResources().CPU, 2);
});

test("a 0.25-CPU task holds a quarter of a slot while it runs", async () => {
  const flags = await sharedInts();
  const ref = heldAsync.options({ numCpus: 0.25 }).remote(flags);
  await eventually(() => Atomics.load(flags, 1) === 1, "the task to start");
  assert.equal(ray.availableResources().CPU, 1.75);
  release(flags, 0);
  assert.equal(await ray.get(ref), true);
  assert.equal(ray.availableResources().CPU, 2);
});

test("numCpus must be 0, a fraction of one CPU or a whole number", () => {
  const f = ray.remote((x: number) => x);
  for (const bad of [-1, 1.5, Number.NaN, Infinity, "1", 0.00001]) {
    assert.throws(() => f.options({ numCpus: bad as number }), {
      name: "RangeError",
      message: new RegExp(`^Expected \`numCpus\` to be 0, a fraction of one CPU \\(such as 0\\.25\\) or a whole number of CPUs, got `),
    });
  }
  for (const good of [0, 0.25, 0.3333, 1, 2]) assert.equal(f.options({ numCpus: good }).taskOptions.numCpus, good);
});
