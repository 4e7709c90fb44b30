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

/**
 * Guard against a hang when a test's event never comes: long enough that a
 * busy machine never reaches it on a passing run. Never a window to wait out.
 */
export const GUARD_MS = 60_000;

/** Waits (on the driver, without blocking the loop) until `flags[index]` is at least `value`. */
export async function until(flags: Int32Array, index: number, value: number): Promise<void> {
  await eventually(() => Atomics.load(flags, index) >= value, `flags[${index}] to reach ${value}`);
}

/**
 * Polls `condition` between event-loop turns until it holds; throws naming
 * `what` only after {@link GUARD_MS}, so a broken runtime fails instead of hanging.
 */
export async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Marks flags[1] (started count), then waits until flags[0] is set (60 s guard) and returns `value`. */
export const held = ray.remote((flags: Int32Array, value: number) => {
  Atomics.add(flags, 1, 1);
  Atomics.notify(flags, 1);
  Atomics.wait(flags, 0, 0, 60_000);
  return value;
});

/** Two calls meet at a barrier in flags[3]: each returns true only if both ran at once. */
export const barrier = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 3, 1);
  Atomics.notify(flags, 3);
  // 60 s is a guard against a hang, not a window: the other call wakes this one.
  const deadline = Date.now() + 60_000;
  while (Atomics.load(flags, 3) < 2 && Date.now() < deadline) Atomics.wait(flags, 3, 1, 50);
  return Atomics.load(flags, 3) >= 2;
});

/** Asserts that a 2-worker pool is whole: two tasks run at the same time. */
export async function assertPoolWhole(): Promise<void> {
  const flags = await sharedInts();
  assert.deepEqual(await ray.get([barrier.remote(flags), barrier.remote(flags)], { timeout: 20_000 }), [true, true]);
}
