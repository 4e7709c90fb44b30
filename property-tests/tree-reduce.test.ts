/**
 * aggList(f, xs) equals xs.reduce(f) for associative f, commutative or not,
 * for lengths 1..2000.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { aggList } from "../src/ops/index.js";
import { params } from "./fc-config.js";

const P = 1_000_003;
type Mat = readonly [number, number, number, number];
/** 2x2 integer matrix product modulo a prime: associative, not commutative. */
const matMul = (a: Mat, b: Mat): Mat => [
  (a[0] * b[0] + a[1] * b[2]) % P,
  (a[0] * b[1] + a[1] * b[3]) % P,
  (a[2] * b[0] + a[3] * b[2]) % P,
  (a[2] * b[1] + a[3] * b[3]) % P,
];
const entry = fc.integer({ min: 0, max: P - 1 });
const matrix: fc.Arbitrary<Mat> = fc.tuple(entry, entry, entry, entry);

function listOf<T>(item: fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  return fc.array(item, { minLength: 1, maxLength: 2000 });
}

test("numeric addition (integers) equals reduce", () => {
  fc.assert(
    fc.property(listOf(fc.integer({ min: -1e9, max: 1e9 })), (xs) => {
      assert.equal(aggList((a, b) => a + b, xs), xs.reduce((a, b) => a + b));
    }),
    params(100),
  );
});

test("max equals reduce", () => {
  fc.assert(
    fc.property(listOf(fc.double({ noNaN: true })), (xs) => {
      assert.equal(aggList(Math.max, xs), xs.reduce((a, b) => Math.max(a, b)));
    }),
    params(100),
  );
});

test("string concatenation (non-commutative) equals reduce", () => {
  fc.assert(
    fc.property(listOf(fc.string({ maxLength: 4 })), (xs) => {
      assert.equal(aggList((a, b) => a + b, xs), xs.reduce((a, b) => a + b));
    }),
    params(100),
  );
});

test("list concatenation (non-commutative) equals reduce", () => {
  fc.assert(
    fc.property(listOf(fc.array(fc.integer(), { maxLength: 3 })), (xs) => {
      assert.deepEqual(
        aggList((a, b) => a.concat(b), xs),
        xs.reduce((a, b) => a.concat(b)),
      );
    }),
    params(60),
  );
});

test("2x2 integer matrix product (non-commutative) equals reduce", () => {
  fc.assert(
    fc.property(listOf(matrix), (xs) => {
      assert.deepEqual(aggList(matMul, xs), xs.reduce(matMul));
    }),
    params(60),
  );
});

test("typed arrays and other iterables fold like their array, up to 20,000 items", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 20_000 }), (xs) => {
      const expected = xs.reduce((a, b) => a + b);
      assert.equal(aggList((a, b) => a + b, Int32Array.from(xs)), expected);
      assert.equal(aggList((a, b) => a + b, xs.values()), expected);
    }),
    params(50),
  );
});

test("fn is called exactly n - 1 times, on neighbours in order, also past one fold block", () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 4000, max: 20_000 })), (n) => {
      // Free monoid: each value is the list of indices it covers.
      let calls = 0;
      const out = aggList(
        (a: number[], b: number[]) => {
          calls++;
          assert.equal(a[a.length - 1]! + 1, b[0], "neighbours are combined in order");
          return a.concat(b);
        },
        Array.from({ length: n }, (_, i) => [i]),
      );
      assert.equal(calls, n - 1);
      assert.equal(out.length, n);
    }),
    params(50),
  );
});
