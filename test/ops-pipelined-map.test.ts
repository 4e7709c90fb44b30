/**
 * `mapPipelined`: results as tasks finish (or in order), bounded in flight,
 * lazy input, errors at their item, early stop cancels.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { MapItemError, mapPipelined } from "../src/ops/index.js";
import { eventually, release } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

const square = (x: number): number => x * x;
/** Sleeps a little, longer for small inputs, so results finish out of order. */
const jittered = async (x: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, (x * 7) % 5));
  return x * 10;
};

test("yields every result, as a multiset of the map", async () => {
  const xs = Array.from({ length: 40 }, (_, i) => i);
  const out = await collect(mapPipelined(jittered, xs, { concurrency: 3 }));
  assert.deepEqual(
    [...out].sort((a, b) => a - b),
    xs.map((x) => x * 10),
  );
});

test("ordered: true yields exactly the map", async () => {
  const xs = Array.from({ length: 40 }, (_, i) => i);
  assert.deepEqual(await collect(mapPipelined(jittered, xs, { concurrency: 4, ordered: true })), xs.map((x) => x * 10));
});

test("an endless generator with a break after 10 results works, and is closed", async () => {
  let closed = false;
  let pulled = 0;
  function* naturals(): Generator<number> {
    try {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  const out: number[] = [];
  for await (const y of mapPipelined(square, naturals(), { concurrency: 2, ordered: true })) {
    out.push(y);
    if (out.length === 10) break;
  }
  assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => i * i));
  assert.ok(closed, "the input generator was closed");
  assert.ok(pulled <= 10 + 2 * 2, `pulled ${pulled} inputs for 10 results`);
});

test("async iterable inputs are pulled lazily, never far ahead of the consumer", async () => {
  let pulled = 0;
  let consumed = 0;
  let maxAhead = 0;
  async function* feed(): AsyncGenerator<number> {
    for (let i = 0; i < 30; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - consumed);
      yield i;
    }
  }
  const out: number[] = [];
  for await (const y of mapPipelined(square, feed(), { concurrency: 3 })) {
    consumed++;
    out.push(y);
  }
  assert.equal(out.length, 30);
  assert.ok(maxAhead <= 3, `an input was pulled ${maxAhead} items ahead of the consumer`);
});

test("inputs may be ObjectRefs, fn may be a RemoteFunction", async () => {
  const triple = ray.remote((x: number) => x * 3);
  const refs = [1, 2, 3].map((x) => ray.put(x));
  assert.deepEqual(await collect(mapPipelined(triple, refs, { ordered: true })), [3, 6, 9]);
});

test("a failing item surfaces as MapItemError with its index, after the items before it", async () => {
  const failAt5 = (x: number): number => {
    if (x === 5) throw new TypeError("five");
    return x;
  };
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const y of mapPipelined(failAt5, Array.from({ length: 20 }, (_, i) => i), { concurrency: 2, ordered: true })) seen.push(y);
    })(),
    (error: unknown) => {
      assert.ok(error instanceof MapItemError);
      assert.ok(error instanceof ray.RayError);
      assert.equal(error.index, 5);
      assert.ok(error.cause instanceof ray.RayTaskError);
      assert.match(error.message, /item 5 failed: .*five/);
      return true;
    },
  );
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

test("an input that cannot be sent fails at its own index", async () => {
  const inputs: unknown[] = [1, 2, () => 3];
  await assert.rejects(collect(mapPipelined((x: unknown) => x, inputs, { ordered: true })), (error: unknown) => {
    assert.ok(error instanceof MapItemError);
    assert.equal(error.index, 2);
    assert.ok(error.cause instanceof ray.SerializationError);
    return true;
  });
});

test("an input iterator that throws ends the map with its error, after what was in flight", async () => {
  function* broken(): Generator<number> {
    yield 1;
    yield 2;
    throw new Error("input broke");
  }
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const y of mapPipelined(square, broken(), { ordered: true })) seen.push(y);
    })(),
    /input broke/,
  );
  assert.deepEqual(seen, [1, 4]);
});

test("stopping early cancels the pending tasks: they never run, and no task is left running", async () => {
  // Store memory shared with the workers: [release, started, running, -], then one slot per item
  // holding its index. Item i is the view of its slot, so it reaches the task with no copy and
  // the task reaches the flags synchronously (an await in a task may let the worker start another).
  const memory = new Int32Array(4 + 64);
  for (let i = 0; i < 64; i++) memory[4 + i] = i;
  const shared = await ray.get(ray.put(memory));
  const flags = shared.subarray(0, 4);
  const held = (item: Int32Array): number => {
    const i = item[0]!;
    if (i === 0) return 0;
    const f = new Int32Array(item.buffer, item.byteOffset - 4 * (4 + i), 4);
    Atomics.add(f, 1, 1);
    Atomics.add(f, 2, 1);
    Atomics.wait(f, 0, 0, 10_000);
    Atomics.sub(f, 2, 1);
    return i;
  };
  function* items(): Generator<Int32Array> {
    for (let i = 0; i < 64; i++) yield shared.subarray(4 + i, 5 + i);
  }
  for await (const y of mapPipelined(held, items(), { concurrency: 4 })) {
    assert.equal(y, 0);
    break;
  }
  // Two workers, each blocked by the task it runs: at most two tasks got to start. The cancel
  // of a task the scheduler already batched to a worker is a message, posted at the end of
  // the tick of the break: one macrotask later it is on the worker's port, where the worker
  // reads it after the held task returns and before it starts the next one.
  await new Promise((resolve) => setImmediate(resolve));
  release(flags, 0);
  const total = ray.clusterResources()["CPU"];
  await eventually(() => Atomics.load(flags, 2) === 0 && ray.availableResources()["CPU"] === total, "the workers to be idle");
  assert.equal(Atomics.load(flags, 2), 0, "no task is left running");
  assert.equal(ray.availableResources()["CPU"], total);
  const started = Atomics.load(flags, 1);
  assert.ok(started <= 2, `${started} held tasks started`);
  // Every CPU slot is free: no task is left on a worker, so none can start later.
  assert.equal(Atomics.load(flags, 1), started, "no cancelled task started later");
});

test("next() called again before the last one settled gets the next result", async () => {
  const iterator = mapPipelined(square, [1, 2, 3], { ordered: true })[Symbol.asyncIterator]();
  const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next()]);
  assert.deepEqual(
    results.map((r): unknown => r.value),
    [1, 4, 9, undefined],
  );
  assert.equal(results[3]?.done, true);
});

test("each iteration runs the map afresh", async () => {
  const mapped = mapPipelined(square, [1, 2, 3], { ordered: true });
  assert.deepEqual(await collect(mapped), [1, 4, 9]);
  assert.deepEqual(await collect(mapped), [1, 4, 9]);
});

test("bad arguments throw at the call, naming the argument", () => {
  assert.throws(() => mapPipelined(square, [1], { concurrency: 0 }), {
    name: "RangeError",
    message: "Expected `concurrency` to be an integer from 1 and up, got 0",
  });
  assert.throws(() => mapPipelined(square, [1], { concurrency: Number.NaN }), { message: /got NaN/ });
  assert.throws(() => mapPipelined(square, [1], { concurrency: 1.5 }), { message: /got 1.5/ });
  assert.throws(() => mapPipelined(square, [1], { ordered: "yes" as never }), {
    name: "TypeError",
    message: 'Expected `ordered` to be a boolean, got "yes"',
  });
  assert.throws(() => mapPipelined("square" as never, [1]), { name: "TypeError", message: 'Expected `fn` to be a function or a RemoteFunction, got "square"' });
  assert.throws(() => mapPipelined(square, 3 as never), { name: "TypeError", message: /`inputs`.*iterable.*got 3/ });
  assert.throws(() => mapPipelined(square, [1], { concurrent: 2 } as never), /Unknown option `concurrent`/);
  assert.throws(() => mapPipelined(Math.sqrt, [1]), { name: "TypeError", message: /^Expected `fn` to be a function with JavaScript source, got a native or bound function/ });
});
