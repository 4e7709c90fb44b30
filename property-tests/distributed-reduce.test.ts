/**
 * aggListDistributed(f, xs, { chunkSize }) equals aggList(f, xs) for every
 * chunk size from 1 to past the length, with 1 and 2 workers, for
 * non-commutative combines, for arrays, typed arrays, refs and remote combines.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import * as ray from "../src/index.js";
import { aggList, aggListDistributed } from "../src/ops/index.js";
import { params } from "./fc-config.js";

/** Non-commutative and self-contained (it is shipped to workers as source). */
const concat = (a: string, b: string): string => a + b;
const listConcat = (a: number[], b: number[]): number[] => a.concat(b);
const matMul = (a: number[], b: number[]): number[] => [
  (a[0]! * b[0]! + a[1]! * b[2]!) % 1_000_003,
  (a[0]! * b[1]! + a[1]! * b[3]!) % 1_000_003,
  (a[2]! * b[0]! + a[3]! * b[2]!) % 1_000_003,
  (a[2]! * b[1]! + a[3]! * b[3]!) % 1_000_003,
];
const add = (a: number, b: number): number => a + b;

/** A sequence and a chunk size from 1 to a little past its length. */
function withChunkSize<T>(item: fc.Arbitrary<T>, maxLength: number): fc.Arbitrary<[T[], number]> {
  return fc
    .array(item, { minLength: 1, maxLength })
    .chain((xs) => fc.tuple(fc.constant(xs), fc.integer({ min: 1, max: xs.length + 5 })));
}

for (const workers of [1, 2]) {
  describe(`with ${workers} worker${workers === 1 ? "" : "s"}`, () => {
    before(async () => {
      await ray.init({ numCpus: workers });
    });
    after(async () => {
      await ray.shutdown();
    });

    test("every chunk size from 1 to past the length gives aggList's result", async () => {
      const letters = Array.from({ length: 23 }, (_, i) => String.fromCharCode(97 + i));
      const expected = aggList(concat, letters);
      for (let chunkSize = 1; chunkSize <= letters.length + 3; chunkSize++) {
        assert.equal(await aggListDistributed(concat, letters, { chunkSize }), expected, `chunkSize ${chunkSize}`);
      }
    });

    test("string concatenation, random lengths and chunk sizes", async () => {
      await fc.assert(
        fc.asyncProperty(withChunkSize(fc.string({ maxLength: 3 }), 120), async ([xs, chunkSize]) => {
          assert.equal(await aggListDistributed(concat, xs, { chunkSize }), aggList(concat, xs));
        }),
        params(30),
      );
    });

    test("list concatenation and matrix product", async () => {
      await fc.assert(
        fc.asyncProperty(withChunkSize(fc.array(fc.integer(), { maxLength: 3 }), 80), async ([xs, chunkSize]) => {
          assert.deepEqual(await aggListDistributed(listConcat, xs, { chunkSize }), aggList(listConcat, xs));
        }),
        params(20),
      );
      const entry = fc.integer({ min: 0, max: 1_000_002 });
      await fc.assert(
        fc.asyncProperty(withChunkSize(fc.tuple(entry, entry, entry, entry), 80), async ([xs, chunkSize]) => {
          assert.deepEqual(await aggListDistributed(matMul, xs, { chunkSize }), aggList(matMul, xs));
        }),
        params(20),
      );
    });

    test("typed arrays, by value and by ref, and plain arrays by ref", async () => {
      await fc.assert(
        fc.asyncProperty(withChunkSize(fc.integer({ min: -1000, max: 1000 }), 300), async ([xs, chunkSize]) => {
          const typed = Int32Array.from(xs);
          const expected = aggList(add, typed);
          assert.equal(await aggListDistributed(add, typed, { chunkSize }), expected);
          assert.equal(await aggListDistributed(add, ray.put(typed), { chunkSize }), expected);
          const strings = xs.map(String);
          assert.equal(await aggListDistributed(concat, ray.put(strings), { chunkSize }), aggList(concat, strings));
        }),
        params(15),
      );
    });

    test("chunks longer than one fold block (4096 items) fold the same", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 4000, max: 12_000 }), fc.integer({ min: 1, max: 3 }), async (n, parts) => {
          const xs = Array.from({ length: n }, (_, i) => [i]);
          const out = await aggListDistributed(listConcat, xs, { chunkSize: Math.ceil(n / parts) });
          assert.deepEqual(out, aggList(listConcat, xs));
        }),
        params(5),
      );
    });

    test("a remote combine gives the same result", async () => {
      const remoteConcat = ray.remote((a: string, b: string) => a + b);
      await fc.assert(
        fc.asyncProperty(withChunkSize(fc.string({ maxLength: 2 }), 40), async ([xs, chunkSize]) => {
          assert.equal(await aggListDistributed(remoteConcat, xs, { chunkSize }), aggList(concat, xs));
        }),
        params(10),
      );
    });

    test('chunkSize "auto" gives the same result', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 500 }), async (xs) => {
          assert.equal(await aggListDistributed(concat, xs), aggList(concat, xs));
        }),
        params(20),
      );
      // A combine slow enough that auto distributes with 2 workers.
      const slowConcat = (a: string, b: string): string => {
        const end = performance.now() + 0.2;
        while (performance.now() < end);
        return a + b;
      };
      await fc.assert(
        fc.asyncProperty(fc.array(fc.string({ maxLength: 3 }), { minLength: 1, maxLength: 120 }), async (xs) => {
          assert.equal(await aggListDistributed(slowConcat, xs), aggList(concat, xs));
        }),
        params(5),
      );
    });
  });
}
