/**
 * Named actors from cluster drivers: `getIfExists` finds the live actor
 * instead of failing, and a detached actor outlives the driver that made
 * it, even one that calls shutdown(), so another driver finds it by name.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { runScript } from "../support/child.js";
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

test("a detached actor outlives the driver that made it and called shutdown(); another driver finds it by name", { timeout: 120_000 }, async () => {
  const other = await runScript(
    "cluster-detached-maker",
    `
    import * as ray from "RAYTS";
    await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false });
    const Keeper = ray.remote(class Keeper { n = 0; add() { return ++this.n; } });
    const keeper = Keeper.options({ name: "keeper", lifetime: "detached" }).remote();
    console.log("ADDED", await ray.get(keeper.add.remote()));
    await ray.shutdown();
  `,
    { timeoutMs: 60_000 },
  );
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /ADDED 1$/m);
  const keeper = ray.getActor<Tally>("keeper");
  assert.equal(await ray.get(keeper.add.remote()), 2);
  ray.kill(keeper);
});

test("names are unique per namespace: the same name in two namespaces names two actors, each found only in its own", { timeout: 120_000 }, async () => {
  const Counter = ray.remote(Tally);
  const teamA = Counter.options({ name: "shared-name", namespace: "team-a" }).remote();
  const teamB = Counter.options({ name: "shared-name", namespace: "team-b" }).remote();
  assert.equal(await ray.get(teamA.add.remote()), 1);
  assert.equal(await ray.get(teamA.add.remote()), 2);
  assert.equal(await ray.get(ray.getActor("shared-name", Counter, { namespace: "team-b" }).add.remote()), 1);
  assert.equal(await ray.get(ray.getActor("shared-name", Counter, { namespace: "team-a" }).add.remote()), 3);
  assert.throws(() => ray.getActor("shared-name"), /no live actor is named "shared-name"/);
  assert.throws(() => ray.getActor("shared-name", { namespace: "team-c" }), /no live actor is named "shared-name" in namespace "team-c"/);
  assert.throws(() => Counter.options({ name: "shared-name", namespace: "team-a" }).remote(), /already exists in the cluster in namespace "team-a"/);
  ray.kill(teamA);
  ray.kill(teamB);
});
