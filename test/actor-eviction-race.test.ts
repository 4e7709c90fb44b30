/**
 * Actor calls queued behind a long call may name a shared block by id (a
 * typed array taken from `get` and passed by value, whose ref was then
 * dropped) while the driver tells the actor's thread to forget that block.
 * The thread keeps such blocks until every queued call that names them has
 * decoded its arguments (the race itself: support/eviction-race.ts).
 */
import { test } from "node:test";
import { runScript } from "./support/child.js";
import { assertNoEvictionFailures, EVICTION_RACE_PRELUDE } from "./support/eviction-race.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
${EVICTION_RACE_PRELUDE}
await ray.init({ numCpus: 1 });

const Summer = ray.remote(class Summer {
  sum(data: Float64Array): number {
    return data.reduce((a, b) => a + b, 0);
  }
  hold(flags: Int32Array): number {
    Atomics.add(flags, 1, 1);
    Atomics.notify(flags, 1);
    Atomics.wait(flags, 0, 0, 30_000);
    return 0;
  }
});
let rounds = 0;
const runRound = async (): Promise<void> => {
  const summer = Summer.remote();
  const flags = await flagsOf();
  let ref: ray.ObjectRef<Float64Array> | undefined = ray.put(Float64Array.from({ length: 1000 }, (_, i) => i));
  let view: Float64Array | undefined = await ray.get(ref);
  // The actor's thread caches the block.
  for (let i = 0; i < 3; i++) await ray.get(summer.sum.remote(view));
  const held = summer.hold.remote(flags);
  await until(flags, 1, 1);
  // Queued behind the held call, naming the block by id.
  const queued = Array.from({ length: 4 }, () => summer.sum.remote(view!));
  // Drop the object: the driver tells the thread to forget its block.
  const drop = () => {
    view = undefined;
    ref = undefined;
  };
  await evictThenRelease(flags, drop, held, queued, 499500);
  ray.kill(summer);
  rounds++;
};
for (let round = 0; round < 10; round++) await runRound();
report(rounds);
await ray.shutdown();
`;

test("actor calls queued behind an eviction still find their shared block (10 rounds)", { timeout: 120_000 }, async () => {
  const run = await runScript("actor-eviction-race", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 110_000 });
  assertNoEvictionFailures(run, 10, "calls");
});
