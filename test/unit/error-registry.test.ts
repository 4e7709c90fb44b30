/**
 * The error registry: one row per rayts error class, and `errorToData` /
 * `errorFromData` (the form errors take between threads and on the wire)
 * follow it for every row, through the bytes-only wire form too.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "../../src/index.js";
import { ERROR_KINDS, errorFromData, errorToData, RayError, RayTaskError, type ErrorData, type RayErrorCode } from "../../src/core/api/errors.js";
import { batchFromBytes, batchToBytes } from "../../src/core/protocol/protocol-bytes.js";

const kinds = Object.values(ERROR_KINDS);

/** An instance of a row's class, made the way the runtime makes it. */
function sample(code: RayErrorCode): RayError {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- errorFromData makes a RayError for every registry code
  return code === "RAY_TASK_ERROR" ? new RayTaskError("square", "boom", { cause: new TypeError("boom") }) : errorFromData({ code, name: "", message: "went wrong", stack: undefined }) as RayError;
}

test("every row is keyed by its own code, with a distinct name that its class instances carry", () => {
  assert.equal(new Set(kinds.map((kind) => kind.name)).size, kinds.length);
  for (const [code, kind] of Object.entries(ERROR_KINDS)) {
    assert.equal(kind.code, code);
    const error = sample(kind.code);
    assert.equal(error instanceof kind.Class, true, `${code} decodes to its class`);
    assert.equal(error.code, kind.code);
    assert.equal(error.name, kind.name);
    assert.equal(error instanceof RayError, true);
  }
});

test("the public barrel exports every class of the table under its name", () => {
  for (const kind of kinds) assert.equal((ray as Record<string, unknown>)[kind.name], kind.Class, kind.name);
});

test("every kind round-trips through its data and the wire form: class, code, name and message", () => {
  for (const kind of kinds) {
    const error = sample(kind.code);
    const data = errorToData(error);
    assert.equal(data.code, kind.code);
    const [message] = batchFromBytes(batchToBytes([{ kind: "fail", task: 1, error: data, us: 0 }]));
    const back = errorFromData((message as { error: ErrorData }).error);
    assert.equal(back instanceof kind.Class, true, kind.name);
    assert.equal(back.name, error.name);
    assert.equal(back.message, error.message);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- checked by the instanceof assertion above
    assert.equal((back as RayError).code, kind.code);
  }
});

test("a task error carries its task name and its cause with the cause's class", () => {
  const back = errorFromData(errorToData(new RayTaskError("square", "boom", { cause: new RangeError("too big") })));
  assert.ok(back instanceof RayTaskError);
  assert.equal(back.taskName, "square");
  assert.ok(back.cause instanceof RangeError);
  assert.equal(back.cause.message, "too big");
});

test("a code this release does not know reads as a RayError; user errors keep their built-in class and name", () => {
  const unknown = errorFromData({ code: "FROM_THE_FUTURE" as RayErrorCode, name: "FutureError", message: "new", stack: undefined });
  assert.equal(unknown.constructor, RayError);
  assert.equal(unknown.message, "new");
  const user = errorFromData(errorToData(new TypeError("bad type")));
  assert.ok(user instanceof TypeError);
  const custom = Object.assign(new Error("mine"), { name: "MyError" });
  const back = errorFromData(errorToData(custom));
  assert.equal(back.name, "MyError");
  assert.equal(back.stack, custom.stack);
});

test("a subclass of a rayts error travels as its registered parent", () => {
  class Mine extends ray.ActorDiedError {}
  const back = errorFromData(errorToData(new Mine("gone")));
  assert.equal(back.constructor, ray.ActorDiedError);
  assert.equal(back.message, "gone");
});
