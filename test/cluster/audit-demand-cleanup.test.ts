/**
 * The pending-demand entries of drivers that are gone (exited without
 * shutdown: their heartbeat key lapsed) do not stay in Redis for good: the
 * first reader that sees them stale removes them, and counts them nowhere.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { readDriverDemand } from "../../src/cluster/status-demand.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
let plane: ControlPlane;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1 }]);
  plane = await ControlPlane.connect(cluster.address, cluster.password, "audit-observer");
});

after(async () => {
  await plane?.close();
  await cluster?.shutdown();
});

test("a gone driver's demand entry is dropped by the reader; a live driver's is kept", async () => {
  const entry = (driverId: string): string => JSON.stringify({ driverId, time: Date.now(), shapes: [{ resources: { CPU: 1 }, count: 7 }] });
  await plane.redis.hset(`${PREFIX}demand`, "audit-gone-driver", entry("audit-gone-driver"), "audit-live-driver", entry("audit-live-driver"));
  await plane.redis.set(`${PREFIX}driver:audit-live-driver`, "1", "PX", 60_000);
  try {
    const demand = await readDriverDemand(plane.redis);
    assert.deepEqual(
      demand.map((d) => d.driverId),
      ["audit-live-driver"],
    );
    assert.equal(await plane.redis.hexists(`${PREFIX}demand`, "audit-gone-driver"), 0);
    assert.equal(await plane.redis.hexists(`${PREFIX}demand`, "audit-live-driver"), 1);
  } finally {
    await plane.redis.hdel(`${PREFIX}demand`, "audit-live-driver");
    await plane.redis.del(`${PREFIX}driver:audit-live-driver`);
  }
});
