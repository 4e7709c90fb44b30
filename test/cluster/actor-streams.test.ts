/**
 * Streaming actor methods from a cluster driver: a generator method of an
 * actor on another node streams its items as they are yielded (large ones
 * pulled from the node), an error reaches the consumer at its item,
 * breaking out stops the generator on its node, and backpressure bounds
 * how far it runs ahead of the consumer.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { eventually } from "../support/shared.js";
import { Cluster, nodeIdAt } from "./harness.js";

// Quick death detection for the test of a node that dies mid-stream.
process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

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

class SourceClass {
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
}
const Source = ray.remote(SourceClass);

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

function onNode(nodeId: string): { scheduling: { nodeId: string; soft: boolean } } {
  return { scheduling: { nodeId, soft: false } };
}


/** What a consumer task saw: the items it took (or their errors' names and messages), and where it ran. */
interface Seen {
  here: string;
  items: unknown[];
  errors: string[];
}

/** Takes every item of `source.gated`, making `gate` once it has the first. */
const takeGated = ray.remote(async (source: ray.ActorHandle<SourceClass>, gate: string, count: number): Promise<Seen> => {
  const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
  const items: unknown[] = [];
  for await (const ref of source.gated.remote(gate, count)) {
    const item = await ray.get(ref);
    items.push(item);
    // The method waits for this file after its first item: reaching here proves the item was streamed.
    if (item.i === 0) fs.writeFileSync(gate, "");
  }
  return { here: ray.getRuntimeContext().nodeId, items, errors: [] };
});

/** Takes every item of `source.mixed` (an actor found by name when a string): a large one as its length and last value, an error as its message. */
const takeMixed = ray.remote(async (actor: ray.ActorHandle<SourceClass> | string): Promise<Seen> => {
  const source = typeof actor === "string" ? ray.getActor<SourceClass>(actor) : actor;
  const items: unknown[] = [];
  const errors: string[] = [];
  for await (const ref of source.mixed.remote()) {
    try {
      const item: unknown = await ray.get(ref);
      items.push(item instanceof Float64Array ? [item.length, item[item.length - 1]] : item);
    } catch (error) {
      errors.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  return { here: ray.getRuntimeContext().nodeId, items, errors };
});

/**
 * Takes items of `source.forever` (backpressure 2): stops after `stopAt`,
 * or, with `kill`, kills the actor after `stopAt` and goes on until the
 * stream ends; makes `gate` once it has the first item.
 */
const takeForever = ray.remote(async (source: ray.ActorHandle<SourceClass>, stopAt: number, kill: boolean, gate: string): Promise<Seen> => {
  const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
  const items: unknown[] = [];
  const errors: string[] = [];
  for await (const ref of source.forever.options({ generatorBackpressureNumObjects: 2 }).remote()) {
    try {
      items.push(await ray.get(ref));
    } catch (error) {
      errors.push((error as Error).name);
    }
    if (items.length === 1 && gate !== "") fs.writeFileSync(gate, "");
    if (items.length === stopAt && errors.length === 0) {
      if (!kill) break;
      ray.kill(source);
    }
  }
  return { here: ray.getRuntimeContext().nodeId, items, errors };
});

describe("cluster: streaming actor methods from a task on another node", () => {
  test("items arrive at the task in order as they are yielded", LIMIT, async () => {
    const [consumer, producer] = [nodeIdAt(cluster, 0), nodeIdAt(cluster, 1)];
    const source = Source.options(onNode(producer)).remote();
    const seen = await ray.get(takeGated.options(onNode(consumer)).remote(source, join(dir, "task-gate"), 4));
    assert.equal(seen.here, consumer);
    assert.deepEqual(seen.items, [0, 1, 2, 3].map((i) => ({ node: producer, i })));
    ray.kill(source);
  });

  test("a large item is pulled from the actor's node; an error reaches the task at its item", LIMIT, async () => {
    const source = Source.options(onNode(nodeIdAt(cluster, 1))).remote();
    const seen = await ray.get(takeMixed.options(onNode(nodeIdAt(cluster, 0))).remote(source));
    assert.deepEqual(seen.items, ["small", [100_000, 3]]);
    assert.equal(seen.errors.length, 1, `one error item, got ${JSON.stringify(seen.errors)}`);
    assert.match(seen.errors[0] as string, /third item failed/);
    ray.kill(source);
  });

  test("a named actor of another node, found with getActor, streams to a task and to the driver", LIMIT, async () => {
    const source = Source.options({ name: "named-source", ...onNode(nodeIdAt(cluster, 1)) }).remote();
    const seen = await ray.get(takeMixed.options(onNode(nodeIdAt(cluster, 0))).remote("named-source"));
    assert.deepEqual(seen.items, ["small", [100_000, 3]]);
    assert.equal(seen.errors.length, 1, `one error item, got ${JSON.stringify(seen.errors)}`);
    assert.match(seen.errors[0] as string, /third item failed/);
    const refs: ray.ObjectRef<unknown>[] = [];
    for await (const ref of ray.getActor<SourceClass>("named-source").mixed.remote()) refs.push(ref);
    assert.equal(refs.length, 3);
    assert.equal(await ray.get(refs[0] as ray.ObjectRef<string>), "small");
    ray.kill(source);
  });

  test("breaking out stops the generator on the actor's node; with backpressure it ran only a few items ahead", LIMIT, async () => {
    const source = Source.options(onNode(nodeIdAt(cluster, 1))).remote();
    const seen = await ray.get(takeForever.options(onNode(nodeIdAt(cluster, 0))).remote(source, 5, false, ""));
    assert.deepEqual(seen.items, [0, 1, 2, 3, 4]);
    // The actor runs one call at a time: this answers only once the generator stopped.
    const yielded = await ray.get(source.count.remote());
    // Consumed 5; the node sends at most 2 unconsumed, its runtime holds at most 2 more, one may be in hand.
    assert.ok(yielded >= 5 && yielded <= 10, `the generator yielded ${yielded} items`);
    ray.kill(source);
  });

  test("an actor killed while it streams ends the task's stream with ActorDiedError", LIMIT, async () => {
    const source = Source.options(onNode(nodeIdAt(cluster, 1))).remote();
    const seen = await ray.get(takeForever.options(onNode(nodeIdAt(cluster, 0))).remote(source, 3, true, ""));
    assert.deepEqual(seen.items.slice(0, 3), [0, 1, 2]);
    assert.deepEqual(seen.errors, ["ActorDiedError"]);
  });

  test("a node that dies while its actor streams ends the task's stream with ActorDiedError", LIMIT, async () => {
    const victim = await cluster.addNode({ numCpus: 2 });
    await eventually(() => ray.nodes().some((n) => n.nodeId === victim.nodeId), `node ${victim.nodeId} in nodes()`);
    const source = Source.options(onNode(victim.nodeId)).remote();
    const gate = join(dir, "victim-gate");
    const taken = takeForever.options(onNode(nodeIdAt(cluster, 0))).remote(source, -1, false, gate);
    // The task has its first item (the stream runs): then the actor's node dies.
    await eventually(() => existsSync(gate), "the task's first item");
    cluster.kill(victim);
    const seen = await ray.get(taken);
    assert.ok(seen.items.length >= 1);
    assert.deepEqual(seen.items, seen.items.map((_, i) => i), "the items came in order");
    assert.deepEqual(seen.errors, ["ActorDiedError"]);
  });
});
