/**
 * Redis restarted with its persistence on: the nodes and the driver
 * reconnect, submissions made while it was down go through, no node is
 * declared dead; a driver whose Redis stays away past the reconnect window
 * fails its pending work with a clear error. Fault injection's options are
 * checked here too.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { parseFaultSpec } from "../../src/cluster/fault-injection.js";
import { runScript } from "../support/child.js";
import { Cluster } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }], { persistence: true });
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

const square = ray.remote((x: number) => x * x);

test("after a Redis restart, nodes and driver reconnect and work queued meanwhile goes through", async () => {
  const ids = ray.nodes().map((n) => n.nodeId).sort();
  assert.deepEqual(await ray.get([1, 2, 3].map((x) => square.remote(x))), [1, 4, 9]);
  let queued: ray.ObjectRef<number>[] = [];
  await cluster.restartRedis(async () => {
    queued = Array.from({ length: 20 }, (_, x) => square.remote(x));
  });
  assert.deepEqual(await ray.get(queued), Array.from({ length: 20 }, (_, x) => x * x));
  assert.deepEqual(await ray.get([4, 5].map((x) => square.remote(x))), [16, 25]);
  assert.deepEqual(ray.nodes().map((n) => n.nodeId).sort(), ids, "the same nodes, none declared dead");
});

test("a driver whose Redis stays away past the reconnect window fails its pending work with a clear error", async () => {
  // A Redis of its own, stopped for good once the driver has work pending.
  const solo = await Cluster.start([{ numCpus: 1 }]);
  try {
    const script = `
      import * as ray from "RAYTS";
      await ray.init({ address: ${JSON.stringify(solo.address)}, redisPassword: ${JSON.stringify(solo.password)} });
      const block = ray.remote(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0; });
      const ref = block.remote();
      console.log("PENDING");
      try { await ray.get(ref); console.log("RESOLVED"); } catch (error) { console.log("FAILED", error.message); }
      // Work submitted after the driver gave up fails at once with the same error.
      try { await ray.get(ray.remote(() => 1).remote()); console.log("LATER RESOLVED"); } catch (error) { console.log("LATER FAILED", error.message); }
      process.exit(0);
    `;
    const child = runScript("cluster-redis-gone", script, { timeoutMs: 60_000, env: { RAYTS_RECONNECT_WINDOW_MS: "1500" } });
    // Stop Redis once the child's work is pending on the node.
    const { Redis } = await import("ioredis");
    const redis = new Redis({ host: solo.redis.host, port: solo.redis.port, password: solo.password });
    try {
      for (;;) {
        const ids = await redis.hkeys("rayts:nodes");
        const loads = (await redis.mget(ids.map((id) => `rayts:alive:${id}`))).filter((v): v is string => v !== null);
        if (loads.some((text) => (JSON.parse(text) as { busyCpus: number }).busyCpus > 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      redis.disconnect();
    }
    process.kill(-solo.redis.pid, "SIGKILL");
    const result = await child;
    assert.match(result.stdout, /\nFAILED the cluster's Redis at .* has been out of reach for more than 1500 ms \(RAYTS_RECONNECT_WINDOW_MS\)/, result.stdout + result.stderr);
    assert.match(result.stdout, /LATER FAILED the cluster's Redis at .* has been out of reach for more than 1500 ms/, result.stdout + result.stderr);
  } finally {
    await solo.shutdown();
  }
});

test("RAYTS_TESTING_RPC_FAILURE is parsed, and a malformed value names what is wrong", () => {
  assert.deepEqual(parseFaultSpec("drop=0.2,delay=0.5:40,seed=7"), { drop: 0.2, delay: 0.5, delayMs: 40, seed: 7 });
  assert.throws(() => parseFaultSpec("drop=2"), /drop in RAYTS_TESTING_RPC_FAILURE to be a fraction between 0 and 1, got "2"/);
  assert.throws(() => parseFaultSpec("lose=0.1"), /drop=P, delay=P:MS or seed=N, got "lose=0.1"/);
});
