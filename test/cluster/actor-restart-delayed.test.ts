/**
 * A named actor restarted on another node while its owner's messages are
 * late (fault injection delays every batch this driver sends): the
 * registry names the new node before the restart reaches it, so another
 * driver's calls can get there first. They wait for the actor instead of
 * failing, run in the order they were made, and once the owner kills the
 * actor, calls fail with ActorDiedError.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import * as ray from "../../src/index.js";
import { runScript } from "../support/child.js";
import { signalsOf } from "./actor-kit.js";
import { Cluster, nodeIdAt } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

/** Every batch this driver sends waits this long: the restart reaches its node well after the registry names that node. */
const DELAY_MS = 3000;

let cluster: Cluster;
let redis: Redis;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  // Only this driver's sends are delayed: the nodes started without it.
  process.env["RAYTS_TESTING_RPC_FAILURE"] = `delay=1:${DELAY_MS},seed=3`;
  try {
    await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
  } finally {
    delete process.env["RAYTS_TESTING_RPC_FAILURE"];
  }
  redis = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password });
});

after(async () => {
  redis?.disconnect();
  await ray.shutdown();
  await cluster?.shutdown();
});

class Tally {
  n = 0;
  add(k: number): { n: number; here: string } {
    this.n += k;
    return { n: this.n, here: ray.getRuntimeContext().nodeId };
  }
}

test("another driver's calls to a restarted named actor wait for the late restart, in order; a killed actor fails them", { timeout: 180_000 }, async () => {
  const survivor = nodeIdAt(cluster, 0);
  const victim = nodeIdAt(cluster, 1);
  const actor = ray.remote(Tally).options({ name: "late-tally", maxRestarts: 1, maxTaskRetries: 1, scheduling: { nodeId: victim, soft: true } }).remote();
  assert.deepEqual(await ray.get(actor.add.remote(1)), { n: 1, here: victim });
  const connect = `ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false })`;
  const second = runScript(
    "cluster-late-restart",
    `
    import * as ray from "RAYTS";
    const { Redis } = await import("ioredis");
    await ${connect};
    const redis = new Redis({ host: ${JSON.stringify(cluster.redis.host)}, port: ${cluster.redis.port}, password: ${JSON.stringify(cluster.password)} });
    const found = ray.getActor("late-tally");
    console.log("BEFORE", JSON.stringify(await ray.get(found.add.remote(10))));
    await redis.rpush("test:late:ready", "1");
    await redis.blpop("test:late:go", 0);
    // Made while the actor's node dies and it restarts: sent to the new node as soon as the registry names it.
    const calls = [found.add.remote(100), found.add.remote(1000)];
    console.log("AFTER", JSON.stringify(await ray.get(calls)));
    await redis.rpush("test:late:moved", "1");
    await redis.blpop("test:late:killed", 0);
    // The owner killed it (its kill message is late too): the name is released at once, and this driver hears of it.
    for (;;) {
      try {
        ray.getActor("late-tally");
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    try {
      await ray.get(found.add.remote(5));
      console.log("KILLED-CALL answered");
    } catch (error) {
      console.log("KILLED-CALL", error.name);
    }
    redis.disconnect();
    await ray.shutdown();
  `,
    { timeoutMs: 150_000 },
  );
  const signals = redis.duplicate();
  const signal = signalsOf(signals, second);
  try {
    await signal("test:late:ready");
    const killed = cluster.nodes.find((node) => node.nodeId === victim);
    assert.ok(killed !== undefined);
    cluster.kill(killed);
    await signals.rpush("test:late:go", "1");
    await signal("test:late:moved");
    ray.kill(actor);
    await signals.rpush("test:late:killed", "1");
    const child = await second;
    assert.equal(child.code, 0, child.stdout + child.stderr);
    assert.match(child.stdout, new RegExp(`BEFORE ${JSON.stringify(JSON.stringify({ n: 11, here: victim })).slice(1, -1)}`));
    const moved = JSON.stringify([{ n: 100, here: survivor }, { n: 1100, here: survivor }]);
    assert.match(child.stdout, new RegExp(`AFTER ${JSON.stringify(moved).slice(1, -1).replaceAll("[", "\\[").replaceAll("]", "\\]")}`));
    assert.match(child.stdout, /KILLED-CALL ActorDiedError/);
  } finally {
    signals.disconnect();
  }
});
