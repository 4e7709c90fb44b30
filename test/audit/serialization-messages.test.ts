/**
 * A function or symbol nested inside a value is refused with a message that
 * says where it sits and why, as a top-level one is, rather than only the
 * serializer's "could not be cloned".
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";

before(async () => {
  await ray.init({ numCpus: 1 });
});

after(async () => {
  await ray.shutdown();
});

test("a nested function or symbol is named by its path, with the reason", async () => {
  assert.throws(() => ray.put({ config: { steps: [1, () => 2] } }), {
    name: "SerializationError",
    message: "Cannot send the value given to put() (an object): it holds a function at .config.steps[1]; functions cannot be sent to a worker; make it a remote function or pass its result",
  });
  const size = ray.remote((m: Map<string, unknown>) => m.size);
  assert.throws(() => size.remote(new Map<string, unknown>([["tag", Symbol("t")]])), (error: unknown) => {
    assert.ok(error instanceof ray.SerializationError);
    assert.equal(error.message, 'Cannot send argument 0 of anonymous (a Map): it holds a symbol at .get("tag"); symbols cannot be sent to a worker');
    return true;
  });
  const returnsHandler = ray.remote(() => ({ onDone: (x: number) => x }) as unknown as number);
  await assert.rejects(ray.get(returnsHandler.remote()), /Cannot send the return value of anonymous \(an object\): it holds a function at \.onDone; functions cannot be sent/);
});
