/**
 * Cancelling nested tasks across nodes: `cancel` inside a task reaches the
 * node its nested task went to (force stops it there), and cancelling a
 * parent cancels what it submitted on every node, as Ray's recursive
 * cancel. A cancelled task that kept running would hold every CPU of its
 * node for good: a task asking for all of them then never ran.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { eventually } from "../support/shared.js";
import { Cluster, nodeIdAt } from "./harness.js";

let cluster: Cluster;
let dir: string;
const LIMIT = { timeout: 180_000 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayts-nested-cancel-"));
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function nodeId(index: number): string {
  return nodeIdAt(cluster, index);
}

/** Runs once every CPU of `target` is free again. */
async function allCpusFreeOn(target: string): Promise<void> {
  const whole = ray.remote(() => ray.getRuntimeContext().nodeId);
  assert.equal(await ray.get(whole.options({ numCpus: 2, scheduling: { nodeId: target } }).remote()), target);
}

describe("cluster: cancelling nested tasks", () => {
  test("force-cancelling, inside a task, a nested task that went to another node stops it there", LIMIT, async () => {
    const marker = join(dir, "force-child");
    const parent = ray.remote(async function parent(target: string, file: string) {
      const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
      const worker = ray.remote(function spinChild(mark: string) {
        const files = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
        files.writeFileSync(mark, ray.getRuntimeContext().nodeId);
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      });
      const ref = worker.options({ numCpus: 2, scheduling: { nodeId: target } }).remote(file);
      while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 5));
      ray.cancel(ref, { force: true });
      try {
        await ray.get(ref);
        return "not cancelled";
      } catch (error) {
        return error instanceof ray.TaskCancelledError ? "cancelled" : String(error);
      }
    });
    assert.equal(await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(1), marker)), "cancelled");
    await allCpusFreeOn(nodeId(1));
  });

  test("cancelling a parent cancels the nested tasks it sent to another node", LIMIT, async () => {
    const marker = join(dir, "recursive-child");
    const parent = ray.remote(async function parent(target: string, file: string) {
      const child = ray.remote(function spinChild(mark: string) {
        const files = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
        files.writeFileSync(mark, ray.getRuntimeContext().nodeId);
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      });
      return ray.get(child.options({ numCpus: 2, scheduling: { nodeId: target } }).remote(file));
    });
    const ref = parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(1), marker);
    await eventually(() => existsSync(marker), "the nested task to start on the other node");
    ray.cancel(ref, { force: true });
    await assert.rejects(ray.get(ref), ray.TaskCancelledError);
    await allCpusFreeOn(nodeId(1));
  });

  test("a task cancelled right after its submission fails with TaskCancelledError and never runs on its node", LIMIT, async () => {
    const ran = join(dir, "ran-after-cancel");
    // A function the node has not seen: it fetches the definition before it can run the task.
    const fresh = ray.remote(function freshTask(mark: string) {
      const files = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
      files.writeFileSync(mark, "ran");
      return 1;
    });
    const ref = fresh.options({ scheduling: { nodeId: nodeId(1) } }).remote(ran);
    ray.cancel(ref);
    await assert.rejects(ray.get(ref), ray.TaskCancelledError);
    // Queued behind it on the same node, a task asking for every CPU runs after it would have.
    await allCpusFreeOn(nodeId(1));
    assert.equal(existsSync(ran), false, "the cancelled task ran");
  });

  test("a nested task cancelled right after its submission to another node never runs there", LIMIT, async () => {
    const ran = join(dir, "nested-ran-after-cancel");
    const parent = ray.remote(async function parent(target: string, file: string) {
      const child = ray.remote(function freshChild(mark: string) {
        const files = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
        files.writeFileSync(mark, "ran");
        return 1;
      });
      const ref = child.options({ scheduling: { nodeId: target } }).remote(file);
      ray.cancel(ref);
      return ray.get(ref).then(() => "ran", (error: unknown) => (error instanceof ray.TaskCancelledError ? "cancelled" : String(error)));
    });
    assert.equal(await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(1), ran)), "cancelled");
    await allCpusFreeOn(nodeId(1));
    assert.equal(existsSync(ran), false, "the cancelled nested task ran");
  });
});
