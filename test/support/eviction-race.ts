/**
 * What the eviction-race tests share (a task worker and an actor's thread
 * face the same race): calls queued behind a held one name a shared block by
 * id while the driver tells their thread to forget it. The scripts run in a
 * child process with --expose-gc, so they can drop the object at the exact
 * moment they want; they print one `RESULT` line that
 * {@link assertNoEvictionFailures} reads.
 */
import assert from "node:assert/strict";
import { resultOf, type ChildResult } from "./child.js";

/**
 * Script fragment (after `import * as ray`): `gc`, a shared `flagsOf()`,
 * `until(flags, index, value)`, the `failures` list, `collect(refs, expected)`
 * (awaits each ref and records wrong values and errors), `evictThenRelease`
 * and `report(rounds)`.
 */
export const EVICTION_RACE_PRELUDE = String.raw`
const gc = (globalThis as { gc?: () => void }).gc!;
const flagsOf = async () => ray.get(ray.put(new Int32Array(4)));
async function until(flags: Int32Array, index: number, value: number) {
  while (Atomics.load(flags, index) < value) await new Promise((resolve) => setImmediate(resolve));
}

const failures: string[] = [];
async function collect(refs: ray.ObjectRef<number>[], expected: number) {
  for (const result of await Promise.allSettled(refs.map((r) => ray.get(r)))) {
    if (result.status === "rejected") failures.push(String(result.reason).split("\n")[0]!);
    else if (result.value !== expected) failures.push("wrong value " + result.value + ", expected " + expected);
  }
}

/**
 * The race: drop() clears the last refs to the object whose block the queued
 * calls name; once the store has freed it (and so told the thread to forget
 * the block), the held call (waiting on flags[0]) is released and the queued
 * calls must still sum the block.
 */
async function evictThenRelease(flags: Int32Array, drop: () => void, held: ray.ObjectRef<number>, queued: ray.ObjectRef<number>[], expected: number) {
  const freedBefore = ray.objectStoreStats().freedCount;
  drop();
  while (ray.objectStoreStats().freedCount === freedBefore) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  await ray.get(held);
  await collect(queued, expected);
}

function report(rounds: number) {
  console.log("RESULT " + JSON.stringify({ rounds, failures: failures.slice(0, 5), failed: failures.length }));
}
`;

/** Checks the child's report: every round ran and no call failed or summed wrong. */
export function assertNoEvictionFailures(run: ChildResult, rounds: number, what: string): void {
  const result = resultOf<{ rounds: number; failures: string[]; failed: number }>(run);
  assert.equal(result.rounds, rounds);
  assert.deepEqual(result.failures, [], `${String(result.failed)} ${what} failed`);
}
