/**
 * `aggListDistributed`: chunks folded on workers, partials folded in order.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { aggList, aggListDistributed, lastAggListDecision } from "../src/ops/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const add = (a: number, b: number): number => a + b;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test("the seed's assertion: equals reduce for 10,000 numbers", async () => {
  const xs = range(10_000);
  assert.equal(await aggListDistributed(add, xs, { chunkSize: 400 }), xs.reduce(add));
});

test("keeps order with a non-commutative combine across chunk boundaries", async () => {
  const letters = "abcdefghijklmnopqrstuvwxyz".split("");
  for (const chunkSize of [1, 2, 3, 7, 26, 100]) {
    assert.equal(await aggListDistributed((a: string, b: string) => a + b, letters, { chunkSize }), letters.join(""));
  }
});

test("every item is folded once, also when the length is not a multiple of the chunk size", async () => {
  // The seed's last chunk is `seq[-span:]`, which drops items in that case.
  const xs = range(1001).map((i) => [i]);
  const out = await aggListDistributed((a: number[], b: number[]) => a.concat(b), xs, { chunkSize: 400 });
  assert.deepEqual(out, range(1001));
});

test("a typed array is chunked by index range over one shared copy", async () => {
  const xs = new Float64Array(100_000).map((_, i) => i % 7);
  const expected = aggList(add, xs);
  assert.equal(await aggListDistributed(add, xs, { chunkSize: 30_000 }), expected);
});

test("seq may be an ObjectRef to a typed array or to a plain array", async () => {
  const typed = new Int32Array(50_000).map((_, i) => i % 11);
  assert.equal(await aggListDistributed(add, ray.put(typed), { chunkSize: 10_000 }), aggList(add, typed));
  const plain = range(5000).map((i) => `${i % 10}`);
  const cat = (a: string, b: string): string => a + b;
  assert.equal(await aggListDistributed(cat, ray.put(plain), { chunkSize: 700 }), plain.join(""));
  // The same ref again: workers reuse what they fetched.
  const ref = ray.put(plain);
  assert.equal(await aggListDistributed(cat, ref, { chunkSize: 1000 }), plain.join(""));
  assert.equal(await aggListDistributed(cat, ref, { chunkSize: 2500 }), plain.join(""));
});

test("fn may be a RemoteFunction: each combine is a task, order kept", async () => {
  const join = ray.remote((a: string, b: string) => a + b);
  const letters = "abcdefghijklm".split("");
  assert.equal(await aggListDistributed(join, letters), letters.join(""));
  assert.equal(await aggListDistributed(join, letters, { chunkSize: 4 }), letters.join(""));
  assert.equal(await aggListDistributed(join, ["only"]), "only");
});

test("fn may be written as a method", async () => {
  const ops = {
    mul(a: number, b: number): number {
      return a * b;
    },
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the built-in combiners are plain functions, passed as they are
  assert.equal(await aggListDistributed(ops.mul, [1, 2, 3, 4, 5], { chunkSize: 2 }), 120);
});

test("auto keeps a cheap combine local and says so", async () => {
  const xs = range(50_000);
  assert.equal(await aggListDistributed(add, xs), xs.reduce(add));
  assert.equal(lastAggListDecision()?.kind, "local");
});

test("auto distributes a costly combine", async () => {
  // 2 ms per combine: no measurement noise makes 63 of them cheaper locally.
  const slow = (a: number, b: number): number => {
    const end = performance.now() + 2;
    while (performance.now() < end);
    return a + b;
  };
  const xs = range(64);
  assert.equal(await aggListDistributed(slow, xs), xs.reduce(add));
  const decision = lastAggListDecision();
  assert.equal(decision?.kind, "distribute");
  assert.ok(decision !== undefined && decision.sampled < xs.length);
});

test("a throwing combine rejects with the task's error", async () => {
  const failing = (a: number, b: number): number => {
    if (a === 500 || b === 500) throw new RangeError("no 500");
    return a + b;
  };
  await assert.rejects(aggListDistributed(failing, range(1000), { chunkSize: 100 }), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError);
    assert.match(error.message, /no 500/);
    return true;
  });
});

test("a combine that captures a module value explains the missing name", async () => {
  const offset = 1;
  const capturing = (a: number, b: number): number => a + b + offset;
  await assert.rejects(aggListDistributed(capturing, range(10), { chunkSize: 5 }), /offset is not defined in the worker.*self-contained/);
});

test("bad arguments are rejected with clear errors", async () => {
  await assert.rejects(aggListDistributed(add, []), { name: "RangeError", message: /`seq`.*at least one item/ });
  await assert.rejects(aggListDistributed(add, ray.put([] as number[])), RangeError);
  await assert.rejects(aggListDistributed(3 as never, [1]), { name: "TypeError", message: "Expected `fn` to be a function or a RemoteFunction, got 3" });
  await assert.rejects(aggListDistributed(add, [1], { chunkSize: 0 }), {
    name: "RangeError",
    message: 'Expected `chunkSize` to be "auto" or an integer from 1 and up, got 0',
  });
  await assert.rejects(aggListDistributed(add, [1], { chunkSize: 2.5 }), /got 2.5/);
  await assert.rejects(aggListDistributed(add, [1], { chunkSize: Number.NaN }), /got NaN/);
  await assert.rejects(aggListDistributed(add, [1], { chunk: 3 } as never), /Unknown option `chunk`/);
  await assert.rejects(aggListDistributed(add, ray.put(7) as never), /refer to an array.*got 7/);
});

/** Merges two sorted lists: its cost grows with the operands. */
function mergeSorted(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push((a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number));
  while (i < a.length) out.push(a[i++] as number);
  while (j < b.length) out.push(b[j++] as number);
  return out;
}

test("auto measures how a merge's cost grows with its operands, and decides the same way every run", async () => {
  const runs = Array.from({ length: 20_000 }, (_, i) => [(i * 7919) % 20_000]);
  const kinds: string[] = [];
  for (let run = 0; run < 3; run++) {
    const merged = await aggListDistributed(mergeSorted, runs);
    assert.equal(merged.length, runs.length);
    assert.ok(merged.every((x, i) => i === 0 || (merged[i - 1] as number) <= x));
    const decision = lastAggListDecision();
    assert.ok(decision !== undefined);
    assert.ok(decision.growthMsPerItem > 0, `no growth measured: ${JSON.stringify(decision)}`);
    // The local estimate counts the large merges near the root, not only the small ones sampled first.
    const rest = runs.length - decision.sampled;
    assert.ok(decision.localMs > rest * decision.combineMs + decision.growthMsPerItem * rest, JSON.stringify(decision));
    kinds.push(decision.kind);
  }
  assert.equal(new Set(kinds).size, 1, `the decision flipped: ${kinds.join(", ")}`);
});

test("auto finds no growth in a combine of constant cost", async () => {
  const fixed = (a: number, b: number): number => {
    const end = performance.now() + 0.05;
    while (performance.now() < end);
    return a + b;
  };
  const xs = range(200);
  assert.equal(await aggListDistributed(fixed, xs), xs.reduce(add));
  assert.equal(lastAggListDecision()?.growthMsPerItem, 0);
});
