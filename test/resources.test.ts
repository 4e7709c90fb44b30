/** `availableResources`, `clusterResources`, `nodes`, and CPU slots held by running tasks. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2, objectStoreMemory: 64 * 1024 * 1024 });
});

after(async () => {
  await ray.shutdown();
});

function nodeKeys(resources: ray.ClusterResources): string[] {
  return Object.keys(resources).filter((key) => key.startsWith("node:"));
}

test("clusterResources has Ray's keys with the totals", () => {
  const total = ray.clusterResources();
  assert.equal(total.CPU, 2);
  assert.equal(total.object_store_memory, 64 * 1024 * 1024);
  assert.ok(typeof total.memory === "number" && total.memory > 0);
  const nodes = nodeKeys(total);
  assert.equal(nodes.length, 1);
  assert.equal(total[nodes[0] as `node:${string}`], 1);
});

test("availableResources has the same keys, and everything free when idle", () => {
  const available = ray.availableResources();
  const total = ray.clusterResources();
  assert.deepEqual(Object.keys(available).sort(), Object.keys(total).sort());
  assert.equal(available.CPU, 2);
  assert.ok(available.object_store_memory <= total.object_store_memory);
});

test("nodes() lists one live node with its resources", () => {
  const nodes = ray.nodes();
  assert.equal(nodes.length, 1);
  const [node] = nodes;
  assert.ok(node !== undefined);
  assert.equal(node.alive, true);
  assert.equal(typeof node.nodeId, "string");
  assert.ok(node.nodeId.length > 0);
  assert.equal(typeof node.address, "string");
  assert.deepEqual(node.resources, ray.clusterResources());
  assert.deepEqual(nodeKeys(node.resources), [`node:${node.address}`]);
});

test("a running one-CPU task takes one slot; two take both", async () => {
  const flags = await sharedInts();
  const held = ray.remote((f: Int32Array) => {
    Atomics.add(f, 1, 1);
    Atomics.notify(f, 1);
    Atomics.wait(f, 0, 0, 10_000);
    return 1;
  });
  const first = held.remote(flags);
  await until(flags, 1, 1);
  assert.equal(ray.availableResources().CPU, 1);
  const second = held.remote(flags);
  await until(flags, 1, 2);
  assert.equal(ray.availableResources().CPU, 0);
  release(flags);
  await ray.get([first, second]);
  assert.equal(ray.availableResources().CPU, 2);
});

test("a numCpus: 2 task holds two slots while it runs", async () => {
  const flags = await sharedInts();
  const held = ray.remote((f: Int32Array) => {
    Atomics.store(f, 1, 1);
    Atomics.notify(f, 1);
    Atomics.wait(f, 0, 0, 10_000);
    return 2;
  });
  const ref = held.options({ numCpus: 2 }).remote(flags);
  await until(flags, 1, 1);
  assert.equal(ray.availableResources().CPU, 0);
  release(flags);
  assert.equal(await ray.get(ref), 2);
  assert.equal(ray.availableResources().CPU, 2);
});

test("object_store_memory goes down by the size of a put and back when it is freed", async () => {
  const before = ray.availableResources().object_store_memory;
  const ref = ray.put(new Float64Array(1024));
  assert.equal(ray.availableResources().object_store_memory, before - 8 * 1024);
  assert.equal(ray.objectStoreStats().bytesUsed, ray.clusterResources().object_store_memory - ray.availableResources().object_store_memory);
  assert.equal((await ray.get(ref)).length, 1024);
});

test("a put larger than objectStoreMemory throws ObjectStoreFullError; the next put works", async () => {
  assert.throws(() => ray.put(new Uint8Array(65 * 1024 * 1024)), (error: unknown) => {
    assert.ok(error instanceof ray.ObjectStoreFullError);
    assert.match(error.message, /objectStoreMemory/);
    return true;
  });
  assert.deepEqual(Array.from(await ray.get(ray.put(new Uint8Array([1])))), [1]);
});

test("a task result larger than the store fails that task with ObjectStoreFullError", async () => {
  const big = ray.remote(() => new Uint8Array(65 * 1024 * 1024));
  await assert.rejects(ray.get(big.remote()), ray.ObjectStoreFullError);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(3)), 9);
});

test("resource calls inside a task are refused with a clear error", async () => {
  const inside = ray.remote(() => {
    try {
      ray.availableResources();
      return "no error";
    } catch (error) {
      return String(error);
    }
  });
  assert.match(await ray.get(inside.remote()), /driver/);
});

test("getRuntimeContext() gives the same node in the driver, in a task and in an actor", async () => {
  const driverContext = ray.getRuntimeContext();
  const [node] = ray.nodes();
  assert.ok(node !== undefined);
  assert.deepEqual([driverContext.nodeId, driverContext.nodeAddress], [node.nodeId, node.address]);
  const where = ray.remote(() => {
    const context = ray.getRuntimeContext();
    return [context.nodeId, context.nodeAddress];
  });
  const Where = ray.remote(class Where {
    at() {
      const context = ray.getRuntimeContext();
      return [context.nodeId, context.nodeAddress];
    }
  });
  const actor = Where.remote();
  assert.deepEqual(await ray.get(where.remote()), [node.nodeId, node.address]);
  assert.deepEqual(await ray.get(actor.at.remote()), [node.nodeId, node.address]);
  ray.kill(actor);
});
