/**
 * Named actors from cluster drivers: `getIfExists` finds the live actor
 * instead of failing, and a detached actor outlives the driver that made
 * it, even one that calls shutdown(), so another driver finds it by name.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

class Tally {
  n = 0;
  add() {
    return ++this.n;
  }
}

test("getIfExists: true gives the live actor of that name instead of failing", { timeout: 120_000 }, async () => {
  const Counter = ray.remote(Tally);
  const first = Counter.options({ name: "tally" }).remote();
  assert.equal(await ray.get(first.add.remote()), 1);
  const again = Counter.options({ name: "tally", getIfExists: true }).remote();
  assert.equal(await ray.get(again.add.remote()), 2);
  assert.throws(() => Counter.options({ name: "tally" }).remote(), ray.RayError);
  const fresh = Counter.options({ name: "tally-new", getIfExists: true }).remote();
  assert.equal(await ray.get(fresh.add.remote()), 1);
  ray.kill(first);
  ray.kill(fresh);
});
