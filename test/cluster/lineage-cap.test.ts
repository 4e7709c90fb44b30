/**
 * The lineage cap on a cluster: with `RAYTS_MAX_LINEAGE_BYTES` room for one
 * task spec, the older of two stored outputs loses its lineage; once their
 * node dies the newer one is rebuilt and the older fails with an
 * ObjectLostError that says its lineage was evicted and how to keep more.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import type { ClusterBackend } from "../../src/cluster/driver.js";
import { state } from "../../src/core/runtime/global-state.js";
import { eventually } from "../support/shared.js";
import { Cluster } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
/** One spec (a 16,000-byte argument) fits, two do not. */
process.env["RAYTS_MAX_LINEAGE_BYTES"] = "24000";

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

function backend(): ClusterBackend {
  return state.backend as unknown as ClusterBackend;
}

/** 400 KB made from the first element of `seed`: stored on the node that made it. */
const fill = ray.remote((seed: Float64Array) => new Float64Array(50_000).fill(seed[0] ?? 0));

test("past RAYTS_MAX_LINEAGE_BYTES the oldest lineage is evicted: its lost object fails saying so, the newer one is rebuilt", async () => {
  const victim = cluster.nodes[1];
  assert.ok(victim);
  const onVictim = fill.options({ scheduling: { nodeId: victim.nodeId, soft: true } });
  const older = onVictim.remote(new Float64Array(2000).fill(1));
  await ray.wait([older]);
  assert.equal(backend().faultStats().lineage.evictions, 0);
  const newer = onVictim.remote(new Float64Array(2000).fill(2));
  await ray.wait([newer]);
  const { lineage } = backend().faultStats();
  assert.equal(lineage.maxBytes, 24_000);
  assert.equal(lineage.evictions, 1, "the older spec was evicted to stay under the cap");
  assert.ok(lineage.bytes > 16_000 && lineage.bytes <= 24_000, `one spec kept (${lineage.bytes} bytes)`);
  cluster.kill(victim);
  await eventually(() => !ray.nodes().some((n) => n.nodeId === victim.nodeId), "the victim to leave nodes()");
  const rebuilt = await ray.get(newer);
  assert.equal(rebuilt.length, 50_000);
  assert.ok(rebuilt.every((x) => x === 2));
  await assert.rejects(ray.get(older), (error: Error) => {
    assert.ok(error instanceof ray.ObjectLostError, String(error));
    assert.match(error.message, new RegExp(victim.nodeId));
    assert.match(error.message, /its lineage was evicted .* under 24000 bytes; raise RAYTS_MAX_LINEAGE_BYTES/);
    return true;
  });
});
