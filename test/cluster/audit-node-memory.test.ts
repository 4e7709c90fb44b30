/**
 * A node gives back the memory of the objects their owner freed, also
 * while nothing else runs on it: the owner's free is the signal, not a
 * collection that an idle node never has a reason to start.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { runScript } from "../support/child.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let cluster: Cluster;
let nodeId: string;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
  const node = ray.nodes()[0];
  assert.ok(node);
  nodeId = node.nodeId;
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

const LENGTH = 5_000_000; // 40 MB of float64
const make = ray.remote((length: number) => new Float64Array(length).fill(1));

async function storeBytes(): Promise<number> {
  const node = (await ray.state.listNodes()).items.find((n) => n.nodeId === nodeId);
  assert.ok(node, `node ${nodeId} is listed`);
  return node.objectStoreBytes;
}

/** Polls the node's store (between event-loop turns, guarded) until its bytes in use meet `holds`. */
async function storeUntil(holds: (used: number) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const used = await storeBytes();
    if (holds(used)) return;
    assert.ok(Date.now() < deadline, `${what}: the node still holds ${used} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("the large results of a driver that exited without shutdown leave the node's store and the object directory", async () => {
  const plane = await ControlPlane.connect(cluster.address, cluster.password, "audit-observer");
  const before = new Set(await plane.redis.keys(`${PREFIX}loc:*`));
  const run = await runScript(
    "audit-exit-without-shutdown",
    `
    import * as ray from "RAYTS";
    await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false });
    const make = ray.remote((length) => new Float64Array(length).fill(1));
    const refs = [make.remote(${LENGTH}), make.remote(${LENGTH})];
    await ray.wait(refs, { numReturns: 2 });
    globalThis.kept = refs;
    console.log("RESULT made");
    process.exit(0);
    `,
    { env: { RAYTS_DRIVER_DEAD_MS: "2000" }, timeoutMs: GUARD_MS },
  );
  assert.match(run.stdout, /RESULT made/, run.stderr);
  await storeUntil((used) => used < LENGTH * 8, "after the driver exited");
  try {
    const deadline = Date.now() + GUARD_MS;
    for (;;) {
      const left = (await plane.redis.keys(`${PREFIX}loc:*`)).filter((key) => !before.has(key));
      if (left.length === 0) break;
      assert.ok(Date.now() < deadline, `directory entries of the exited driver are left: ${left.join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await plane.close();
  }
});

test("a large result dropped by its owner leaves the idle node's store", async () => {
  let ref: ray.ObjectRef<Float64Array> | undefined = make.remote(LENGTH);
  await ray.wait([ref]);
  await storeUntil((used) => used >= LENGTH * 8, "the node reports the result");
  ref = undefined;
  gc();
  await storeUntil((used) => used < LENGTH * 8, "after the owner dropped its only ref");
});
