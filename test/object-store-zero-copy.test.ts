/**
 * Binary values (typed arrays, ArrayBuffers, Arrow Tables, RecordBatches and
 * Vectors) live in SharedArrayBuffer memory and reach workers without a copy.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { makeTable, RecordBatch, Table, tableFromArrays, vectorFromArray, type Vector } from "apache-arrow";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const echo = ray.remote((x: unknown) => x);

test("typed arrays of every kind round-trip through put/get and as task arguments", async () => {
  const values = [
    new Int8Array([-1, 2]),
    new Uint8Array([1, 255]),
    new Uint8ClampedArray([0, 255]),
    new Int16Array([-300, 300]),
    new Uint16Array([65535]),
    new Int32Array([-5, 5]),
    new Uint32Array([4294967295]),
    new Float32Array([1.5, -2.5]),
    new Float64Array([Math.PI, -Math.E]),
    new BigInt64Array([-1n, 2n ** 62n]),
    new BigUint64Array([2n ** 64n - 1n]),
  ];
  for (const value of values) {
    const fromPut = await ray.get(ray.put(value));
    assert.equal(fromPut.constructor, value.constructor);
    assert.deepEqual(Array.from(fromPut as ArrayLike<unknown>), Array.from(value as ArrayLike<unknown>));
    const fromTask = await ray.get(echo.remote(value));
    assert.equal((fromTask as object).constructor, value.constructor);
    assert.deepEqual(Array.from(fromTask as ArrayLike<unknown>), Array.from(value as ArrayLike<unknown>));
  }
});

test("a subarray view round-trips with its own offset and length", async () => {
  const base = new Float64Array([0, 1, 2, 3, 4, 5]);
  const view = base.subarray(2, 5);
  assert.deepEqual(Array.from(await ray.get(ray.put(view))), [2, 3, 4]);
  assert.deepEqual(Array.from((await ray.get(echo.remote(view))) as Float64Array), [2, 3, 4]);
  const sum = ray.remote((a: Float64Array) => a.reduce((x, y) => x + y, 0));
  assert.equal(await ray.get(sum.remote(view)), 9);
});

test("ArrayBuffers round-trip through put/get and as task arguments", async () => {
  const buffer = new ArrayBuffer(16);
  new Uint8Array(buffer).set([1, 2, 3, 4, 5]);
  const fromPut = await ray.get(ray.put(buffer));
  assert.deepEqual(Array.from(new Uint8Array(fromPut)), Array.from(new Uint8Array(buffer)));
  const bytes = ray.remote((b: ArrayBuffer) => Array.from(new Uint8Array(b)).slice(0, 5));
  assert.deepEqual(await ray.get(bytes.remote(buffer)), [1, 2, 3, 4, 5]);
  assert.deepEqual(await ray.get(bytes.remote(ray.put(buffer))), [1, 2, 3, 4, 5]);
});

test("the store keeps binary data in shared memory, and the worker's view is the driver's memory", async () => {
  const data = new Float64Array(1024).fill(1);
  const ref = ray.put(data);
  const driverView = await ray.get(ref);
  assert.ok(driverView.buffer instanceof SharedArrayBuffer, "the driver's view is on a SharedArrayBuffer");
  const scribble = ray.remote((array: Float64Array) => {
    const shared = array.buffer instanceof SharedArrayBuffer;
    // Deliberately breaks immutability to show that the memory is shared.
    array[0] = 42;
    array[1023] = -7;
    return shared;
  });
  assert.equal(await ray.get(scribble.remote(ref)), true, "the worker sees a SharedArrayBuffer");
  assert.equal(driverView[0], 42, "the worker's write is visible in the driver's view");
  assert.equal(driverView[1023], -7);
  const again = await ray.get(ref);
  assert.equal(again[0], 42);
});

test("a large array reaches the worker without a copy, whatever its size", async () => {
  const big = new Uint8Array(32 * 1024 * 1024); // 32 MiB
  const ref = ray.put(big);
  const driverView = await ray.get(ref);
  const touch = ray.remote((array: Uint8Array) => {
    array[array.length - 1] = 9;
    return array.buffer instanceof SharedArrayBuffer && array.byteLength;
  });
  assert.equal(await ray.get(touch.remote(ref)), 32 * 1024 * 1024);
  assert.equal(driverView[driverView.length - 1], 9);
});

test("a task's binary result is shared memory too: the driver sees the worker's later writes", async () => {
  const make = ray.remote(() => new Int32Array(8));
  const ref = make.remote();
  const driverView = await ray.get(ref);
  assert.ok(driverView.buffer instanceof SharedArrayBuffer);
  const write = ray.remote((array: Int32Array) => {
    Atomics.store(array, 3, 33);
    return array.buffer instanceof SharedArrayBuffer;
  });
  assert.equal(await ray.get(write.remote(ref)), true);
  assert.equal(driverView[3], 33);
});

test("Arrow Tables round-trip through put/get and as task arguments", async () => {
  const table = tableFromArrays({ id: Int32Array.from([1, 2, 3]), score: Float64Array.from([0.5, 1.5, 2.5]) });
  const fromPut = await ray.get(ray.put(table));
  assert.ok(fromPut instanceof Table);
  assert.equal(fromPut.numRows, 3);
  assert.deepEqual(fromPut.toArray().map((row: { toJSON(): unknown }) => row.toJSON()), table.toArray().map((row: { toJSON(): unknown }) => row.toJSON()));
  const sumScores = ray.remote((t: Table) => {
    const column = t.getChild("score");
    let sum = 0;
    for (const value of column ?? []) sum += value as number;
    return { rows: t.numRows, sum, isTable: t.constructor.name === "Table" };
  });
  assert.deepEqual(await ray.get(sumScores.remote(table)), { rows: 3, sum: 4.5, isTable: true });
  assert.deepEqual(await ray.get(sumScores.remote(ray.put(table))), { rows: 3, sum: 4.5, isTable: true });
  const returned = await ray.get(echo.remote(table));
  assert.ok(returned instanceof Table);
  assert.equal(returned.numRows, 3);
});

test("Arrow RecordBatches and Vectors round-trip", async () => {
  const table = makeTable({ a: Int32Array.from([7, 8, 9]) });
  const batch = table.batches[0] as RecordBatch;
  const batchBack = await ray.get(ray.put(batch));
  assert.ok(batchBack instanceof RecordBatch);
  assert.deepEqual(Array.from((batchBack.getChild("a")?.toArray() ?? []) as ArrayLike<number>), [7, 8, 9]);
  const batchFromTask = (await ray.get(echo.remote(batch))) as RecordBatch;
  assert.ok(batchFromTask instanceof RecordBatch);
  assert.equal(batchFromTask.numRows, 3);

  const vector = vectorFromArray([1.25, 2.5, 3.75]);
  const vectorBack = await ray.get(ray.put(vector));
  assert.equal(vectorBack.constructor.name, "Vector");
  assert.deepEqual(Array.from(vectorBack.toArray()), [1.25, 2.5, 3.75]);
  const total = ray.remote((v: Vector) => {
    let s = 0;
    for (const x of v) s += x as number;
    return s;
  });
  assert.equal(await ray.get(total.remote(vector)), 7.5);
});

test("an Arrow table's buffers reach the worker in shared memory", async () => {
  const table = tableFromArrays({ v: Float64Array.from([1, 2, 3, 4]) });
  const probe = ray.remote((t: Table) => {
    const data = t.getChild("v")?.data[0]?.values as Float64Array | undefined;
    return data !== undefined && data.buffer instanceof SharedArrayBuffer;
  });
  assert.equal(await ray.get(probe.remote(ray.put(table))), true);
});

test("binary values nested in plain objects still round-trip", async () => {
  const value = { name: "x", data: new Float64Array([1, 2]), raw: new Uint8Array([3]).buffer };
  const back = (await ray.get(echo.remote(value))) as typeof value;
  assert.equal(back.name, "x");
  assert.deepEqual(Array.from(back.data), [1, 2]);
  assert.deepEqual(Array.from(new Uint8Array(back.raw)), [3]);
});
