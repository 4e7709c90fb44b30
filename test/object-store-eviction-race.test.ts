/**
 * A worker forgets a shared block when the store drops its object, but tasks
 * already queued on that worker may still name the block by id (a typed
 * array taken from `get` and passed by value, whose ref was then dropped).
 * The worker keeps such blocks until every queued task that names them has
 * decoded its arguments (the race itself: support/eviction-race.ts).
 */
import { test } from "node:test";
import { runScript } from "./support/child.js";
import { assertNoEvictionFailures, EVICTION_RACE_PRELUDE } from "./support/eviction-race.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
${EVICTION_RACE_PRELUDE}
await ray.init({ numCpus: 1 });

const sum = ray.remote((data: Float64Array) => data.reduce((a, b) => a + b, 0));
const hold = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 1, 1);
  Atomics.notify(flags, 1);
  Atomics.wait(flags, 0, 0, 30_000);
  return 0;
});
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
  // Drop the object: the driver tells the worker to forget its block.
  const drop = () => {
    view = undefined;
    ref = undefined;
  };
  await evictThenRelease(flags, drop, held, queued, 499500);
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
  await collect(pending, 2);
}
report(rounds);
await ray.shutdown();
`;

test("tasks queued behind an eviction still find their shared block (20 rounds, then a loaded run)", { timeout: 180_000 }, async () => {
  const run = await runScript("eviction-race", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 170_000 });
  assertNoEvictionFailures(run, 20, "tasks");
});
