/**
 * `pipeline(inputs).map(f).map(g)`: chained stages, refs between stages,
 * collect in order, tree-fold reduce, errors at their item, early stop.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { MapItemError, Pipeline, pipeline } from "../src/ops/index.js";
import { eventually } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const inc = (x: number): number => x + 1;
const tenfold = (x: number): number => x * 10;

test("two stages equal mapping the composition, collected in input order", async () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(await pipeline(xs).map(inc, { concurrency: 3 }).map(tenfold, { concurrency: 2 }).collect(), xs.map((x) => tenfold(inc(x))));
});

test("reduce tree-folds the results in input order", async () => {
  const words = ["a", "b", "c", "d", "e", "f", "g"];
  const upper = (s: string): string => s.toUpperCase();
  assert.equal(await pipeline(words).map(upper).reduce((a, b) => a + b), "ABCDEFG");
  await assert.rejects(pipeline([] as number[]).map(inc).reduce((a, b) => a + b), RangeError);
});

test("reduce with an initial value folds it first, as Array.prototype.reduce does, and returns it for no items", async () => {
  const words = ["a", "b", "c", "d", "e"];
  const upper = (s: string): string => s.toUpperCase();
  assert.equal(await pipeline(words).map(upper).reduce((a, b) => a + b, ">"), ">ABCDE");
  assert.equal(await pipeline([1, 2, 3]).map(inc).reduce((a, b) => a + b, 100), 109);
  assert.equal(await pipeline([] as number[]).map(inc).reduce((a, b) => a + b, 7), 7);
});

test("iterating yields every result; ordered: true keeps input order through the stages", async () => {
  const xs = Array.from({ length: 30 }, (_, i) => i);
  const jitter = async (x: number): Promise<number> => {
    await new Promise((resolve) => setTimeout(resolve, (x * 3) % 4));
    return x;
  };
  const unordered: number[] = [];
  for await (const y of pipeline(xs).map(jitter).map(inc)) unordered.push(y);
  assert.deepEqual(
    unordered.sort((a, b) => a - b),
    xs.map(inc),
  );
  const ordered: number[] = [];
  for await (const y of pipeline(xs, { ordered: true }).map(jitter, { concurrency: 3 }).map(inc)) ordered.push(y);
  assert.deepEqual(ordered, xs.map(inc));
});

test("typed arrays flow between stages through the store", async () => {
  const make = (n: number): Float64Array => new Float64Array(1000).fill(n);
  const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
  assert.deepEqual(await pipeline([1, 2, 3]).map(make).map(sum).collect(), [1000, 2000, 3000]);
});

test("a stage may be a RemoteFunction; inputs may be refs; no stage yields the inputs", async () => {
  const double = ray.remote((x: number) => x * 2);
  assert.deepEqual(await pipeline([ray.put(1), 2, ray.put(3)]).map(double).collect(), [2, 4, 6]);
  assert.deepEqual(await pipeline([ray.put(1), 2]).collect(), [1, 2]);
});

test("a failure in the first stage surfaces with the item's index", async () => {
  const failOn3 = (x: number): number => {
    if (x === 3) throw new Error("three");
    return x;
  };
  await assert.rejects(pipeline([0, 1, 2, 3, 4]).map(failOn3).map(tenfold).collect(), (error: unknown) => {
    assert.ok(error instanceof MapItemError);
    assert.equal(error.index, 3);
    assert.ok(error.cause instanceof ray.RayTaskError);
    assert.match(error.message, /three/);
    return true;
  });
});

test("an endless input with a break stops every stage", async () => {
  let closed = false;
  function* naturals(): Generator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  const out: number[] = [];
  for await (const y of pipeline(naturals(), { ordered: true }).map(inc, { concurrency: 2 }).map(tenfold, { concurrency: 2 })) {
    out.push(y);
    if (out.length === 10) break;
  }
  assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => (i + 1) * 10));
  await eventually(() => closed, "the input to close");
  assert.ok(closed, "the input was closed");
});

test("backpressure: a fast stage does not run ahead of a slow one", async () => {
  let pulled = 0;
  let consumed = 0;
  let maxAhead = 0;
  function* inputs(): Generator<number> {
    for (let i = 0; i < 40; i++) {
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - consumed);
      yield i;
    }
  }
  const slow = (x: number): number => {
    const end = performance.now() + 3;
    while (performance.now() < end);
    return x;
  };
  for await (const _ of pipeline(inputs()).map(inc, { concurrency: 2 }).map(slow, { concurrency: 1 })) consumed++;
  assert.equal(consumed, 40);
  // Each stage holds at most its concurrency in items (one more may be in transit between them).
  assert.ok(maxAhead <= 2 + 1 + 1, `the input ran ${maxAhead} items ahead of the consumer`);
});

test("pipelines are immutable: map returns a new one", async () => {
  const base = pipeline([1, 2]);
  const mapped = base.map(inc);
  assert.ok(mapped instanceof Pipeline);
  assert.notEqual(base, mapped);
  assert.deepEqual(await base.collect(), [1, 2]);
  assert.deepEqual(await mapped.collect(), [2, 3]);
});

test("bad arguments throw at the call", () => {
  assert.throws(() => pipeline(5 as never), { name: "TypeError", message: /`inputs` of pipeline.*got 5/ });
  assert.throws(() => pipeline([1]).map(inc, { concurrency: 0 }), { message: "Expected `concurrency` to be an integer from 1 and up, got 0" });
  assert.throws(() => pipeline([1]).map(null as never), { message: "Expected `fn` to be a function or a RemoteFunction, got null" });
  assert.throws(() => pipeline([1], { ordered: 1 } as never), { message: "Expected `ordered` to be a boolean, got 1" });
});
