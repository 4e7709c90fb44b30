/**
 * Options of get, wait and cancel are checked like every other option:
 * unknown keys and wrong types are refused with a message naming them, and
 * calls that only the driver may make are refused inside a task.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import * as ray from "../src/index.js";
import { checkNodeVersion, MIN_NODE } from "../src/core/api/options.js";
import { release, sharedInts } from "./support/shared.js";

after(async () => {
  await ray.shutdown();
});

test("availableResources() before any task starts the runtime, as init() is optional", async () => {
  await ray.shutdown();
  assert.equal(ray.isInitialized(), false);
  const available = ray.availableResources();
  assert.equal(ray.isInitialized(), true);
  assert.equal(typeof available.CPU, "number");
  assert.ok(available.CPU >= 1);
  assert.equal(ray.clusterResources().CPU, available.CPU);
  await ray.shutdown();
  assert.equal(ray.objectStoreStats().numObjects, 0);
  await ray.shutdown();
  assert.equal(ray.nodes().length, 1);
  await ray.shutdown();
});

test("get() refuses unknown and mistyped options", async () => {
  await ray.init({ numCpus: 2, ignoreReinitError: true });
  const ref = ray.put(1);
  await assert.rejects(ray.get(ref, { timout: 5 } as never), {
    name: "TypeError",
    message: "Unknown option `timout` of get(); expected one of `timeout`",
  });
  await assert.rejects(ray.get(ref, { timeout: "5" } as never), { name: "RangeError", message: 'Expected `timeout` to be a number of milliseconds from 0 and up, got "5"' });
  await assert.rejects(ray.get(ref, 5 as never), { name: "TypeError", message: "Expected the options of get() to be an object, got 5" });
  assert.equal(await ray.get(ref, { timeout: 60_000 }), 1);
});

test("wait() refuses unknown and mistyped options, even for an empty list", async () => {
  const ref = ray.put(1);
  await assert.rejects(ray.wait([ref], { num_returns: 1 } as never), {
    name: "TypeError",
    message: "Unknown option `num_returns` of wait(); expected one of `numReturns`, `timeout`",
  });
  await assert.rejects(ray.wait([], { fetchLocal: true } as never), /Unknown option `fetchLocal` of wait\(\)/);
  await assert.rejects(ray.wait([ref], { numReturns: "1" } as never), { name: "RangeError", message: 'Expected `numReturns` to be an integer from 1 and up, got "1"' });
  await assert.rejects(ray.wait([ref], { timeout: -1 }), /`timeout`/);
  assert.deepEqual(await ray.wait([ref], { numReturns: 1 }), [[ref], []]);
});

test('cancel() refuses { force: "yes" } instead of treating it as a soft cancel', async () => {
  const flags = await sharedInts();
  const hold = ray.remote(async (f: Int32Array) => {
    while (Atomics.load(f, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    return "done";
  });
  const ref = hold.remote(flags);
  assert.throws(() => ray.cancel(ref, { force: "yes" } as never), { name: "TypeError", message: 'Expected `force` to be a boolean, got "yes"' });
  assert.throws(() => ray.cancel(ref, { recursive: true } as never), { name: "TypeError", message: "Unknown option `recursive` of cancel(); expected one of `force`" });
  assert.throws(() => ray.cancel(ref, null as never), /Expected the options of cancel\(\) to be an object, got null/);
  release(flags, 0);
  assert.equal(await ray.get(ref), "done", "the refused cancel left the task alone");
});

test("getActor() refuses unknown and mistyped options instead of looking in the default namespace", async () => {
  await ray.init({ numCpus: 2, ignoreReinitError: true });
  const Named = ray.remote(class Named {
    id() {
      return "named";
    }
  });
  const actor = Named.options({ name: "option-checks", namespace: "team" }).remote();
  assert.throws(() => ray.getActor("option-checks", { namespce: "team" } as never), {
    name: "TypeError",
    message: "Unknown option `namespce` of getActor(); expected one of `namespace`",
  });
  assert.throws(() => ray.getActor("option-checks", Named, { namespce: "team" } as never), /Unknown option `namespce` of getActor\(\)/);
  assert.throws(() => ray.getActor("option-checks", null as never), { name: "TypeError", message: "Expected the options of getActor() to be an object, got null" });
  assert.equal(await ray.get(ray.getActor("option-checks", Named, { namespace: "team" }).id.remote()), "named");
  ray.kill(actor);
});

test("kill() refuses unknown options and noRestart: false, and leaves the actor alive when it refuses", async () => {
  await ray.init({ numCpus: 2, ignoreReinitError: true });
  const Echo = ray.remote(class Echo {
    echo(value: number) {
      return value;
    }
  });
  const actor = Echo.remote();
  assert.throws(() => ray.kill(actor, { noRestrat: true } as never), {
    name: "TypeError",
    message: "Unknown option `noRestrat` of kill(); expected one of `noRestart`",
  });
  assert.throws(() => ray.kill(actor, { noRestart: false } as never), /Expected `noRestart` of kill\(\) to be true .*got false/);
  assert.throws(() => ray.kill(actor, "now" as never), /Expected the options of kill\(\) to be an object, got "now"/);
  assert.equal(await ray.get(actor.echo.remote(7)), 7, "a refused kill left the actor alive");
  ray.kill(actor, { noRestart: true });
  await assert.rejects(ray.get(actor.echo.remote(8)), { name: "ActorDiedError" });
});

test("a streaming generator given to get() or wait() is refused with a message that reads right", async () => {
  await ray.init({ numCpus: 2, ignoreReinitError: true });
  const count = ray.remote(function* (n: number) {
    for (let i = 0; i < n; i++) yield i;
  });
  const stream = count.remote(2);
  await assert.rejects(ray.get(stream as never), { name: "TypeError", message: "Expected `get` to receive an ObjectRef or an array of them, got an ObjectRefGenerator" });
  await assert.rejects(ray.wait([stream] as never), { name: "TypeError", message: "Expected `refs` to hold only ObjectRefs, got an ObjectRefGenerator at index 0" });
  const items: number[] = [];
  for await (const ref of stream) items.push(await ray.get(ref));
  assert.deepEqual(items, [0, 1]);
});

test("shutdown() and init() inside a task are refused with a RayError saying why", async () => {
  const stop = ray.remote(async () => {
    await ray.shutdown();
    return "still running";
  });
  await assert.rejects(ray.get(stop.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayError, String(error));
    assert.match(error.message, /shutdown\(\) is only available in the driver, not inside a task/);
    return true;
  });
  const start = ray.remote(async () => {
    await ray.init();
    return "started";
  });
  await assert.rejects(ray.get(start.remote()), /init\(\) is only available in the driver, not inside a task/);
  const stats = ray.remote(() => ray.availableResources());
  await assert.rejects(ray.get(stats.remote()), /availableResources\(\) is only available in the driver/);
  // The runtime is untouched.
  assert.equal(await ray.get(ray.remote((x: number) => x + 1).remote(1)), 2);
});

test("a Node.js older than the engines field is refused with a message naming both versions", () => {
  assert.throws(() => checkNodeVersion("18.20.4"), {
    name: "RayError",
    message: /^rayts needs Node\.js >= 20\.19 \(the engines field of its package\.json\), got Node\.js 18\.20\.4; upgrade/,
  });
  assert.throws(() => checkNodeVersion("20.18.3"), /got Node\.js 20\.18\.3/);
  for (const ok of ["20.19.0", "20.20.2", "22.12.0", "24.1.0"]) assert.doesNotThrow(() => checkNodeVersion(ok));
  assert.doesNotThrow(() => checkNodeVersion());
  const engines = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { engines: { node: string } }).engines.node;
  assert.equal(engines, `>=${MIN_NODE.join(".")}`, "the check and the engines field agree");
});
