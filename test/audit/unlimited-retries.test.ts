/**
 * Ray writes "retry without limit" as -1 (`max_retries=-1`,
 * `max_restarts=-1`, `max_task_retries=-1`); rayts accepts -1 (and
 * Infinity) for `maxRetries`, `maxRestarts` and `maxTaskRetries` too.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { sharedInts } from "../support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

test("maxRetries: -1 retries an exception past the default of 3 until it succeeds", async () => {
  const flags = await sharedInts();
  const flaky = ray.remote((f: Int32Array) => {
    if (Atomics.add(f, 0, 1) < 6) throw new Error("not yet");
    return "ok";
  });
  assert.equal(await ray.get(flaky.options({ maxRetries: -1, retryExceptions: true }).remote(flags)), "ok");
  assert.equal(Atomics.load(flags, 0), 7);
  const viaInfinity = ray.remote((f: Int32Array) => {
    if (Atomics.add(f, 1, 1) < 5) throw new Error("not yet");
    return "ok";
  }, { maxRetries: Infinity, retryExceptions: true });
  assert.equal(await ray.get(viaInfinity.remote(flags)), "ok");
  assert.equal(Atomics.load(flags, 1), 6);
});

test("maxRetries: -1 retries a task whose worker dies, past the default of 3", async () => {
  const flags = await sharedInts();
  const crashy = ray.remote((f: Int32Array) => {
    if (Atomics.add(f, 0, 1) < 5) process.exit(1);
    return "survived";
  });
  assert.equal(await ray.get(crashy.options({ maxRetries: -1 }).remote(flags)), "survived");
  assert.equal(Atomics.load(flags, 0), 6);
});

test("maxRestarts: -1 and maxTaskRetries: -1 keep an actor and its calls going through many deaths", async () => {
  const flags = await sharedInts();
  const Phoenix = ray.remote(
    class Phoenix {
      constructor(readonly f: Int32Array) {}
      /** Kills the actor's thread on its first four runs, across restarts. */
      rise(): number {
        if (Atomics.add(this.f, 0, 1) < 4) process.exit(1);
        return Atomics.load(this.f, 0);
      }
    },
    { maxRestarts: -1, maxTaskRetries: -1, dedicatedThread: true },
  );
  const phoenix = Phoenix.remote(flags);
  assert.equal(await ray.get(phoenix.rise.remote()), 5);
  assert.equal(await ray.get(phoenix.rise.remote()), 6);
  ray.kill(phoenix);
});

test("other negative counts are refused, naming -1 as the way to say 'no limit'", () => {
  const fn = ray.remote((x: number) => x);
  assert.throws(() => fn.options({ maxRetries: -2 }), { name: "RangeError", message: "Expected `maxRetries` to be an integer from 0 and up, or -1 for no limit, got -2" });
  assert.throws(() => fn.options({ maxRetries: 1.5 }), /Expected `maxRetries` to be an integer from 0 and up, or -1 for no limit, got 1.5/);
  const Box = ray.remote(class Box { v = 1; read() { return this.v; } });
  assert.throws(() => Box.options({ maxRestarts: -3 }), /Expected `maxRestarts` to be an integer from 0 and up, or -1 for no limit, got -3/);
  assert.throws(() => Box.options({ maxTaskRetries: Number.NaN }), /Expected `maxTaskRetries` to be an integer from 0 and up, or -1 for no limit, got NaN/);
});
