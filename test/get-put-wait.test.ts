/** `put` (synchronous, immutable copies), `get`, and `wait` with its argument checks. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { release, sharedInts } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const held = ray.remote((flags: Int32Array, value: number) => {
  Atomics.wait(flags, 0, 0, 10_000);
  return value;
});

test("put is synchronous: it returns an ObjectRef, not a promise", async () => {
  const ref = ray.put({ x: 1 });
  assert.ok(ref instanceof ray.ObjectRef);
  assert.equal(typeof (ref as unknown as { then?: unknown }).then, "undefined");
  const [ready] = await ray.wait([ref], { timeout: 0 });
  assert.deepEqual(ready, [ref], "a put object is ready at once");
  assert.deepEqual(await ray.get(ref), { x: 1 });
});

test("put round-trips plain values", async () => {
  const values: unknown[] = [
    0,
    -1.5,
    "text",
    "",
    true,
    null,
    undefined,
    12345678901234567890n,
    [1, "two", { three: 3 }],
    { nested: { deep: [new Date(0)] } },
    new Map([["k", 1]]),
    new Set([1, 2]),
    "x".repeat(200_000),
  ];
  for (const value of values) assert.deepEqual(await ray.get(ray.put(value)), value);
});

test("objects are immutable once stored: mutating the original after put changes nothing", async () => {
  const original = { list: [1, 2, 3], name: "a" };
  const ref = ray.put(original);
  original.list.push(4);
  original.name = "b";
  assert.deepEqual(await ray.get(ref), { list: [1, 2, 3], name: "a" });

  const array = new Float64Array([1, 2, 3]);
  const arrayRef = ray.put(array);
  array[0] = 99;
  assert.deepEqual(Array.from(await ray.get(arrayRef)), [1, 2, 3]);

  const buffer = new ArrayBuffer(4);
  new Uint8Array(buffer).set([1, 2, 3, 4]);
  const bufferRef = ray.put(buffer);
  new Uint8Array(buffer)[0] = 200;
  assert.deepEqual(Array.from(new Uint8Array(await ray.get(bufferRef))), [1, 2, 3, 4]);
});

test("a value passed by value to a task is copied at submit time", async () => {
  const flags = await sharedInts();
  const echoAfter = ray.remote((f: Int32Array, v: { n: number }) => {
    Atomics.wait(f, 0, 0, 10_000);
    return v.n;
  });
  const value = { n: 1 };
  const ref = echoAfter.remote(flags, value);
  value.n = 2;
  release(flags);
  assert.equal(await ray.get(ref), 1);
});

test("wait returns [[], []] for an empty list", async () => {
  assert.deepEqual(await ray.wait([]), [[], []]);
});

test("wait keeps the input order inside ready and notReady", async () => {
  const flags = await sharedInts();
  const p0 = held.remote(flags, 0);
  const a = ray.put("a");
  const p1 = held.remote(flags, 1);
  const b = ray.put("b");
  const c = ray.put("c");
  // Refs of different types need no type argument: ready holds ObjectRef<number | string>.
  const [ready, notReady] = await ray.wait([p0, c, a, p1, b], { numReturns: 3, timeout: 60_000 });
  const mixed: ray.ObjectRef<number | string>[] = ready;
  assert.deepEqual(mixed, [c, a, b]);
  assert.deepEqual(notReady, [p0, p1]);
  release(flags);
  const [all, none] = await ray.wait([p1, c, p0], { numReturns: 3 });
  assert.deepEqual(all, [p1, c, p0]);
  assert.deepEqual(none, []);
});

test("wait with numReturns returns exactly that many ready refs", async () => {
  const refs = [ray.put(1), ray.put(2), ray.put(3)];
  const [ready, notReady] = await ray.wait(refs, { numReturns: 2 });
  assert.deepEqual(ready, refs.slice(0, 2));
  assert.deepEqual(notReady, refs.slice(2));
  const [one] = await ray.wait(refs);
  assert.equal(one.length, 1);
});

test("wait with a timeout returns what is ready so far", async () => {
  const flags = await sharedInts();
  const pending = held.remote(flags, 9);
  const done = ray.put(1);
  const [ready, notReady] = await ray.wait([pending, done], { numReturns: 2, timeout: 30 });
  assert.deepEqual(ready, [done]);
  assert.deepEqual(notReady, [pending]);
  const [none, all] = await ray.wait([pending], { timeout: 0 });
  assert.deepEqual(none, []);
  assert.deepEqual(all, [pending]);
  release(flags);
  assert.equal(await ray.get(pending), 9);
});

test("wait counts a failed task as ready", async () => {
  const fail = ray.remote(() => {
    throw new Error("x");
  });
  const ref = fail.remote();
  const [ready] = await ray.wait([ref], { timeout: 60_000 });
  assert.deepEqual(ready, [ref]);
  await assert.rejects(ray.get(ref), ray.RayTaskError);
});

test("wait validates numReturns, with a message naming it", async () => {
  const refs = [ray.put(1), ray.put(2)];
  for (const numReturns of [0, 3, 1.5, -1, Number.NaN]) {
    await assert.rejects(ray.wait(refs, { numReturns }), (error: unknown) => {
      assert.ok(error instanceof RangeError || error instanceof TypeError, String(error));
      assert.match(error.message, /numReturns/);
      return true;
    });
  }
  await assert.rejects(ray.wait(refs, { numReturns: "1" as unknown as number }), /numReturns/);
});

test("wait refuses duplicate refs; get gives the value at each place, as Ray's get does", async () => {
  const ref = ray.put(1);
  await assert.rejects(ray.wait([ref, ref]), (error: unknown) => error instanceof Error && /distinct|duplicate|twice/i.test(error.message));
  const other = ray.put({ two: 2 });
  const pending = ray.remote((x: number) => x * 10).remote(3);
  const values = await ray.get([ref, pending, ref, other, pending, other]);
  assert.deepEqual(values, [1, 30, 1, { two: 2 }, 30, { two: 2 }]);
  const failing = ray.remote(() => {
    throw new Error("twice failed");
  }).remote();
  await assert.rejects(ray.get([failing, ref, failing]), /twice failed/);
  assert.equal(await ray.get(ref), 1);
});

test("wait and get refuse non-refs", async () => {
  const bad = [1, "ref", null, undefined, { id: 1 }, [ray.put(1), 2]];
  for (const value of bad) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a label for the odd value under test
    await assert.rejects(ray.get(value as unknown as ray.ObjectRef<unknown>), TypeError, `get(${String(value)})`);
  }
  await assert.rejects(ray.wait("nope" as unknown as ray.ObjectRef<unknown>[]), TypeError);
  await assert.rejects(ray.wait([ray.put(1), 5 as unknown as ray.ObjectRef<number>]), TypeError);
  await assert.rejects(ray.get(ray.put(1), { timeout: -5 }), /timeout/);
  await assert.rejects(ray.wait([ray.put(1)], { timeout: -5 }), /timeout/);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(4)), 16);
});
