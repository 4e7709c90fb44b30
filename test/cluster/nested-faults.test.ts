/**
 * Nested tasks and streaming generators when nodes die: a nested task whose
 * node dies runs again for its owner (the parent's node); a parent whose
 * node dies is retried by the driver and its nested tasks run again; a
 * streaming generator whose node dies runs again elsewhere and the consumer
 * gets each item once, in order. Short heartbeats keep detection quick.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { eventually } from "../support/shared.js";
import { Cluster } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

let cluster: Cluster;
let dir: string;
const LIMIT = { timeout: 180_000 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayts-nested-faults-"));
  cluster = await Cluster.start([{ numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until an asynchronous condition holds (bounded). */
async function eventuallyAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) assert.ok(Date.now() < deadline, `gave up waiting for ${what}`);
}

const whereAmI = ray.remote(() => ray.getRuntimeContext().nodeId);

/** A fresh node that runs tasks, to be killed. */
async function victimNode(): Promise<Cluster["nodes"][number]> {
  const node = await cluster.addNode({ numCpus: 2 });
  await eventually(() => ray.nodes().some((n) => n.nodeId === node.nodeId), `node ${node.nodeId} in nodes()`);
  assert.equal(await ray.get(whereAmI.options({ scheduling: { nodeId: node.nodeId } }).remote()), node.nodeId);
  return node;
}

function headId(): string {
  const head = cluster.nodes[0];
  assert.ok(head);
  return head.nodeId;
}

/** Fans out `count` nested tasks; each one on `victim` marks `file` and blocks for good. */
const fanOut = ray.remote(async function fanOut(victim: string, file: string, count: number) {
  const child = ray.remote(function child(victimId: string, marker: string, i: number) {
    const here = ray.getRuntimeContext().nodeId;
    if (here === victimId) {
      const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
      if (marker !== "") fs.writeFileSync(marker, "");
      if (marker !== "") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    return { here, square: i * i };
  });
  return ray.get(Array.from({ length: count }, (_, i) => child.remote(victim, file, i)));
});

describe("cluster faults: nested tasks and generators", () => {
  test("a nested task whose node dies runs again for its owner, the parent's node", LIMIT, async () => {
    const victim = await victimNode();
    const onHead = { scheduling: { nodeId: headId() } };
    // The head learns of the new node within a refresh: fan out until its nested tasks reach it.
    await eventuallyAsync(async () => (await ray.get(fanOut.options(onHead).remote(victim.nodeId, "", 6))).some((r) => r.here === victim.nodeId), "nested tasks from the head to reach the new node");
    const marker = join(dir, "child-on-victim");
    const parent = fanOut.options(onHead).remote(victim.nodeId, marker, 6);
    await eventually(() => existsSync(marker), "a nested task to start on the victim");
    cluster.kill(victim);
    const results = await ray.get(parent);
    assert.deepEqual(results.map((r) => r.square), [0, 1, 4, 9, 16, 25]);
    assert.ok(results.every((r) => r.here !== victim.nodeId));
  });

  test("a parent whose node dies is retried by the driver, and its nested tasks run again", LIMIT, async () => {
    const victim = await victimNode();
    const marker = join(dir, "parent-on-victim");
    const parent = ray.remote(async function parent(victimId: string, file: string) {
      const child = ray.remote(function child(i: number) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        return i * 10;
      });
      const values = await ray.get([1, 2, 3, 4].map((i) => child.remote(i)));
      const here = ray.getRuntimeContext().nodeId;
      if (here === victimId) {
        const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
        fs.writeFileSync(file, "");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      }
      return { here, values };
    });
    const ref = parent.options({ scheduling: { nodeId: victim.nodeId, soft: true } }).remote(victim.nodeId, marker);
    await eventually(() => existsSync(marker), "the parent to get its nested results on the victim");
    cluster.kill(victim);
    const result = await ray.get(ref);
    assert.notEqual(result.here, victim.nodeId);
    assert.deepEqual(result.values, [10, 20, 30, 40]);
  });

  test("a streaming generator whose node dies runs again elsewhere; each item arrives once, in order", LIMIT, async () => {
    const victim = await victimNode();
    const marker = join(dir, "generator-on-victim");
    const numbers = ray.remote(function* numbers(victimId: string, file: string) {
      for (let i = 0; i < 6; i++) {
        // 1 ms between items: each item leaves the worker before the next is made (a worker
        // sends items made in quick succession together, and this one blocks for good after item 2).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        if (i === 3 && ray.getRuntimeContext().nodeId === victimId) {
          const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
          fs.writeFileSync(file, "");
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        }
        yield { i, here: ray.getRuntimeContext().nodeId };
      }
    });
    const generator = numbers.options({ scheduling: { nodeId: victim.nodeId, soft: true } }).remote(victim.nodeId, marker);
    const items: { i: number; here: string }[] = [];
    for await (const ref of generator) {
      items.push(await ray.get(ref));
      if (items.length === 3) {
        await eventually(() => existsSync(marker), "the generator to stop on the victim");
        cluster.kill(victim);
      }
    }
    assert.deepEqual(items.map((item) => item.i), [0, 1, 2, 3, 4, 5]);
    assert.ok(items.slice(0, 3).every((item) => item.here === victim.nodeId));
    assert.ok(items.slice(3).every((item) => item.here !== victim.nodeId));
    assert.equal(await ray.get(generator.completed()), 6);
  });
});
