/**
 * Whatever a task throws, it fails that task with a RayTaskError, once:
 * error encoding never throws, so the worker does not crash and the task is
 * not retried (retryExceptions is false by default).
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

const throwsOdd = ray.remote(async (flags: Int32Array, kind: string) => {
  Atomics.add(flags, 0, 1);
  switch (kind) {
    case "toString throws":
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test throws a non-Error on purpose
      throw {
        toString() {
          throw new Error("no");
        },
        toJSON() {
          throw new Error("no");
        },
      };
    case "self cause": {
      const error = new ray.RayTaskError("inner", "loops");
      Object.defineProperty(error, "cause", { value: error });
      throw error;
    }
    case "getters throw": {
      const error = new Error("x");
      for (const key of ["message", "name", "stack"]) {
        Object.defineProperty(error, key, {
          get() {
            throw new Error(`${key} getter`);
          },
        });
      }
      throw error;
    }
    case "proxy": {
      const trap = (): never => {
        throw new Error("trap");
      };
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test throws a non-Error on purpose
      throw new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, has: trap });
    }
    case "null prototype":
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test throws a non-Error on purpose
      throw Object.create(null) as object;
    default: {
      // A promise-like result whose `then` getter throws.
      const trap = (): never => {
        throw new Error("trap");
      };
      return new Proxy({}, { get: trap }) as unknown as number;
    }
  }
});

for (const kind of ["toString throws", "self cause", "getters throw", "proxy", "null prototype", "returned proxy"]) {
  test(`a task that throws an odd value (${kind}) fails with RayTaskError and runs once`, { timeout: 60_000 }, async () => {
    const flags = await sharedInts();
    await assert.rejects(ray.get(throwsOdd.remote(flags, kind), { timeout: 30_000 }), (error: unknown) => {
      assert.ok(error instanceof ray.RayTaskError, `expected RayTaskError, got ${String(error)}`);
      return true;
    });
    assert.equal(Atomics.load(flags, 0), 1, "run once: an exception is not retried and the worker did not crash");
    await assertPoolWhole();
  });
}
