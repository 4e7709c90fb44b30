/**
 * `init({ numCpus })` is bounded: a count no machine could use is refused
 * before any thread starts; above the logical CPU count it warns.
 */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import * as ray from "../src/index.js";

test("numCpus far above the machine is refused with the limit in the message", async () => {
  await assert.rejects(ray.init({ numCpus: 100_000 }), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /Expected `numCpus` to be at most \d+ .*got 100000/);
    return true;
  });
  assert.equal(ray.isInitialized(), false);
});

test("numCpus above the logical CPU count starts, with a warning", async () => {
  const warned = new Promise<Error & { code?: string }>((resolve) => {
    const listener = (warning: Error & { code?: string }): void => {
      if (warning.code !== "RAYTS_NUM_CPUS") return;
      process.off("warning", listener);
      resolve(warning);
    };
    process.on("warning", listener);
  });
  await ray.init({ numCpus: availableParallelism() + 1 });
  try {
    const warning = await warned;
    assert.match(warning.message, new RegExp(`numCpus ${availableParallelism() + 1} is above the ${availableParallelism()} logical CPUs`));
    const square = ray.remote((x: number) => x * x);
    assert.equal(await ray.get(square.remote(7)), 49);
  } finally {
    await ray.shutdown();
  }
});
