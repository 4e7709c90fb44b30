/**
 * Cancel from a cluster driver: a task cancelled right after `.remote()`
 * (its cancel may reach the node before the task itself) settles as
 * cancelled, as in local mode, and the cluster keeps its slots.
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

test("a task cancelled right after .remote() rejects with TaskCancelledError, also for a function the nodes have not seen", { timeout: 120_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    // A new function each round: the nodes fetch its source before they can start it.
    const late = ray.remote(async (value: number, ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return value;
    }, { name: `late${round}` });
    const refs = Array.from({ length: 6 }, (_, i) => late.remote(i, 300));
    for (const ref of refs) ray.cancel(ref);
    for (const ref of refs) await assert.rejects(ray.get(ref), ray.TaskCancelledError);
  }
});

test("a cancelled task's large result is dropped, and the cluster runs the next tasks on every slot", { timeout: 120_000 }, async () => {
  const big = ray.remote(async (n: number) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return new Float64Array(n).fill(1);
  }, { name: "bigResult" });
  const ref = big.remote(200_000);
  ray.cancel(ref);
  await assert.rejects(ray.get(ref), ray.TaskCancelledError);
  const square = ray.remote((x: number) => x * x, { name: "squareAfterCancel" });
  assert.deepEqual(await ray.get(Array.from({ length: 8 }, (_, i) => square.remote(i))), [0, 1, 4, 9, 16, 25, 36, 49]);
});
