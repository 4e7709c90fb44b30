/**
 * Streaming generators: a remote (async) generator function or actor method
 * returns an ObjectRefGenerator whose refs arrive while the task runs, with
 * backpressure, cancellation, errors at the item where they happened,
 * retries that do not repeat items, nesting, actors, and pipelined maps fed
 * by a generator.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { state } from "../src/core/runtime/global-state.js";
import type { RuntimeEvent } from "../src/core/runtime/events.js";
import type { DriverRuntime } from "../src/core/runtime/runtime.js";
import { assertPoolWhole, eventually, release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Items stored for streams, as `objectCreated` events from task and actor workers. */
function watchItems(): { readonly count: () => number; readonly ids: number[]; readonly stop: () => void } {
  const ids: number[] = [];
  const stop = (state.backend as DriverRuntime).observe({
    emit(event: RuntimeEvent) {
      if (event.kind === "objectCreated" && event.owner !== "driver") ids.push(event.id);
    },
  });
  return { count: () => ids.length, ids, stop };
}

/** Ids among `ids` still in the object store. */
function stored(ids: readonly number[]): number[] {
  const live = new Set((state.backend as DriverRuntime).probe.objects().map((object) => object.id));
  return ids.filter((id) => live.has(id));
}

async function collect<T>(gen: AsyncIterable<ray.ObjectRef<T>>): Promise<T[]> {
  const values: T[] = [];
  for await (const ref of gen) values.push(await ray.get(ref));
  return values;
}

test("10,000 items stream to the caller while the generator still runs", async () => {
  const flags = await sharedInts();
  const numbers = ray.remote(async function* (flags: Int32Array, n: number) {
    yield 0;
    // Holds after the first item until the caller has seen it.
    while (Atomics.load(flags, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    for (let i = 1; i < n; i++) yield i;
  });
  const gen = numbers.remote(flags, 10_000);
  const first = await gen.next();
  assert.equal(first.done, false);
  assert.equal(await ray.get(first.value), 0);
  const [ready] = await ray.wait([gen.completed()], { timeout: 0 });
  assert.equal(ready.length, 0, "the generator task is still running after its first item arrived");
  release(flags);
  const rest = await collect(gen);
  assert.equal(rest.length, 9_999);
  for (let i = 0; i < rest.length; i++) assert.equal(rest[i], i + 1);
  assert.equal(await ray.get(gen.completed()), 10_000);
});

test("a sync generator streams too, and a generator function's type gives typed refs", async () => {
  const words = ray.remote(function* (n: number) {
    for (let i = 0; i < n; i++) yield `w${i}`;
  });
  const gen: ray.ObjectRefGenerator<string> = words.remote(3);
  assert.deepEqual(await collect(gen), ["w0", "w1", "w2"]);
});

test("backpressure: the worker never has more than N yielded items unconsumed", async () => {
  const N = 3;
  const TOTAL = 20;
  // flags[0]: items produced; flags[1]: the consumer's count of items it asked for; flags[2]: violations.
  const flags = await sharedInts();
  const items = watchItems();
  const producer = ray.remote(
    async function* (flags: Int32Array, total: number, limit: number) {
      for (let i = 0; i < total; i++) {
        if (i >= Atomics.load(flags, 1) + limit) Atomics.add(flags, 2, 1);
        Atomics.store(flags, 0, i + 1);
        yield i;
      }
    },
    { generatorBackpressureNumObjects: N },
  );
  try {
    const gen = producer.remote(flags, TOTAL, N);
    // The worker fills its window, then pauses: N items reach the driver.
    await until(flags, 0, N);
    await eventually(() => items.count() >= N, `${N} items in the store`);
    const seen: number[] = [];
    for (let consumed = 0; consumed < TOTAL; consumed++) {
      Atomics.store(flags, 1, consumed + 1);
      const next = await gen.next();
      assert.equal(next.done, false);
      seen.push(await ray.get(next.value));
      assert.ok(items.count() <= consumed + 1 + N, `${items.count()} items stored after ${consumed + 1} consumed`);
      assert.ok(Atomics.load(flags, 0) <= consumed + 1 + N, `${Atomics.load(flags, 0)} produced after ${consumed + 1} consumed`);
    }
    assert.equal((await gen.next()).done, true);
    assert.deepEqual(seen, Array.from({ length: TOTAL }, (_, i) => i));
    assert.equal(Atomics.load(flags, 2), 0, "the generator ran ahead of its window");
  } finally {
    items.stop();
  }
});

test("cancel mid-stream stops the generator and frees the unconsumed items", async () => {
  const flags = await sharedInts();
  const endless = ray.remote(async function* (flags: Int32Array) {
    try {
      for (let i = 0; ; i++) {
        Atomics.store(flags, 0, i + 1);
        yield new Array(100).fill(i);
        if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      Atomics.store(flags, 1, 1); // the generator was stopped, not abandoned
    }
  });
  const before = ray.objectStoreStats().numObjects;
  const items = watchItems();
  try {
    const gen = endless.remote(flags);
    await eventually(() => items.count() >= 50, "50 items in the store");
    assert.ok(ray.objectStoreStats().numObjects >= before + 50);
    ray.cancel(gen);
    await assert.rejects(ray.get(gen.completed()), ray.TaskCancelledError);
    await until(flags, 1, 1);
    // Every item is freed; only the completion object (held by `gen`) is left.
    assert.deepEqual(stored(items.ids), []);
    assert.ok(ray.objectStoreStats().numObjects <= before + 1, `${ray.objectStoreStats().numObjects - before} objects left`);
    assert.equal((await gen.next()).done, true);
  } finally {
    items.stop();
  }
  await assertPoolWhole();
});

test("breaking out of for-await stops the generator in its worker and frees what was not consumed", async () => {
  const flags = await sharedInts();
  const endless = ray.remote(function* (flags: Int32Array) {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      Atomics.store(flags, 1, 1);
    }
  });
  const before = ray.objectStoreStats().numObjects;
  const gen = endless.remote(flags);
  let taken = 0;
  for await (const ref of gen) {
    assert.equal(await ray.get(ref), taken);
    if (++taken === 5) break;
  }
  await until(flags, 1, 1);
  // The task ended when the worker stopped the generator: its result counts the items it yielded.
  assert.ok((await ray.get(gen.completed())) >= 5);
  // The completion object and the five consumed refs (until they are collected) at most.
  assert.ok(ray.objectStoreStats().numObjects <= before + 6, `${ray.objectStoreStats().numObjects - before} objects left`);
});

test("an error at item k: the refs before it, then a ref whose get throws, then the end", async () => {
  const failing = ray.remote(async function* (k: number) {
    for (let i = 0; ; i++) {
      if (i === k) throw new RangeError(`bad item ${i}`);
      yield i * 10;
    }
  });
  const gen = failing.remote(4);
  const values: number[] = [];
  let error: unknown;
  for await (const ref of gen) {
    try {
      values.push(await ray.get(ref));
    } catch (thrown) {
      error = thrown;
    }
  }
  assert.deepEqual(values, [0, 10, 20, 30]);
  assert.ok(error instanceof ray.RayTaskError, String(error));
  assert.match(error.message, /bad item 4/);
  await assert.rejects(ray.get(gen.completed()), ray.RayTaskError);
});

test("a worker crash mid-stream: the task runs again and the caller sees each item once", async () => {
  const flags = await sharedInts();
  const flaky = ray.remote(async function* (flags: Int32Array) {
    const attempt = Atomics.add(flags, 0, 1);
    for (let i = 0; i < 8; i++) {
      if (attempt === 0 && i === 5) {
        // Let the first items reach the driver, then die.
        await new Promise((resolve) => setTimeout(resolve, 1));
        process.exit(1);
      }
      yield i;
    }
  });
  const gen = flaky.remote(flags);
  assert.deepEqual(await collect(gen), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(Atomics.load(flags, 0), 2, "ran twice");
  assert.equal(await ray.get(gen.completed()), 8);
  await assertPoolWhole();
});

test("a crash with no retries left ends the stream with a WorkerCrashedError item", async () => {
  const dies = ray.remote(
    async function* () {
      yield 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      process.exit(1);
    },
    { maxRetries: 0 },
  );
  const gen = dies.remote();
  const first = await gen.next();
  assert.equal(await ray.get(first.value as ray.ObjectRef<number>), 1);
  const second = await gen.next();
  assert.equal(second.done, false);
  await assert.rejects(ray.get(second.value as ray.ObjectRef<unknown>), ray.WorkerCrashedError);
  assert.equal((await gen.next()).done, true);
  await assertPoolWhole();
});

test("a task consumes a generator it started (nested)", async () => {
  const count = ray.remote(async function* (n: number) {
    for (let i = 0; i < n; i++) yield i;
  });
  const sum = ray.remote(async (gen: typeof count, n: number) => {
    let total = 0;
    let items = 0;
    for await (const ref of gen.remote(n)) {
      total += await ray.get(ref);
      items++;
    }
    return [total, items];
  });
  assert.deepEqual(await ray.get(sum.remote(count, 500)), [(499 * 500) / 2, 500]);
});

test("a consumer task that dies closes its stream: the generator stops and its items are freed", async () => {
  const flags = await sharedInts();
  // The producer is an actor method, so it runs on a thread the consumer's death leaves alone.
  class Producer {
    async *endless(flags: Int32Array) {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        Atomics.store(flags, 1, 1);
      }
    }
  }
  const producer = ray.remote(Producer).remote();
  const items = watchItems();
  try {
    const consumer = ray.remote(
      async (producer: ray.ActorHandle<Producer>, flags: Int32Array) => {
        const stream = producer.endless.remote(flags);
        await ray.get((await stream.next()).value as ray.ObjectRef<number>);
        process.exit(1);
      },
      { maxRetries: 0 },
    );
    await assert.rejects(ray.get(consumer.remote(producer, flags)), ray.WorkerCrashedError);
    await until(flags, 1, 1);
    await eventually(() => stored(items.ids).length === 0, "the stream's items to be freed");
  } finally {
    items.stop();
  }
  await assertPoolWhole();
});

test("generator actor methods stream, several at once on an async actor", async () => {
  const Source = ray.remote(
    class Source {
      base = 1000;
      async *ticks(flags: Int32Array, slot: number, n: number) {
        for (let i = 0; i < n; i++) {
          Atomics.add(flags, slot, 1);
          // Each call waits for the other to have started: they interleave.
          while (Atomics.load(flags, 1 - slot) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
          yield this.base + slot * 100 + i;
        }
      }
      *plain(n: number) {
        for (let i = 0; i < n; i++) yield 10 - i;
      }
      pair(x: number): [number, string] {
        return [x, `${x}`];
      }
    },
    { maxConcurrency: 4 },
  );
  const source = Source.remote();
  const flags = await sharedInts();
  const a = source.ticks.remote(flags, 0, 5);
  const b = source.ticks.remote(flags, 1, 5);
  const [fromA, fromB] = await Promise.all([collect(a), collect(b)]);
  assert.deepEqual(fromA, [1000, 1001, 1002, 1003, 1004]);
  assert.deepEqual(fromB, [1100, 1101, 1102, 1103, 1104]);
  assert.deepEqual(await collect(source.plain.remote(3)), [10, 9, 8]);
  const [x, y] = source.pair.options({ numReturns: 2 }).remote(7);
  assert.equal(await ray.get(x), 7);
  assert.equal(await ray.get(y), "7");
  const limited = source.plain.options({ generatorBackpressureNumObjects: 1 }).remote(4);
  assert.deepEqual(await collect(limited), [10, 9, 8, 7]);
});

test("mapPipelined and pipeline take an ObjectRefGenerator as their input", async () => {
  const numbers = ray.remote(async function* (n: number) {
    for (let i = 1; i <= n; i++) yield i;
  });
  const squares: number[] = [];
  for await (const y of ray.mapPipelined((x: number) => x * x, numbers.remote(6), { ordered: true })) squares.push(y);
  assert.deepEqual(squares, [1, 4, 9, 16, 25, 36]);
  const piped: number[] = [];
  for await (const y of ray.pipeline(numbers.remote(4)).map((x: number) => x + 1)) piped.push(y);
  assert.deepEqual(piped.sort((a, b) => a - b), [2, 3, 4, 5]);
});

test("numReturns: \"streaming\" streams a function that returns a generator object", async () => {
  const wrapped = ray.remote(
    (n: number) => {
      function* inner() {
        for (let i = 0; i < n; i++) yield i;
      }
      return inner();
    },
    { numReturns: "streaming" },
  );
  const gen = wrapped.remote(3);
  assert.deepEqual(await collect(gen), [0, 1, 2]);
});

test('numReturns: "streaming" on a function that returns a plain value ends its stream with an error instead of no items', async () => {
  const plain = ray.remote((n: number) => [n, n + 1], { numReturns: "streaming" });
  const zero = ray.remote(() => 0, { numReturns: "streaming" });
  const items: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const ref of plain.remote(3) as unknown as ray.ObjectRefGenerator<unknown>) items.push(await ray.get(ref));
    })(),
    (error: unknown) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /was called with numReturns: "streaming" but returned a value instead of a generator/);
      return true;
    },
  );
  assert.deepEqual(items, []);
  // An empty generator ends with 0 items: a function returning 0 is indistinguishable from it and streams nothing.
  assert.deepEqual(await collect(zero.remote() as unknown as ray.ObjectRefGenerator<number>), []);
});

test("a plain function returning a generator fails, saying how to stream it", async () => {
  const plain = ray.remote((n: number) => {
    function* inner() {
      for (let i = 0; i < n; i++) yield i;
    }
    return inner() as unknown as number;
  });
  await assert.rejects(ray.get(plain.remote(3)), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.match(error.message, /returned a generator, but its caller did not ask for a stream/);
    return true;
  });
});

test("a generator function called with numReturns: N fails with an error that says why (its items do not fill N refs)", async () => {
  const pairs = ray.remote(function* () {
    yield 1;
    yield 2;
  });
  const refs = pairs.options({ numReturns: 2 }).remote() as unknown as ray.ObjectRef<number>[];
  await assert.rejects(ray.get(refs), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.match(error.message, /returned a generator, but its caller did not ask for a stream: its items cannot fill one ref nor numReturns: N refs/);
    assert.match(error.message, /numReturns: "streaming"/);
    // It is a generator function already: the advice is to leave numReturns unset, not to declare it as one.
    assert.match(error.message, /leave numReturns unset on a generator function/);
    assert.doesNotMatch(error.message, /declare it as a generator function/);
    return true;
  });
});

test("generatorBackpressureNumObjects is checked", () => {
  const gen = ray.remote(function* () {
    yield 1;
  });
  assert.throws(() => gen.options({ generatorBackpressureNumObjects: 0 }), /Expected `generatorBackpressureNumObjects` to be an integer from 1 and up, got 0/);
  assert.throws(() => gen.options({ generatorBackpressureNumObjects: 1.5 }), /generatorBackpressureNumObjects/);
});
