/**
 * Bad input gets a clear error at the boundary, and the runtime keeps
 * working: after each mistake the next task succeeds.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const square = ray.remote((x: number) => x * x);

async function nextTaskSucceeds(): Promise<void> {
  assert.deepEqual(await ray.get([square.remote(3), square.remote(4)]), [9, 16]);
}

test("every error class is exported, extends RayError and has a stable code", () => {
  const cases: [new (message: string) => ray.RayError, string][] = [
    [ray.RayError, "RAY_ERROR"],
    [ray.GetTimeoutError, "GET_TIMEOUT"],
    [ray.TaskCancelledError, "TASK_CANCELLED"],
    [ray.WorkerCrashedError, "WORKER_CRASHED"],
    [ray.ActorDiedError, "ACTOR_DIED"],
    [ray.ObjectStoreFullError, "OBJECT_STORE_FULL"],
    [ray.OutOfMemoryError, "OUT_OF_MEMORY"],
    [ray.SerializationError, "SERIALIZATION_ERROR"],
  ];
  for (const [Ctor, code] of cases) {
    const error = new Ctor("m");
    assert.ok(error instanceof ray.RayError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(error.name, Ctor.name);
  }
  const taskError = new ray.RayTaskError("t", "m", { cause: new Error("c") });
  assert.equal(taskError.code, "RAY_TASK_ERROR");
  assert.ok(taskError instanceof ray.RayError);
});

test("remote() of a non-function is a TypeError", async () => {
  for (const value of [42, "fn", null, undefined, {}, [], Symbol("s")]) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a label for the odd value under test
    assert.throws(() => ray.remote(value as () => void), TypeError, `remote(${String(value)})`);
  }
  assert.throws(() => ray.remote(42 as unknown as () => void), /function or a class/);
  await nextTaskSucceeds();
});

test("remote() of a native or bound function is a TypeError that says how to fix it", async () => {
  assert.throws(() => ray.remote(Math.max), (e: unknown) => e instanceof TypeError && /wrap/.test(e.message));
  assert.throws(() => ray.remote(((x: number) => x).bind(null)), TypeError);
  await nextTaskSucceeds();
});

test("an argument that is a function is a SerializationError at submit time, naming the argument", async () => {
  const f = ray.remote((a: number, b: unknown) => [a, b]);
  assert.throws(
    () => f.remote(1, () => 2),
    (error: unknown) => {
      assert.ok(error instanceof ray.SerializationError, String(error));
      assert.equal(error.code, "SERIALIZATION_ERROR");
      assert.match(error.message, /argument 1/);
      assert.match(error.message, /function/);
      return true;
    },
  );
  await nextTaskSucceeds();
});

test("an argument that is a symbol is a SerializationError naming the argument", async () => {
  const f = ray.remote((a: unknown) => a);
  assert.throws(
    () => f.remote(Symbol("nope")),
    (error: unknown) => error instanceof ray.SerializationError && /argument 0/.test(error.message) && /symbol/i.test(error.message),
  );
  await nextTaskSucceeds();
});

test("an argument the codec refuses (a function deep inside an object, a WeakMap) is a SerializationError", async () => {
  const f = ray.remote((a: unknown, b: unknown) => [a, b]);
  assert.throws(
    () => f.remote(1, { nested: { fn: () => 1 } }),
    (error: unknown) => error instanceof ray.SerializationError && /argument 1/.test(error.message),
  );
  assert.throws(
    () => f.remote(new WeakMap(), 1),
    (error: unknown) => error instanceof ray.SerializationError && /argument 0/.test(error.message),
  );
  assert.throws(() => ray.put(() => 1), ray.SerializationError);
  assert.throws(() => ray.put({ s: Symbol("x") }), ray.SerializationError);
  await nextTaskSucceeds();
});

test("an actor call with an unsendable argument is a SerializationError at submit time", async () => {
  const Box = ray.remote(
    class Box {
      value: unknown;
      set(v: unknown): void {
        this.value = v;
      }
      get(): unknown {
        return this.value;
      }
    },
  );
  const box = Box.remote();
  assert.throws(() => box.set.remote(() => 1), (error: unknown) => error instanceof ray.SerializationError && /argument 0/.test(error.message));
  await ray.get(box.set.remote(5));
  assert.equal(await ray.get(box.get.remote()), 5);
  ray.kill(box);
  await nextTaskSucceeds();
});

test("a task returning an unsendable value fails with SerializationError", async () => {
  const returnsFn = ray.remote(() => () => 1);
  await assert.rejects(ray.get(returnsFn.remote()), (error: unknown) => error instanceof ray.SerializationError && /return value/.test(error.message));
  await nextTaskSucceeds();
});

test("a task touching a name missing in the worker: the error names it and mentions raycompile", async () => {
  const helper = (x: number): number => x + 1;
  const usesHelper = ray.remote((x: number) => helper(x));
  await assert.rejects(ray.get(usesHelper.remote(1)), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.match(error.message, /helper/);
    assert.match(error.message, /raycompile/);
    assert.match(error.message, /argument/);
    assert.ok(error.cause instanceof ReferenceError);
    return true;
  });
  await nextTaskSucceeds();
});

test("an async task touching a missing name after an await gets the same explanation", async () => {
  const missingLater = ray.remote(async () => {
    await Promise.resolve();
    return (globalThis as unknown as { nope: number }).nope + notDefinedAnywhere;
  });
  await assert.rejects(ray.get(missingLater.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.match(error.message, /notDefinedAnywhere/);
    assert.match(error.message, /raycompile/);
    return true;
  });
  await nextTaskSucceeds();
});

test("an actor method touching a missing name gets the same explanation", async () => {
  const Uses = ray.remote(
    class Uses {
      run(): number {
        return notDefinedAnywhere;
      }
    },
  );
  const actor = Uses.remote();
  await assert.rejects(ray.get(actor.run.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.match(error.message, /notDefinedAnywhere/);
    assert.match(error.message, /raycompile/);
    return true;
  });
  ray.kill(actor);
  await nextTaskSucceeds();
});

test("get and wait of non-refs or duplicates fail clearly, then the runtime keeps working", async () => {
  await assert.rejects(ray.get(42 as unknown as ray.ObjectRef<number>), (e: unknown) => e instanceof TypeError && /ObjectRef/.test(e.message));
  await assert.rejects(ray.get([square.remote(2), "x"] as unknown as ray.ObjectRef<number>[]), (e: unknown) => e instanceof TypeError && /index 1/.test(e.message));
  const ref = square.remote(5);
  assert.deepEqual(await ray.get([ref, ref]), [25, 25]); // as in Ray: get takes duplicates, wait does not
  await assert.rejects(ray.wait([ref, ref]), /index 1/);
  await assert.rejects(ray.wait([{ id: 3 }] as unknown as ray.ObjectRef<number>[]), TypeError);
  assert.equal(await ray.get(ref), 25);
  await nextTaskSucceeds();
});

test("a forged ObjectRef to an object that does not exist is refused, not waited on forever", async () => {
  const forged = new ray.ObjectRef<number>(987_654_321);
  await assert.rejects(ray.get(forged, { timeout: 60_000 }), (error: unknown) => error instanceof ray.RayError && !(error instanceof ray.GetTimeoutError));
  await nextTaskSucceeds();
});

test("init while initialized is an error unless ignoreReinitError", async () => {
  await assert.rejects(ray.init({ numCpus: 2 }), (error: unknown) => error instanceof ray.RayError && /ignoreReinitError/.test(error.message));
  await ray.init({ numCpus: 2, ignoreReinitError: true });
  assert.equal(ray.isInitialized(), true);
  await nextTaskSucceeds();
});

test("init rejects a bad numCpus with a RangeError naming it, without touching the running runtime", async () => {
  for (const numCpus of [0, -1, 1.5, Number.NaN, "2"]) {
    await assert.rejects(ray.init({ numCpus: numCpus as number, ignoreReinitError: true }), (error: unknown) => {
      assert.ok(error instanceof RangeError, `numCpus ${String(numCpus)}: ${String(error)}`);
      assert.match(error.message, /numCpus/);
      return true;
    });
  }
  await assert.rejects(ray.init({ objectStoreMemory: -5, ignoreReinitError: true }), /objectStoreMemory/);
  await assert.rejects(ray.init({ bogus: true, ignoreReinitError: true } as unknown as ray.InitOptions), /bogus/);
  await nextTaskSucceeds();
});

test("ObjectStoreFullError when a put does not fit; the runtime keeps working", async () => {
  // A small store, so the value one byte too large is cheap to make on any machine.
  await ray.shutdown();
  const capacity = 8 * 1024 * 1024;
  await ray.init({ numCpus: 2, objectStoreMemory: capacity });
  assert.equal(ray.clusterResources().object_store_memory, capacity);
  assert.throws(() => ray.put(new Uint8Array(capacity + 1)), (error: unknown) => error instanceof ray.ObjectStoreFullError && error.code === "OBJECT_STORE_FULL");
  const fits = ray.put(new Uint8Array(capacity / 2));
  assert.equal((await ray.get(fits)).byteLength, capacity / 2);
  await nextTaskSucceeds();
});

declare const notDefinedAnywhere: number;
