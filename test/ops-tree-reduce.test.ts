/**
 * `aggList`: the seed's pairwise tree fold, on the calling thread.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { aggList } from "../src/ops/index.js";

const add = (a: number, b: number): number => a + b;
const concat = <T>(a: T[], b: T[]): T[] => a.concat(b);

test("folds like reduce for the seed's example", () => {
  const xs = Array.from({ length: 10_000 }, (_, i) => i);
  assert.equal(aggList(add, xs), xs.reduce(add));
});

test("keeps left-to-right order for non-commutative combines", () => {
  assert.equal(aggList((a: string, b: string) => a + b, "abcdefghijk".split("")), "abcdefghijk");
  assert.deepEqual(aggList(concat, [[1], [2, 3], [], [4], [5]]), [1, 2, 3, 4, 5]);
});

test("a single item is returned as is, without calling fn", () => {
  const item = { id: 1 };
  assert.equal(
    aggList(() => {
      throw new Error("must not be called");
    }, [item]),
    item,
  );
});

test("combines neighbours level by level: n - 1 calls, O(log n) depth", () => {
  // Each value is the depth of the subtree that produced it.
  const depths = Array.from({ length: 1000 }, () => 0);
  let calls = 0;
  const depth = aggList(
    (a: number, b: number) => {
      calls++;
      return Math.max(a, b) + 1;
    },
    depths,
  );
  assert.equal(calls, 999);
  assert.equal(depth, Math.ceil(Math.log2(1000)));
});

test("past one block of 4096 items the depth stays logarithmic", () => {
  for (const n of [4096, 4097, 10_000, 100_003]) {
    let calls = 0;
    const depth = aggList(
      (a: number, b: number) => {
        calls++;
        return Math.max(a, b) + 1;
      },
      new Array<number>(n).fill(0),
    );
    assert.equal(calls, n - 1);
    assert.ok(depth <= Math.ceil(Math.log2(n)) + 1, `depth ${depth} for ${n} items`);
  }
});

test("pairs neighbours as the seed does, carrying the odd last item up", () => {
  const shape = aggList((a: string, b: string) => `(${a}${b})`, ["a", "b", "c", "d", "e"]);
  assert.equal(shape, "(((ab)(cd))e)");
});

test("reads typed arrays, array-likes and other iterables", () => {
  assert.equal(aggList(add, new Float64Array([1, 2, 3, 4.5])), 10.5);
  assert.equal(aggList(add, { length: 3, 0: 1, 1: 2, 2: 3 }), 6);
  assert.equal(aggList(add, new Set([1, 2, 3])), 6);
  function* gen(): Generator<string> {
    yield "x";
    yield "y";
    yield "z";
  }
  assert.equal(aggList((a: string, b: string) => a + b, gen()), "xyz");
});

test("does not modify its input", () => {
  const xs = [[1], [2], [3]];
  const copy = structuredClone(xs);
  aggList(concat, xs);
  assert.deepEqual(xs, copy);
});

test("the seed's 200k list concatenation gives the concatenated list", () => {
  const lists: number[][] = [];
  for (let i = 0; i < 100_000; i++) lists.push([1], [2]);
  const out = aggList(concat, lists);
  assert.equal(out.length, 200_000);
  assert.deepEqual(out.slice(0, 4), [1, 2, 1, 2]);
});

test("empty input is a RangeError naming the argument", () => {
  assert.throws(() => aggList(add, []), { name: "RangeError", message: /`seq`.*at least one item.*empty/ });
  assert.throws(() => aggList(add, new Set<number>()), RangeError);
});

test("bad arguments are TypeErrors saying what was expected and received", () => {
  assert.throws(() => aggList(42 as never, [1]), { name: "TypeError", message: "Expected `fn` to be a function, got 42" });
  assert.throws(() => aggList(add, 5 as never), { name: "TypeError", message: /Expected `seq` of aggList to be an array.*got 5/ });
  assert.throws(() => aggList(add, null as never), { name: "TypeError", message: /got null/ });
});

test("errors thrown by fn propagate unchanged", () => {
  const boom = new Error("boom");
  assert.throws(
    () =>
      aggList(() => {
        throw boom;
      }, [1, 2]),
    (error) => error === boom,
  );
});
