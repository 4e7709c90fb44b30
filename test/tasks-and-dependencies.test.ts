/**
 * Remote functions: `.remote()` returns a ref at once, `get` of one or many,
 * options, async tasks, and task dependencies (top-level refs resolved,
 * nested refs kept).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { held, release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

test(".remote() returns an ObjectRef at once, before the task has run", async () => {
  const flags = await sharedInts();
  const ref = held.remote(flags, 7);
  assert.ok(ref instanceof ray.ObjectRef);
  assert.ok(ray.isObjectRef(ref));
  assert.equal(typeof (ref as unknown as { then?: unknown }).then, "undefined");
  const [ready] = await ray.wait([ref], { timeout: 0 });
  assert.deepEqual(ready, []);
  release(flags);
  assert.equal(await ray.get(ref), 7);
});

test("get of one ref gives its value; get of an array gives the values in order", async () => {
  const echo = ray.remote((x: unknown) => x);
  assert.deepEqual(await ray.get(echo.remote({ a: [1, 2], b: "x" })), { a: [1, 2], b: "x" });
  const refs = Array.from({ length: 20 }, (_, i) => echo.remote(i));
  assert.deepEqual(await ray.get(refs), Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(await ray.get([]), []);
});

test("get with a timeout rejects with GetTimeoutError while the task runs; the value comes later", async () => {
  const flags = await sharedInts();
  const ref = held.remote(flags, 5);
  await assert.rejects(ray.get(ref, { timeout: 30 }), (error: unknown) => {
    assert.ok(error instanceof ray.GetTimeoutError);
    assert.ok(error instanceof ray.RayError);
    assert.equal(error.code, "GET_TIMEOUT");
    return true;
  });
  await assert.rejects(ray.get([ref], { timeout: 0 }), ray.GetTimeoutError);
  release(flags);
  assert.equal(await ray.get(ref, { timeout: 60_000 }), 5);
});

test("async tasks are awaited: the ref holds the resolved value", async () => {
  const later = ray.remote(async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return x + 1;
  });
  assert.equal(await ray.get(later.remote(41)), 42);
  const rejecting = ray.remote(async () => {
    await Promise.resolve();
    throw new Error("async boom");
  });
  await assert.rejects(ray.get(rejecting.remote()), /async boom/);
});

test(".options({ name }) names the task in errors", async () => {
  const fail = ray.remote(() => {
    throw new Error("named failure");
  });
  await assert.rejects(ray.get(fail.options({ name: "customName" }).remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError);
    assert.equal(error.taskName, "customName");
    return true;
  });
});

test(".options() validates: numCpus, maxRetries, retryExceptions, name, unknown keys", () => {
  const f = ray.remote((x: number) => x);
  assert.throws(() => f.options({ numCpus: -1 }), (e: unknown) => e instanceof RangeError && /numCpus/.test(e.message));
  assert.throws(() => f.options({ numCpus: 1.5 }), (e: unknown) => e instanceof RangeError && /numCpus/.test(e.message));
  assert.throws(() => f.options({ maxRetries: -2 }), /maxRetries/);
  assert.throws(() => f.options({ retryExceptions: "yes" as unknown as boolean }), /retryExceptions/);
  assert.throws(() => f.options({ name: "" }), /name/);
  assert.throws(() => f.options({ nope: 1 } as unknown as ray.TaskOptions), /nope/);
  // options() returns a new handle and leaves the original alone.
  const g = f.options({ name: "g" });
  assert.notEqual(g, f);
  assert.equal(f.name !== "g", true);
});

test("a numCpus: 2 task holds both slots while it runs", async () => {
  assert.equal(ray.clusterResources().CPU, 2);
  assert.equal(ray.availableResources().CPU, 2);
  const flags = await sharedInts();
  const ref = held.options({ numCpus: 2 }).remote(flags, 1);
  await until(flags, 1, 1);
  assert.equal(ray.availableResources().CPU, 0);
  release(flags);
  assert.equal(await ray.get(ref), 1);
  assert.equal(ray.availableResources().CPU, 2);
});

test("a numCpus: 2 task does not run beside a one-CPU task", async () => {
  // While a one-CPU task holds a slot, the two-CPU task must wait for it.
  const flags = await sharedInts();
  const first = held.remote(flags, 1);
  await until(flags, 1, 1);
  const probe = ray.remote((f: Int32Array) => Atomics.load(f, 0));
  const big = probe.options({ numCpus: 2 }).remote(flags);
  // Placement happens at the end of the tick: one macrotask later the scheduler has decided.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ray.availableResources().CPU, 1, "the two-CPU task was placed while a slot was taken");
  release(flags);
  assert.equal(await ray.get(first), 1);
  assert.equal(await ray.get(big), 1);
});

test("a task asking for more CPUs than the runtime has is refused", async () => {
  const f = ray.remote(() => 1);
  let failed = false;
  try {
    await ray.get(f.options({ numCpus: 3 }).remote());
  } catch (error) {
    failed = true;
    assert.match(String(error), /numCpus|CPUs/);
  }
  assert.ok(failed);
  assert.equal(await ray.get(f.remote()), 1);
});

test("a top-level ObjectRef argument is resolved to its value before the task runs", async () => {
  const add = ray.remote((a: number, b: number) => a + b);
  const fromPut = ray.put(10);
  const fromTask = add.remote(1, 2);
  assert.equal(await ray.get(add.remote(fromPut, fromTask)), 13);
  // A chain of dependencies.
  let ref = add.remote(0, 1);
  for (let i = 0; i < 10; i++) ref = add.remote(ref, 1);
  assert.equal(await ray.get(ref), 11);
});

test("a dependent task waits for its input without occupying a worker", async () => {
  const flags = await sharedInts();
  const slow = held.remote(flags, 3);
  const add = ray.remote((a: number, b: number) => a + b);
  const dependent = add.remote(slow, 1);
  // With slow on one worker and dependent parked in the driver, the other worker is free.
  assert.equal(await ray.get(add.remote(2, 2)), 4);
  release(flags);
  assert.equal(await ray.get(dependent), 4);
});

test("a failed dependency fails the dependent task with the dependency's error", async () => {
  const fail = ray.remote(() => {
    throw new Error("upstream broke");
  });
  const add = ray.remote((a: number, b: number) => a + b);
  await assert.rejects(ray.get(add.remote(fail.remote() as unknown as ray.ObjectRef<number>, 1)), /upstream broke/);
});

test("refs nested in containers stay refs; the task can get them", async () => {
  const inspect = ray.remote(async (box: { inner: ray.ObjectRef<number> }, list: ray.ObjectRef<number>[]) => {
    const isRef = typeof box.inner === "object" && box.inner !== null && list.every((r) => typeof r === "object");
    const values = await ray.get([box.inner, ...list]);
    return { isRef, values };
  });
  const a = ray.put(1);
  const square = ray.remote((x: number) => x * x);
  const b = square.remote(3);
  const result = await ray.get(inspect.remote({ inner: a }, [b]));
  assert.deepEqual(result, { isRef: true, values: [1, 9] });
});

test("inside a task the API is available by name: get, put, wait", async () => {
  const viaNames = ray.remote(async (x: number) => {
    const ref = put(x * 2);
    const [ready] = await wait([ref]);
    return (await get(ready[0] as typeof ref)) + 1;
  });
  assert.equal(await ray.get(viaNames.remote(20)), 41);
});

test("inside a task, get and wait with a timeout work, and `ray` is the whole public API", async () => {
  const flags = await sharedInts();
  const slow = held.remote(flags, 1);
  const inner = ray.remote(async (box: { ref: ray.ObjectRef<number> }) => {
    const [ready, notReady] = await ray.wait([box.ref], { timeout: 10 });
    let timedOut = "no";
    try {
      await ray.get(box.ref, { timeout: 10 });
    } catch (error) {
      timedOut = (error as Error).name;
    }
    return {
      waited: [ready.length, notReady.length],
      timedOut,
      exports: ["GetTimeoutError", "RayError", "RayTaskError", "ObjectRef", "isObjectRef", "init", "availableResources"].filter(
        (name) => (ray as unknown as Record<string, unknown>)[name] === undefined,
      ),
    };
  });
  const result = await ray.get(inner.remote({ ref: slow }));
  release(flags);
  await ray.get(slow);
  assert.deepEqual(result.waited, [0, 1]);
  assert.equal(result.timedOut, "GetTimeoutError");
  assert.deepEqual(result.exports, [], "names of the public API missing from `ray` inside a task");
});

test("inside a task, instanceof ray.GetTimeoutError works", async () => {
  const flags = await sharedInts();
  const slow = held.remote(flags, 1);
  const inner = ray.remote(async (box: { ref: ray.ObjectRef<number> }) => {
    try {
      await ray.get(box.ref, { timeout: 10 });
      return "no timeout";
    } catch (error) {
      return error instanceof ray.GetTimeoutError ? "GetTimeoutError" : `other: ${String(error)}`;
    }
  });
  const result = await ray.get(inner.remote({ ref: slow }));
  release(flags);
  await ray.get(slow);
  assert.equal(result, "GetTimeoutError");
});

declare function get<T>(ref: ray.ObjectRef<T>): Promise<T>;
declare function put<T>(value: T): ray.ObjectRef<T>;
declare function wait<T>(refs: ray.ObjectRef<T>[]): Promise<[ray.ObjectRef<T>[], ray.ObjectRef<T>[]]>;
