/**
 * Shared-memory flags for tests: an Int32Array that lives in the object
 * store, so the driver and every worker see the same memory. Tests use it to
 * hold tasks at a point and release them without sleeping, and to observe
 * side effects of tasks (deliberately ignoring immutability).
 */
import assert from "node:assert/strict";
import * as ray from "../../src/index.js";

/** A zeroed Int32Array of `length` in store (shared) memory. */
export async function sharedInts(length = 4): Promise<Int32Array> {
  const view = await ray.get(ray.put(new Int32Array(length)));
  if (!(view.buffer instanceof SharedArrayBuffer)) throw new Error("expected the store to hand back shared memory");
  return view;
}

/** Sets `flags[index]` and wakes every task waiting on it. */
export function release(flags: Int32Array, index = 0, value = 1): void {
  Atomics.store(flags, index, value);
  Atomics.notify(flags, index);
}

/** Waits (on the driver, without blocking the loop) until `flags[index]` is at least `value`. */
export async function until(flags: Int32Array, index: number, value: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(flags, index) < value) {
    if (Date.now() > deadline) throw new Error(`flags[${index}] did not reach ${value} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Marks flags[1] (started count), then waits until flags[0] is set (at most 10 s) and returns `value`. */
export const held = ray.remote((flags: Int32Array, value: number) => {
  Atomics.add(flags, 1, 1);
  Atomics.notify(flags, 1);
  Atomics.wait(flags, 0, 0, 10_000);
  return value;
});

/** Two calls meet at a barrier in flags[3]: each returns true only if both ran at once. */
export const barrier = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 3, 1);
  Atomics.notify(flags, 3);
  const deadline = Date.now() + 10_000;
  while (Atomics.load(flags, 3) < 2 && Date.now() < deadline) Atomics.wait(flags, 3, 1, 50);
  return Atomics.load(flags, 3) >= 2;
});

/** Asserts that a 2-worker pool is whole: two tasks run at the same time. */
export async function assertPoolWhole(): Promise<void> {
  const flags = await sharedInts();
  assert.deepEqual(await ray.get([barrier.remote(flags), barrier.remote(flags)], { timeout: 20_000 }), [true, true]);
}
