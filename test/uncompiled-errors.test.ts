/**
 * Errors of uncompiled remote functions: every missing name is listed at the
 * first failure, with a fix that fits what the name is (a function cannot be
 * passed as an argument); later failures refer to the first; a task error
 * prints its text once. A remote function of the task's module used inside the
 * task is named as such, with the fix.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const OFFSET = 10;
function helper(x: number): number {
  return x + OFFSET;
}

test("the first failure lists every missing name, and does not tell to pass a function as an argument", async () => {
  const usesBoth = ray.remote(function usesBoth(x: number) {
    const local = { scale: 2 };
    return helper(x) * local.scale + OFFSET;
  });
  await assert.rejects(ray.get(usesBoth.remote(1)), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError, String(error));
    assert.ok(error.cause instanceof ReferenceError);
    const text = error.message;
    assert.match(text, /helper is not defined in the worker/);
    assert.match(text, /These names are missing there:/);
    assert.match(text, /- helper \(a function or class: it cannot be passed as an argument or put\(\); define it inside the task, or make it a remote function/);
    assert.match(text, /- OFFSET \(pass it as an argument, or put\(\) it and pass the ObjectRef\)/);
    assert.doesNotMatch(text, /- (local|scale|x|usesBoth|Math)\b/);
    assert.match(text, /raycompile/);
    return true;
  });
});

const double = ray.remote((x: number) => x * 2);
const Tally = ray.remote(
  class Tally {
    n = 0;
    add(by: number) {
      this.n += by;
      return this.n;
    }
  },
);

test("a task calling a remote function of its module it does not have: the error names it and says how to pass it", async () => {
  const callsDouble = ray.remote(async function callsDouble(x: number) {
    return ray.get(double.remote(x));
  });
  const makesTally = ray.remote(async function makesTally() {
    return ray.get(Tally.remote().add.remote(1));
  });
  for (const [ref, name, fn] of [
    [callsDouble.remote(1), "double", "callsDouble"],
    [makesTally.remote(), "Tally", "makesTally"],
  ] as const) {
    await assert.rejects(ray.get(ref), (error: unknown) => {
      assert.ok(error instanceof ray.RayTaskError, String(error));
      assert.ok(error.cause instanceof ReferenceError);
      const text = error.message;
      assert.doesNotMatch(text, /Expected `remote`/);
      assert.match(text, new RegExp(`${name} is not defined in the worker: remote function ${fn} was shipped as source text`));
      assert.match(text, new RegExp(`- ${name} \\(a remote function or actor class made outside the task, so not available inside it: pass it to the task as an argument`));
      assert.match(text, /raycompile/);
      return true;
    });
  }
});

test("the fixes that error gives work: a remote function passed as an argument, a namespace alias used only for remote()", async () => {
  const viaArgument = ray.remote(async function viaArgument(x: number, fn: typeof double) {
    return ray.get(fn.remote(x));
  });
  const rt = ray;
  const makesOwn = ray.remote(async function makesOwn(x: number) {
    return ray.get(rt.remote((y: number) => y + 1).remote(x));
  });
  assert.deepEqual(await ray.get([viaArgument.remote(4, double), makesOwn.remote(4)]), [8, 5]);
});

test("a remote function given to remote() again is refused with a hint to call its remote()", () => {
  assert.throws(() => ray.remote(double as never), {
    name: "TypeError",
    message: "Expected `remote` to receive a function or a class, got a RemoteFunction, which is remote already: call its .remote(...) instead",
  });
});

test("30 failing calls: explained in full once per worker, the rest refer to the first", async () => {
  const fails = ray.remote(function fails(i: number) {
    return helper(i);
  });
  const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => ray.get(fails.remote(i))));
  const messages = results.map((r) => {
    assert.equal(r.status, "rejected");
    return r.status === "rejected" ? (r.reason as Error).message : "";
  });
  const full = messages.filter((m) => m.includes("missing there"));
  const short = messages.filter((m) => m.includes("the first failure of fails explained the fix"));
  assert.ok(full.length >= 1 && full.length <= 2, `${full.length} full explanations on 2 workers`);
  assert.equal(full.length + short.length, 30);
});

test("a task error prints its text once: no repeated remote stack or cause text", async () => {
  const thrower = ray.remote(function boom(x: number) {
    throw new TypeError(`bad input ${x} (unique-marker)`);
  });
  const error = await ray.get(thrower.remote(3)).then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ray.RayTaskError);
  assert.ok(error.cause instanceof TypeError);
  assert.equal(error.cause.message, "bad input 3 (unique-marker)");
  assert.match(error.remoteStack ?? "", /at boom \(/);
  const printed = inspect(error);
  assert.equal(printed.split("unique-marker").length - 1, 1, printed);
  assert.match(printed, /at boom \(/);
});
