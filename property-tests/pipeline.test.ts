/**
 * A pipeline of two stages equals mapping the composition.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import * as ray from "../src/index.js";
import { pipeline } from "../src/ops/index.js";
import { params } from "./fc-config.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Self-contained stage functions (they are shipped as source). */
const stages: readonly (readonly [string, (x: number) => number | Promise<number>])[] = [
  ["inc", (x: number) => x + 1],
  ["double", (x: number) => 2 * x],
  ["square", (x: number) => x * x],
  ["negate", (x: number) => -x],
  ["mod7", (x: number) => ((x % 7) + 7) % 7],
  [
    "slowInc",
    async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, Math.abs(x) % 3));
      return x + 1;
    },
  ],
];
const stage = fc.constantFrom(...stages);
const concurrency = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined });

test("two stages equal mapping the composition (collect)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 30 }), stage, stage, concurrency, concurrency, async (xs, [, f], [, g], c1, c2) => {
      const expected = await Promise.all(xs.map(async (x) => g(await f(x))));
      const out = await pipeline(xs)
        .map(f, c1 === undefined ? {} : { concurrency: c1 })
        .map(g, c2 === undefined ? {} : { concurrency: c2 })
        .collect();
      assert.deepEqual(out, expected);
    }),
    params(25),
  );
});

test("iterating an ordered pipeline yields the composition in order; unordered, as a multiset", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 30 }), stage, stage, fc.boolean(), async (xs, [, f], [, g], ordered) => {
      const expected = await Promise.all(xs.map(async (x) => g(await f(x))));
      const out: number[] = [];
      for await (const y of pipeline(xs, { ordered }).map(f, { concurrency: 2 }).map(g, { concurrency: 3 })) out.push(y);
      if (ordered) assert.deepEqual(out, expected);
      else
        assert.deepEqual(
          [...out].sort((a, b) => a - b),
          [...expected].sort((a, b) => a - b),
        );
    }),
    params(20),
  );
});
