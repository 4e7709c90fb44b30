/**
 * `cancel` is recursive, as Ray's: cancelling a task cancels the tasks it
 * submitted (force stops their workers too), so a cancelled parent leaves
 * no child running.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Submits a child that marks flags[1], holds until flags[0] is set, then marks flags[3] (it finished). */
const parent = ray.remote(async function parent(flags: Int32Array) {
  const child = ray.remote(function child(shared: Int32Array) {
    Atomics.add(shared, 1, 1);
    while (Atomics.load(shared, 0) === 0) Atomics.wait(shared, 0, 0);
    Atomics.add(shared, 3, 1);
    return "finished";
  });
  return ray.get(child.remote(flags));
});

const whole = ray.remote(() => "both CPUs free");

test("force-cancelling a parent stops the child it submitted", async () => {
  const flags = await sharedInts();
  const ref = parent.remote(flags);
  await until(flags, 1, 1); // the child runs
  ray.cancel(ref, { force: true });
  await assert.rejects(ray.get(ref), ray.TaskCancelledError);
  release(flags);
  // Asks for both CPUs: runs once the child's slot is free, after it finished had it lived on.
  assert.equal(await ray.get(whole.options({ numCpus: 2 }).remote()), "both CPUs free");
  assert.equal(Atomics.load(flags, 3), 0, "the child of the cancelled parent kept running");
});
