/**
 * Streaming actor methods from a cluster driver: a generator method of an
 * actor on another node streams its items as they are yielded (large ones
 * pulled from the node), an error reaches the consumer at its item,
 * breaking out stops the generator on its node, and backpressure bounds
 * how far it runs ahead of the consumer.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { Cluster, nodeIdAt } from "./harness.js";

let cluster: Cluster;
let dir: string;
const LIMIT = { timeout: 180_000 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "rayts-actor-streams-"));
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

const Source = ray.remote(
  class Source {
    yielded = 0;

    /** Yields its node and 0, waits for `gate` (a file the consumer makes), then 1..count-1. */
    *gated(gate: string, count: number) {
      const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
      yield { node: ray.getRuntimeContext().nodeId, i: 0 };
      while (!fs.existsSync(gate)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      for (let i = 1; i < count; i++) yield { node: ray.getRuntimeContext().nodeId, i };
    }

    /** A small item, a large one, then an error. */
    *mixed() {
      yield "small";
      yield new Float64Array(100_000).fill(3);
      throw new Error("third item failed");
    }

    /** Yields for good, counting. */
    *forever() {
      for (;;) yield this.yielded++;
    }

    count(): number {
      return this.yielded;
    }
  },
);

describe("cluster: streaming actor methods from a driver", () => {
  test("items of a generator method on another node arrive as they are yielded", LIMIT, async () => {
    const source = Source.options({ scheduling: { nodeId: nodeId(1) } }).remote();
    const gate = join(dir, "gate");
    const items: number[] = [];
    const generator = source.gated.remote(gate, 4);
    for await (const ref of generator) {
      const item = await ray.get(ref);
      assert.equal(item.node, nodeId(1));
      items.push(item.i);
      // The method waits for this file after its first item: reaching here proves the item was streamed.
      if (item.i === 0) writeFileSync(gate, "");
    }
    assert.deepEqual(items, [0, 1, 2, 3]);
    assert.equal(await ray.get(generator.completed()), 4);
  });

  test("a large item is pulled from the actor's node; an error reaches the consumer at its item", LIMIT, async () => {
    const source = Source.options({ scheduling: { nodeId: nodeId(1) } }).remote();
    const refs: ray.ObjectRef<unknown>[] = [];
    for await (const ref of source.mixed.remote()) refs.push(ref);
    assert.equal(refs.length, 3);
    assert.equal(await ray.get(refs[0] as ray.ObjectRef<string>), "small");
    const large = (await ray.get(refs[1] as ray.ObjectRef<Float64Array>));
    assert.equal(large.length, 100_000);
    assert.equal(large[99_999], 3);
    await assert.rejects(ray.get(refs[2] as ray.ObjectRef<unknown>), /third item failed/);
  });

  test("breaking out stops the generator on its node; with backpressure it ran only a few items ahead", LIMIT, async () => {
    const source = Source.options({ scheduling: { nodeId: nodeId(1) } }).remote();
    const seen: number[] = [];
    for await (const ref of source.forever.options({ generatorBackpressureNumObjects: 2 }).remote()) {
      seen.push(await ray.get(ref));
      if (seen.length === 5) break;
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    // The actor runs one call at a time: this answers only once the generator stopped.
    const yielded = await ray.get(source.count.remote());
    // Consumed 5; the node sends at most 2 unconsumed, its runtime holds at most 2 more, one may be in hand.
    assert.ok(yielded >= 5 && yielded <= 10, `the generator yielded ${yielded} items`);
  });
});
