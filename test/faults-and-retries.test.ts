/**
 * Faults: a task whose worker dies is retried up to `maxRetries` on a fresh
 * worker, then rejects with WorkerCrashedError; the pool heals to its size.
 * An exception rejects `get` with RayTaskError (retried only with
 * `retryExceptions`).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { assertPoolWhole, sharedInts } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Counts its attempts in flags[0]; exits its worker thread. */
const exits = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 0, 1);
  process.exit(1);
});

test("a task that kills its worker is retried maxRetries times, then rejects with WorkerCrashedError", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const ref = exits.options({ maxRetries: 2 }).remote(flags);
  await assert.rejects(ray.get(ref, { timeout: 60_000 }), (error: unknown) => {
    assert.ok(error instanceof ray.WorkerCrashedError, `expected WorkerCrashedError, got ${String(error)}`);
    assert.ok(error instanceof ray.RayError);
    assert.equal(error.code, "WORKER_CRASHED");
    return true;
  });
  assert.equal(Atomics.load(flags, 0), 3, "one attempt and two retries");
  await assertPoolWhole();
});

test("maxRetries: 0 means a single attempt", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  await assert.rejects(ray.get(exits.options({ maxRetries: 0 }).remote(flags), { timeout: 60_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 1);
  await assertPoolWhole();
});

test("by default a crashing task is retried 3 times (Ray's default)", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  await assert.rejects(ray.get(exits.remote(flags), { timeout: 60_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 4);
  await assertPoolWhole();
});

test("an uncaught error outside the task's promise crashes the worker and is retried", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const throwsLater = ray.remote(async (f: Int32Array) => {
    Atomics.add(f, 0, 1);
    setTimeout(() => {
      throw new Error("thrown outside the task");
    }, 0);
    // Never settles: only the crash ends this attempt.
    await new Promise(() => undefined);
  });
  await assert.rejects(ray.get(throwsLater.options({ maxRetries: 1 }).remote(flags), { timeout: 60_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 2);
  await assertPoolWhole();
});

test("an unhandled rejection outside the task's promise crashes the worker too", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const rejectsLater = ray.remote(async (f: Int32Array) => {
    Atomics.add(f, 0, 1);
    void Promise.reject(new Error("unhandled"));
    await new Promise(() => undefined);
  });
  await assert.rejects(ray.get(rejectsLater.options({ maxRetries: 1 }).remote(flags), { timeout: 60_000 }), ray.WorkerCrashedError);
  assert.equal(Atomics.load(flags, 0), 2);
  await assertPoolWhole();
});

test("a task that crashes only on its first attempt succeeds on retry", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const flaky = ray.remote((f: Int32Array, x: number) => {
    if (Atomics.add(f, 0, 1) === 0) process.exit(1);
    return x * 2;
  });
  assert.equal(await ray.get(flaky.options({ maxRetries: 1 }).remote(flags, 21), { timeout: 60_000 }), 42);
  assert.equal(Atomics.load(flags, 0), 2);
  await assertPoolWhole();
});

test("tasks queued behind a crashing task still run", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const square = ray.remote((x: number) => x * x);
  const crash = exits.options({ maxRetries: 0 }).remote(flags);
  const others = Array.from({ length: 10 }, (_, i) => square.remote(i));
  await assert.rejects(ray.get(crash, { timeout: 60_000 }), ray.WorkerCrashedError);
  assert.deepEqual(await ray.get(others, { timeout: 60_000 }), Array.from({ length: 10 }, (_, i) => i * i));
});

class CustomError extends Error {
  override name = "CustomError";
}

test("an exception rejects get with RayTaskError carrying the remote name, message, stack and cause", async () => {
  const thrower = ray.remote(function thrower(message: string) {
    throw new TypeError(message);
  });
  await assert.rejects(ray.get(thrower.remote("bad things")), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, `expected RayTaskError, got ${String(error)}`);
    assert.ok(error instanceof ray.RayError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, "RAY_TASK_ERROR");
    assert.equal(error.name, "RayTaskError");
    assert.equal(error.taskName, "thrower");
    assert.match(error.message, /bad things/);
    assert.match(error.message, /thrower/);
    assert.ok(error.cause instanceof TypeError, "cause is the original TypeError");
    assert.equal(error.cause.message, "bad things");
    assert.match(error.stack ?? "", /thrower/);
    assert.match(error.stack ?? "", /bad things/);
    return true;
  });
  // A custom error class keeps its name in the cause.
  const custom = ray.remote(() => {
    const e = new Error("custom");
    e.name = "CustomError";
    throw e;
  });
  await assert.rejects(ray.get(custom.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError);
    assert.equal((error.cause as Error).name, new CustomError().name);
    return true;
  });
  // Throwing a non-Error value still gives a RayTaskError.
  const throwsString = ray.remote(() => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test throws a non-Error on purpose
    throw "plain string";
  });
  await assert.rejects(ray.get(throwsString.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError);
    assert.match(error.message, /plain string/);
    return true;
  });
});

test("exceptions are not retried by default, even with maxRetries", async () => {
  const flags = await sharedInts();
  const fails = ray.remote((f: Int32Array) => {
    Atomics.add(f, 0, 1);
    throw new Error("app error");
  });
  await assert.rejects(ray.get(fails.options({ maxRetries: 3 }).remote(flags)), ray.RayTaskError);
  assert.equal(Atomics.load(flags, 0), 1);
});

test("retryExceptions: true retries an exception up to maxRetries", async () => {
  const flags = await sharedInts();
  const fails = ray.remote((f: Int32Array) => {
    Atomics.add(f, 0, 1);
    throw new Error("app error");
  });
  await assert.rejects(ray.get(fails.options({ maxRetries: 2, retryExceptions: true }).remote(flags)), ray.RayTaskError);
  assert.equal(Atomics.load(flags, 0), 3);

  const flaky = ray.remote((f: Int32Array) => {
    if (Atomics.add(f, 1, 1) < 2) throw new Error("not yet");
    return "ok";
  });
  assert.equal(await ray.get(flaky.options({ maxRetries: 2, retryExceptions: true }).remote(flags)), "ok");
  assert.equal(Atomics.load(flags, 1), 3);
});

test("the pool has all its workers after the faults", async () => {
  await assertPoolWhole();
  assert.equal(ray.clusterResources().CPU, 2);
});
