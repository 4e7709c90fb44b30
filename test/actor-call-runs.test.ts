/**
 * Calls submitted in one synchronous loop reach the actor's thread in runs
 * while the loop goes on, so the thread works during the loop instead of
 * waiting for its end; they still run in submission order.
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

const Tally = ray.remote(
  class Tally {
    seen: number[] = [];
    constructor(readonly flags: Int32Array) {}
    /** Counts the call in flags[0] and wakes whoever waits on it. */
    hit(value: number): number {
      this.seen.push(value);
      Atomics.add(this.flags, 0, 1);
      Atomics.notify(this.flags, 0);
      return value;
    }
    order(): number[] {
      return this.seen;
    }
  },
);

test("an actor's thread runs calls while the synchronous loop that submits them goes on", async () => {
  const flags = await sharedInts();
  const tally = Tally.remote(flags);
  assert.equal(await ray.get(tally.hit.remote(-1)), -1);
  const refs: ray.ObjectRef<number>[] = [];
  for (let i = 0; i < 200; i++) refs.push(tally.hit.remote(i));
  // Still in the loop's synchronous turn: the driver's event loop has not
  // run, so the thread can only have these calls if they were posted already.
  // GUARD_MS only keeps a broken runtime from hanging the test.
  const waited = Atomics.wait(flags, 0, 1, GUARD_MS);
  assert.notEqual(waited, "timed-out", "no call reached the actor's thread before the submitting loop ended");
  for (let i = 200; i < 400; i++) refs.push(tally.hit.remote(i));
  const expected = Array.from({ length: 400 }, (_, i) => i);
  assert.deepEqual(await ray.get(refs), expected);
  assert.deepEqual(await ray.get(tally.order.remote()), [-1, ...expected]);
});
