/**
 * A driver that shuts down while it still holds refs to large objects
 * frees them on their nodes and drops their object-directory entries then,
 * not when its heartbeat lapses (and for the directory: never).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { runScript } from "../support/child.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
let plane: ControlPlane;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 1 }]);
  plane = await ControlPlane.connect(cluster.address, cluster.password, "audit-observer");
});

after(async () => {
  await plane?.close();
  await cluster?.shutdown();
});

test("shutdown with large objects still referenced leaves no directory entry behind", async () => {
  const before = new Set(await plane.redis.keys(`${PREFIX}loc:*`));
  const run = await runScript(
    "audit-shutdown-frees",
    `
    import * as ray from "RAYTS";
    await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false });
    const [a, b] = ray.nodes();
    const make = ray.remote((n) => new Float64Array(n).fill(1));
    const length = ray.remote((x) => x.length);
    const made = make.options({ scheduling: { nodeId: a.nodeId } }).remote(1_000_000);
    // Pulled by the other node: two holders.
    const pulled = await ray.get(length.options({ scheduling: { nodeId: b.nodeId } }).remote(made));
    const put = ray.put(new Float64Array(1_000_000));
    const used = await ray.get(length.options({ scheduling: { nodeId: a.nodeId } }).remote(put));
    globalThis.kept = [made, put];
    console.log("RESULT " + JSON.stringify({ pulled, used }));
    await ray.shutdown();
    `,
    { timeoutMs: 120_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /RESULT \{"pulled":1000000,"used":1000000/);
  const left = (await plane.redis.keys(`${PREFIX}loc:*`)).filter((key) => !before.has(key));
  assert.deepEqual(left, []);
});
