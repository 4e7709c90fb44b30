/**
 * Actor calls queued behind a long call may name a shared block by id (a
 * typed array taken from `get` and passed by value, whose ref was then
 * dropped) while the driver tells the actor's thread to forget that block.
 * The thread keeps such blocks until every queued call that names them has
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
const flagsOf = async () => ray.get(ray.put(new Int32Array(4)));
async function until(flags: Int32Array, index: number, value: number) {
  while (Atomics.load(flags, index) < value) await new Promise((resolve) => setImmediate(resolve));
}

const failures: string[] = [];
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
  const freedBefore = ray.objectStoreStats().freedCount;
  view = undefined;
  ref = undefined;
  // Drop the object: the driver tells the thread to forget its block.
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
  ray.kill(summer);
  rounds++;
};
for (let round = 0; round < 10; round++) await runRound();
console.log("RESULT " + JSON.stringify({ rounds, failures: failures.slice(0, 5), failed: failures.length }));
await ray.shutdown();
`;

test("actor calls queued behind an eviction still find their shared block (10 rounds)", { timeout: 120_000 }, async () => {
  const run = await runScript("actor-eviction-race", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 110_000 });
  assert.equal(run.code, 0, run.stderr);
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line !== undefined, run.stdout);
  const result = JSON.parse(line.slice(7)) as { rounds: number; failures: string[]; failed: number };
  assert.equal(result.rounds, 10);
  assert.deepEqual(result.failures, [], `${result.failed} calls failed`);
});
