/**
 * A worker forgets a shared block when the store drops its object, but tasks
 * already queued on that worker may still name the block by id (a typed
 * array taken from `get` and passed by value, whose ref was then dropped).
 * The worker keeps such blocks until every queued task that names them has
 * decoded its arguments. Runs in a child process with --expose-gc, so the
 * test can drop the object at the exact moment it wants.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 1 });

const sum = ray.remote((data: Float64Array) => data.reduce((a, b) => a + b, 0));
const hold = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 1, 1);
  Atomics.notify(flags, 1);
  Atomics.wait(flags, 0, 0, 30_000);
  return 0;
});
const flagsOf = async () => ray.get(ray.put(new Int32Array(4)));
async function until(flags: Int32Array, index: number, value: number) {
  while (Atomics.load(flags, index) < value) await new Promise((resolve) => setImmediate(resolve));
}

const failures: string[] = [];
let rounds = 0;
for (let round = 0; round < 20; round++) {
  const flags = await flagsOf();
  let ref: ray.ObjectRef<Float64Array> | undefined = ray.put(Float64Array.from({ length: 1000 }, (_, i) => i));
  let view: Float64Array | undefined = await ray.get(ref);
  // The worker caches the block and the scheduler learns that sum is short.
  for (let i = 0; i < 3; i++) await ray.get(sum.remote(view));
  const held = hold.remote(flags);
  await until(flags, 1, 1);
  // Queued behind the held task on the only worker, naming the block by id.
  const queued = Array.from({ length: 4 }, () => sum.remote(view!));
  const freedBefore = ray.objectStoreStats().freedCount;
  view = undefined;
  ref = undefined;
  // Drop the object: the driver tells the worker to forget its block.
  while (ray.objectStoreStats().freedCount === freedBefore) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  await ray.get(held);
  for (const result of await Promise.allSettled(queued.map((r) => ray.get(r)))) {
    if (result.status === "rejected") failures.push(String(result.reason).split("\n")[0]!);
    else if (result.value !== 499500) failures.push("wrong sum " + result.value);
  }
  rounds++;
}

// Under load: many short tasks carrying views whose refs are dropped at once.
const two = ray.remote((data: Uint8Array) => data[0]! + data[data.length - 1]!);
for (let round = 0; round < 5; round++) {
  const pending: ray.ObjectRef<number>[] = [];
  for (let i = 0; i < 200; i++) {
    const value = await ray.get(ray.put(new Uint8Array(256).fill(1)));
    for (let j = 0; j < 5; j++) pending.push(two.remote(value));
  }
  gc();
  for (const result of await Promise.allSettled(pending.map((r) => ray.get(r)))) {
    if (result.status === "rejected") failures.push(String(result.reason).split("\n")[0]!);
    else if (result.value !== 2) failures.push("wrong value " + result.value);
  }
}
console.log("RESULT " + JSON.stringify({ rounds, failures: failures.slice(0, 5), failed: failures.length }));
await ray.shutdown();
`;

test("tasks queued behind an eviction still find their shared block (20 rounds, then a loaded run)", { timeout: 180_000 }, async () => {
  const run = await runScript("eviction-race", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 170_000 });
  assert.equal(run.code, 0, run.stderr);
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line !== undefined, run.stdout);
  const result = JSON.parse(line.slice(7)) as { rounds: number; failures: string[]; failed: number };
  assert.equal(result.rounds, 20);
  assert.deepEqual(result.failures, [], `${result.failed} tasks failed`);
});
