/**
 * Worker deaths with nested tasks. A task parked in a nested `get` shares
 * its thread with the tasks that run while it waits: when that thread dies,
 * every task that had started there (running or parked) spends one retry,
 * so retries always end. Tasks that the dead thread submitted and nobody
 * else holds are not run again, and results computed before the death are
 * kept, so only lost work is repeated.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { sharedInts } from "./support/shared.js";

before(async () => {
  // One worker: a nested child runs on the thread of its parked parent.
  await ray.init({ numCpus: 1 });
});

after(async () => {
  await ray.shutdown();
});

const leaf = ray.remote((n: number) => n * 2);

/** Counts its runs in flags[0]; gets a nested result, then kills its worker. */
const crashAfterGet = ray.remote(async (flags: Int32Array, child: typeof leaf) => {
  Atomics.add(flags, 0, 1);
  await ray.get(child.remote(1));
  process.exit(1);
});

test("a task that crashes after a nested get is charged for it and stops after maxRetries", { timeout: 60_000 }, async () => {
  const flags = await sharedInts();
  await assert.rejects(ray.get(crashAfterGet.options({ maxRetries: 2 }).remote(flags, leaf), { timeout: 30_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 3, "one attempt and two retries");
  await assertPoolWhole1();
});

/** Counts its runs in flags[1]; always kills its worker. */
const alwaysCrashes = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 1, 1);
  process.exit(1);
});

/** Counts its runs in flags[0]; waits for a child that kills the shared thread. */
const catchesChild = ray.remote(async (flags: Int32Array, child: typeof alwaysCrashes) => {
  Atomics.add(flags, 0, 1);
  try {
    await ray.get(child.options({ maxRetries: 1 }).remote(flags));
  } catch {
    return "caught";
  }
  return "no error";
});

test("a parent parked while its child kills their thread is charged too: retries end", { timeout: 60_000 }, async () => {
  const flags = await sharedInts();
  await assert.rejects(ray.get(catchesChild.options({ maxRetries: 1 }).remote(flags, alwaysCrashes), { timeout: 30_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 2, "parent: one attempt and one retry");
  // Each parent attempt's child died with it; the orphaned child is not run again.
  assert.equal(Atomics.load(flags, 1), 2, "one child run per parent attempt");
  await assertPoolWhole1();
});

/** Counts runs per index in flags[index]; index `crashAt` kills its worker on its first run. */
const counted = ray.remote((flags: Int32Array, index: number, crashAt: number) => {
  if (Atomics.add(flags, index, 1) === 0 && index === crashAt) process.exit(1);
  return index;
});

test("results computed before a worker dies are kept: tasks that did not fault run once", { timeout: 60_000 }, async () => {
  const flags = await sharedInts(400);
  // Learn the task is short, so the scheduler sends it in batches.
  await ray.get(Array.from({ length: 50 }, (_, i) => counted.remote(flags, 300 + i, -1)));
  const refs = Array.from({ length: 200 }, (_, i) => counted.remote(flags, i, 150));
  assert.deepEqual(await ray.get(refs, { timeout: 30_000 }), Array.from({ length: 200 }, (_, i) => i));
  const reruns = Array.from({ length: 200 }, (_, i) => i).filter((i) => i !== 150 && Atomics.load(flags, i) !== 1);
  assert.deepEqual(reruns, [], "tasks that completed before the crash were not run again");
  assert.equal(Atomics.load(flags, 150), 2);
  await assertPoolWhole1();
});

/** Counts runs per argument in flags[n]; returns n * 10. */
const child10 = ray.remote((flags: Int32Array, n: number) => {
  Atomics.add(flags, n, 1);
  return n * 10;
});

/**
 * Counts its runs in flags[0]; gets children 1 and 2 and, on its first run,
 * kills its worker. From its second run on it asks for child `second` instead of 2.
 */
const crashAfterChildren = ray.remote(async (flags: Int32Array, child: typeof child10, second: number) => {
  const run = Atomics.add(flags, 0, 1);
  const values = await ray.get([child.remote(flags, 1), child.remote(flags, run === 0 ? 2 : second)]);
  if (run === 0) process.exit(1);
  return values;
});

test("a retried task reuses the children its first attempt submitted: they do not run again", { timeout: 60_000 }, async () => {
  const flags = await sharedInts(8);
  assert.deepEqual(await ray.get(crashAfterChildren.remote(flags, child10, 2), { timeout: 30_000 }), [10, 20]);
  assert.equal(Atomics.load(flags, 0), 2, "the parent ran twice");
  assert.deepEqual([Atomics.load(flags, 1), Atomics.load(flags, 2)], [1, 1], "each child ran once");
  await assertPoolWhole1();
});

test("a retried task that submits other children than before runs them; the same ones are still reused", { timeout: 60_000 }, async () => {
  const flags = await sharedInts(8);
  assert.deepEqual(await ray.get(crashAfterChildren.remote(flags, child10, 5), { timeout: 30_000 }), [10, 50]);
  assert.deepEqual([Atomics.load(flags, 0), Atomics.load(flags, 1), Atomics.load(flags, 2), Atomics.load(flags, 5)], [2, 1, 1, 1]);
  await assertPoolWhole1();
});

/** With one worker the pool is whole when a task runs. */
async function assertPoolWhole1(): Promise<void> {
  assert.equal(await ray.get(leaf.remote(21), { timeout: 20_000 }), 42);
}

