/**
 * What a cluster driver reports about itself and its actors: a named actor
 * is listed under its name (its class under `className`), and
 * `objectStoreStats()` counts the large values the driver holds against
 * the `objectStoreMemory` it was given, refusing a `put` past it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
const CAPACITY = 4 * 1024 * 1024;

class Keeper {
  read(): number {
    return 1;
  }
}
const KeeperActor = ray.remote(Keeper);

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, objectStoreMemory: CAPACITY });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

test("a named actor started from a cluster driver is listed under its name", async () => {
  const named = KeeperActor.options({ name: "keeper-1" }).remote();
  const unnamed = KeeperActor.remote();
  assert.equal(await ray.get(named.read.remote()), 1);
  assert.equal(await ray.get(unnamed.read.remote()), 1);
  const listed = await ray.state.listActors({ filter: { className: "Keeper" } });
  assert.deepEqual(listed.items.map((actor) => actor.name).sort(), ["Keeper", "keeper-1"]);
});

test("objectStoreStats() on a cluster driver: bytesUsed within capacity = objectStoreMemory", () => {
  const held = ray.put(new Uint8Array(1024 * 1024).fill(7));
  const stats = ray.objectStoreStats();
  assert.equal(stats.capacity, CAPACITY);
  assert.ok(stats.bytesUsed >= 1024 * 1024, `bytesUsed ${stats.bytesUsed} counts the 1 MB put`);
  assert.ok(stats.bytesUsed <= stats.capacity);
  assert.throws(() => ray.put(new Uint8Array(CAPACITY)), (error: unknown) => error instanceof ray.ObjectStoreFullError && /objectStoreMemory/.test(error.message));
  assert.equal(ray.objectStoreStats().bytesUsed, stats.bytesUsed, "a refused put holds nothing");
  assert.ok(held.id.length > 0);
});

test("get of a list naming a ref twice gives its value at each place on a cluster driver too", async () => {
  const small = ray.put(5);
  const large = ray.put(new Float64Array(50_000).fill(2));
  const pending = ray.remote((x: number) => x + 1).remote(41);
  const [a, b, c, d, e] = await ray.get([pending, small, large, pending, large]);
  assert.deepEqual([a, b, d], [42, 5, 42]);
  assert.equal(c?.[49_999], 2);
  assert.equal(e?.length, 50_000);
});

test("a large typed array passed by value (whole, or a view at an offset) reaches its task", async () => {
  const echo = ray.remote((xs: Float64Array) => [xs.length, xs[0], xs[xs.length - 1]]);
  const big = new Float64Array(100_000).map((_, i) => i);
  assert.deepEqual(await ray.get(echo.remote(big.slice(0, 20_000))), [20_000, 0, 19_999]);
  assert.deepEqual(await ray.get(echo.remote(big.subarray(10, 20_010))), [20_000, 10, 20_009]);
});

test("put and by-value arguments refuse what cannot be sent with a SerializationError, as in local mode", async () => {
  class Point {
    x = 1;
  }
  const echo = ray.remote((value: unknown) => value);
  const cases: [unknown, RegExp][] = [
    [() => 1, /functions cannot be sent/],
    [Symbol("s"), /symbols cannot be sent/],
    [new Point(), /instance of class Point/],
    [{ nested: { at: [new Point()] } }, /instance of class Point \(at \.nested\.at\[0\]\)/],
    [{ f: () => 1 }, /it holds a function at \.f; functions cannot be sent/],
  ];
  for (const [value, reason] of cases) {
    assert.throws(() => ray.put(value), (error: unknown) => error instanceof ray.SerializationError && /put\(\)/.test(error.message) && reason.test(error.message));
    // A cluster driver encodes arguments once the function is published: the ref rejects.
    await assert.rejects(ray.get(echo.remote(value as never)), (error: unknown) => error instanceof ray.SerializationError && /argument 0/.test(error.message) && reason.test(error.message));
  }
  const date = new Date(5);
  assert.deepEqual(await ray.get(echo.remote({ when: date, map: new Map([[1, 2n]]) })), { when: date, map: new Map([[1, 2n]]) });
});
