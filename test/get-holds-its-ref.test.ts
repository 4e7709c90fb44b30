/**
 * `get` keeps what it waits for: a program that passes a fresh ref straight
 * to `get` (`await ray.get(f.remote())`) holds no ref of its own, and a
 * collection while the task runs must not free the object before `get`
 * has read it. Runs in a child process started with `--expose-gc`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 1 });
const flags = await ray.get(ray.put(new Int32Array(4)));
const slow = ray.remote((flags: Int32Array, n: number) => {
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  Atomics.wait(flags, 0, 0, 60_000); // until the driver has collected
  return new Float64Array(1024).fill(n);
});
// Some settlements of get go through a later turn (see FinalizerTurns): run enough rounds to meet them.
let right = 0;
for (let round = 0; round < 200; round++) {
  Atomics.store(flags, 0, 0);
  Atomics.store(flags, 1, 0);
  const pending = ray.get(slow.remote(flags, round));
  while (Atomics.load(flags, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  // The task runs; the program holds no ref to its result: collect, and let finalizers run.
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 1));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  const value = await pending;
  if (value.length === 1024 && value[0] === round && value[1023] === round) right++;
}
console.log("RESULT " + JSON.stringify({ right }));
await ray.shutdown();
`;

test("get of a ref the program does not hold survives a collection while its task runs", { timeout: 120_000 }, async () => {
  const run = await runScript("get-holds-its-ref", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 100_000 });
  assert.deepEqual(resultOf<{ right: number }>(run), { right: 200 });
});
