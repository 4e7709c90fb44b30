/**
 * Bad input is refused at the boundary with an error that names the
 * argument, what was expected and what was received.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { aggList, aggListDistributed, mapPipelined, pipeline } from "../src/ops/index.js";
import { params } from "./fc-config.js";

const add = (a: number, b: number): number => a + b;
const inc = (x: number): number => x + 1;

/** Anything but an integer from 1 up: 0, negatives, NaN, fractions, infinities, other types. */
const badCount = fc.oneof(
  fc.constant(0),
  fc.integer({ max: 0 }),
  fc.constant(Number.NaN),
  fc.double({ noNaN: true }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(Infinity, -Infinity),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
);
/** Anything that is not a function. */
const notFunction = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.object(), fc.array(fc.integer()));

test("concurrency of 0, a negative, NaN, a fraction or a non-number is refused", () => {
  fc.assert(
    fc.property(badCount, (bad) => {
      assert.throws(() => mapPipelined(inc, [1], { concurrency: bad as number }), {
        name: "RangeError",
        message: /^Expected `concurrency` to be an integer from 1 and up, got /,
      });
      assert.throws(() => pipeline([1]).map((x: number) => x, { concurrency: bad as number }), /`concurrency`/);
    }),
    params(100),
  );
});

test("chunkSize other than \"auto\" or a positive integer is refused", async () => {
  await fc.assert(
    fc.asyncProperty(badCount.filter((x) => x !== "auto"), async (bad) => {
      await assert.rejects(aggListDistributed(add, [1, 2], { chunkSize: bad as number }), {
        name: "RangeError",
        message: /^Expected `chunkSize` to be "auto" or an integer from 1 and up, got /,
      });
    }),
    params(100),
  );
});

test("a non-function fn is refused by every operator", async () => {
  await fc.assert(
    fc.asyncProperty(notFunction, async (bad) => {
      assert.throws(() => aggList(bad as never, [1]), { name: "TypeError", message: /^Expected `fn` to be a function, got / });
      await assert.rejects(aggListDistributed(bad as never, [1]), { name: "TypeError", message: /^Expected `fn` to be a function or a RemoteFunction, got / });
      assert.throws(() => mapPipelined(bad as never, [1]), { name: "TypeError", message: /^Expected `fn`/ });
      assert.throws(() => pipeline([1]).map(bad as never), { name: "TypeError", message: /^Expected `fn`/ });
    }),
    params(100),
  );
});

test("an empty sequence is a RangeError, however it is given", async () => {
  const empties: (() => Iterable<number> | ArrayLike<number>)[] = [
    () => [],
    () => new Float64Array(0),
    () => new Set<number>(),
    () => [][Symbol.iterator](),
    () => ({ length: 0 }),
  ];
  for (const empty of empties) {
    assert.throws(() => aggList(add, empty()), { name: "RangeError", message: /`seq` of aggList to hold at least one item/ });
    await assert.rejects(aggListDistributed(add, empty()), { name: "RangeError", message: /`seq` of aggListDistributed/ });
  }
});

test("inputs that are not iterable are refused", () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.object()), (bad) => {
      assert.throws(() => mapPipelined(inc, bad as never), { name: "TypeError", message: /^Expected `inputs` of mapPipelined to be an array, an iterable or an async iterable, got / });
      assert.throws(() => pipeline(bad as never), { name: "TypeError", message: /^Expected `inputs` of pipeline/ });
    }),
    params(50),
  );
});
