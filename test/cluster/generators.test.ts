/**
 * Streaming generators from a cluster driver: items are streamed from the
 * node that runs the generator as they are yielded, large items are pulled
 * from it, an error arrives at its item, and breaking out of the loop stops
 * the generator on its node.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
let dir: string;
const LIMIT = { timeout: 120_000 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayts-cluster-gen-"));
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function onNode(index: number): { scheduling: { nodeId: string } } {
  const node = cluster.nodes[index];
  assert.ok(node);
  return { scheduling: { nodeId: node.nodeId } };
}

/** Yields its node and 0, waits for `gate` to exist (a file the consumer makes), then yields 1..count-1. */
const gated = ray.remote(function* gated(gate: string, count: number) {
  const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
  yield { node: ray.getRuntimeContext().nodeId, i: 0 };
  while (!fs.existsSync(gate)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  for (let i = 1; i < count; i++) yield { node: ray.getRuntimeContext().nodeId, i };
});

describe("cluster: streaming generators from a driver", () => {
  test("items arrive from another node as they are yielded", LIMIT, async () => {
    const gate = join(dir, "gate-1");
    const items: number[] = [];
    const generator = gated.options(onNode(1)).remote(gate, 5);
    for await (const ref of generator) {
      const item = await ray.get(ref);
      assert.equal(item.node, cluster.nodes[1]?.nodeId);
      items.push(item.i);
      // The generator waits for this file after its first item: reaching here proves the item was streamed.
      if (item.i === 0) writeFileSync(gate, "");
    }
    assert.deepEqual(items, [0, 1, 2, 3, 4]);
    assert.equal(await ray.get(generator.completed()), 5);
  });

  test("large items are pulled from the generator's node", LIMIT, async () => {
    const big = ray.remote(function* big(n: number) {
      for (let i = 0; i < n; i++) yield new Float64Array(40_000).fill(i);
    });
    const sums: number[] = [];
    for await (const ref of big.options(onNode(0)).remote(3)) {
      const data = await ray.get(ref);
      assert.equal(data.length, 40_000);
      sums.push(data[39_999] as number);
    }
    assert.deepEqual(sums, [0, 1, 2]);
  });

  test("an error reaches the consumer at its item, after the items before it", LIMIT, async () => {
    const failing = ray.remote(function* failing() {
      yield 1;
      yield 2;
      throw new Error("third item failed");
    });
    const generator = failing.options(onNode(1)).remote();
    const seen: unknown[] = [];
    for await (const ref of generator) {
      try {
        seen.push(await ray.get(ref));
      } catch (error) {
        assert.ok(error instanceof ray.RayTaskError);
        assert.match(error.message, /third item failed/);
        seen.push("error");
      }
    }
    assert.deepEqual(seen, [1, 2, "error"]);
  });

  test("breaking out of the loop stops the generator on its node", LIMIT, async () => {
    const endless = ray.remote(function* endless() {
      for (let i = 0; ; i++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        yield i;
      }
    });
    const generator = endless.options(onNode(1)).remote();
    const taken: number[] = [];
    for await (const ref of generator) {
      taken.push(await ray.get(ref));
      if (taken.length === 3) break;
    }
    assert.deepEqual(taken, [0, 1, 2]);
    // An endless generator's task only ends when it is stopped.
    const outcome = await ray.get(generator.completed()).then(
      (count) => `ended after ${count} items`,
      (error: unknown) => `ended: ${String(error)}`,
    );
    assert.match(outcome, /^ended/);
  });
});
