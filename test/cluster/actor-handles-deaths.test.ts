/**
 * A task on one node holds a handle to an actor on another: when the actor
 * is killed, or its node dies, the task's calls reject with ActorDiedError,
 * both a call made afterwards and one still waiting for its reply. The
 * driver waits on events (an actor the tasks report to), never on time, and
 * a task that fails before it reports fails the test at once.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { eventually } from "../support/shared.js";
import { arrival, Gates, type Door } from "./actor-kit.js";
import { Cluster, nodeIdAt } from "./harness.js";

// Node deaths are noticed after 4 s of missed beats (the objects here are small), not the harness's 10 s.
process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";

let cluster: Cluster;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

function onNode(nodeId: string): { scheduling: { nodeId: string; soft: boolean } } {
  return { scheduling: { nodeId, soft: false } };
}

/** Counts, and can hold a call for good after telling a gate it got there. */
class Keeper {
  n = 0;
  add(by: number): number {
    this.n += by;
    return this.n;
  }
  hold(door: ray.ActorHandle<Door>): Promise<number> {
    door.arrive.remote();
    return new Promise<number>(() => undefined);
  }
}
const Keepers = ray.remote(Keeper);

interface Held {
  add(by: number): number;
  hold(door: ray.ActorHandle<Door>): number;
}

/** Calls `add` once, reports at the gate, waits for it to open, then calls again; returns what each call gave. */
const callAfterGo = ray.remote(async (handle: ray.ActorHandle<Held>, door: ray.ActorHandle<Door>) => {
  const first = await ray.get(handle.add.remote(3));
  door.arrive.remote();
  await ray.get(door.opened.remote());
  try {
    return { first, then: await ray.get(handle.add.remote(3)) };
  } catch (error) {
    return { first, then: (error as Error).name };
  }
});

/** Makes a call the actor holds for good (the actor reports at the gate); returns how it ended. */
const callHeld = ray.remote(async (handle: ray.ActorHandle<Held>, door: ray.ActorHandle<Door>) => {
  const first = await ray.get(handle.add.remote(1));
  try {
    return { first, then: await ray.get(handle.hold.remote(door)) };
  } catch (error) {
    return { first, then: (error as Error).name };
  }
});

/** A node that joined and that the driver places work on (one reply from an actor there). */
async function freshNode(): Promise<{ node: Cluster["nodes"][number]; keeper: ray.ActorHandle<Keeper> }> {
  const node = await cluster.addNode({ numCpus: 1 });
  await eventually(() => ray.nodes().some((n) => n.nodeId === node.nodeId), `node ${node.nodeId} in nodes()`);
  const keeper = Keepers.options(onNode(node.nodeId)).remote();
  assert.equal(await ray.get(keeper.add.remote(0)), 0);
  return { node, keeper };
}

test("an actor killed while a task on another node holds its handle: the task's next call fails with ActorDiedError", LIMIT, async () => {
  const keeper = Keepers.options(onNode(nodeIdAt(cluster, 0))).remote();
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(nodeIdAt(cluster, 2)) }).remote();
  const out = callAfterGo.options(onNode(nodeIdAt(cluster, 1))).remote(keeper, gate);
  await arrival(gate, out);
  ray.kill(keeper);
  gate.open.remote();
  assert.deepEqual(await ray.get(out), { first: 3, then: "ActorDiedError" });
  ray.kill(gate);
});

test("an actor killed while a task on another node waits for its reply: the call fails with ActorDiedError", LIMIT, async () => {
  const keeper = Keepers.options({ maxConcurrency: 2, ...onNode(nodeIdAt(cluster, 0)) }).remote();
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(nodeIdAt(cluster, 2)) }).remote();
  const out = callHeld.options(onNode(nodeIdAt(cluster, 1))).remote(keeper, gate);
  await arrival(gate, out);
  ray.kill(keeper);
  assert.deepEqual(await ray.get(out), { first: 1, then: "ActorDiedError" });
  ray.kill(gate);
});

test("the node of an actor dies while a task on another node holds its handle: the task's next call fails with ActorDiedError", LIMIT, async () => {
  const { node, keeper } = await freshNode();
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(nodeIdAt(cluster, 2)) }).remote();
  const out = callAfterGo.options(onNode(nodeIdAt(cluster, 1))).remote(keeper, gate);
  await arrival(gate, out);
  cluster.kill(node);
  gate.open.remote();
  assert.deepEqual(await ray.get(out), { first: 3, then: "ActorDiedError" });
  ray.kill(gate);
});

test("the node of an actor dies while a task on another node waits for its reply: the call fails with ActorDiedError", LIMIT, async () => {
  const { node, keeper } = await freshNode();
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(nodeIdAt(cluster, 2)) }).remote();
  const out = callHeld.options(onNode(nodeIdAt(cluster, 1))).remote(keeper, gate);
  await arrival(gate, out);
  cluster.kill(node);
  assert.deepEqual(await ray.get(out), { first: 1, then: "ActorDiedError" });
  ray.kill(gate);
});
