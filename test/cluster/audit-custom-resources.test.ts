/**
 * Custom resources a node declares (`--resources '{"GPU":1}'`) as a user
 * reads them: typed in `clusterResources()` and `availableResources()`
 * (a resource no node has reads as undefined), taken while a task holds
 * them and given back after.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 1, resources: { GPU: 2 } }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

/** Polls `read` (guarded) until it gives `expected`. */
async function settlesAt(read: () => number | undefined, expected: number, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (read() !== expected) {
    assert.ok(Date.now() < deadline, `${what}: ${String(read())}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a node's custom resources are in the typed resource maps, taken while used and given back", async () => {
  // Typed: a custom resource is read by name, and may be absent (number | undefined).
  const gpus: number | undefined = ray.clusterResources().GPU;
  const tpus: number | undefined = ray.clusterResources()["TPU"];
  assert.equal(gpus, 2);
  assert.equal(tpus, undefined);
  const node = ray.nodes().find((n) => n.resources.GPU === 2);
  assert.ok(node, "the GPU node lists its GPUs");

  const Latch = ray.remote(
    class Latch {
      opened = false;
      open(): void {
        this.opened = true;
      }
      isOpen(): boolean {
        return this.opened;
      }
    },
  );
  const latch = Latch.remote();
  const hold = ray.remote(async (gate: typeof latch) => {
    while (!(await ray.get(gate.isOpen.remote()))) await new Promise((resolve) => setTimeout(resolve, 20));
    return ray.getRuntimeContext().nodeId;
  });
  const ref = hold.options({ resources: { GPU: 1 }, numCpus: 0 }).remote(latch);
  await settlesAt(() => ray.availableResources().GPU, 1, "GPUs available while the task holds one");
  await ray.get(latch.open.remote());
  assert.equal(await ray.get(ref), node.nodeId);
  await settlesAt(() => ray.availableResources().GPU, 2, "GPUs available once the task ended");
});
