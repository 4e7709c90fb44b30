/**
 * Handles of an unnamed actor held away from its owner follow it through a
 * restart: a task on another node, and other drivers that got the handle
 * from a named "directory" actor (before the restart, or after), reach the actor on
 * the node it restarted on once its node died (calls left unanswered by
 * the death are retried while `maxTaskRetries` lasts, or fail with
 * ActorDiedError; later calls succeed; each caller's calls keep their
 * order). Once the actor is out of restarts or killed, every holder's calls
 * fail with ActorDiedError, and its placement leaves Redis. Restarts land on
 * a known node: the actors need a custom resource only the fresh nodes of a
 * test have. The tests wait on events (a gate actor, Redis lists), never on
 * time.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import * as ray from "../../src/index.js";
import { placementsKey } from "../../src/cluster/actor-registry.js";
import type { ClusterBackend } from "../../src/cluster/driver.js";
import { state } from "../../src/core/runtime/global-state.js";
import { runScript } from "../support/child.js";
import { eventually, GUARD_MS } from "../support/shared.js";
import { arrival, Gates, signalsOf, type Door } from "./actor-kit.js";
import { Cluster, nodeIdAt } from "./harness.js";

// Node deaths are noticed after 4 s of missed beats; a driver's placements lapse 4 s after its last beat.
process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

let cluster: Cluster;
let redis: Redis;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
  redis = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password });
});

after(async () => {
  redis?.disconnect();
  await ray.shutdown();
  await cluster?.shutdown();
});

function driverId(): string {
  return (state.backend as unknown as ClusterBackend).driverId;
}

function onNode(index: number): { scheduling: { nodeId: string; soft: boolean } } {
  return { scheduling: { nodeId: nodeIdAt(cluster, index), soft: false } };
}

/** Polls Redis between short pauses until `condition` holds (fails after the guard instead of hanging). */
async function redisUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether this driver still places an actor on one of `nodes` in Redis. */
async function placedOn(...nodes: string[]): Promise<boolean> {
  const placements = Object.values(await redis.hgetall(placementsKey(driverId())));
  return placements.some((text) => nodes.includes((JSON.parse(text) as { nodeId: string }).nodeId));
}

/** Tests so far, each with a resource of its own. */
let tests = 0;

/** Two fresh nodes with a resource of this test's own, which its actor needs: it starts on the first and restarts on the second. */
async function followNodes(): Promise<{ first: Cluster["nodes"][number]; second: Cluster["nodes"][number]; resource: string }> {
  const resource = `follow-${++tests}`;
  const [first, second] = await Promise.all([cluster.addNode({ numCpus: 1, resources: { [resource]: 1 } }), cluster.addNode({ numCpus: 1, resources: { [resource]: 1 } })]);
  assert.ok(first !== undefined && second !== undefined);
  const nodes = [first, second];
  await eventually(() => nodes.every((node) => ray.nodes().some((n) => n.nodeId === node.nodeId)), "the fresh nodes in nodes()");
  return { first, second, resource };
}

/** Adds, reporting where it runs; `hold` never answers (after telling a door it got there). */
class Tally {
  n = 0;
  add(by: number): { n: number; here: string } {
    this.n += by;
    return { n: this.n, here: ray.getRuntimeContext().nodeId };
  }
  hold(door: ray.ActorHandle<Door>): Promise<number> {
    door.arrive.remote();
    return new Promise<number>(() => undefined);
  }
}
const Tallies = ray.remote(Tally);

interface Added {
  add(by: number): { n: number; here: string };
  hold(door: ray.ActorHandle<Door>): number;
}

/** The actor, unnamed, with one restart; it starts on `first` (the only other node with `resource` restarts it). */
function tallyOn(first: string, resource: string, maxTaskRetries: number): ray.ActorHandle<Tally> {
  return Tallies.options({ maxRestarts: 1, maxTaskRetries, resources: { [resource]: 1 }, scheduling: { nodeId: first, soft: true } }).remote();
}

/** How a call ended: its value, or its error's name. */
async function outcome<T>(ref: ray.ObjectRef<T>): Promise<T | string> {
  try {
    return await ray.get(ref);
  } catch (error) {
    return (error as Error).name;
  }
}

/** Calls once, reports at the gate, waits for it to open, then makes two calls at once; returns every reply. */
const callAcrossDeath = ray.remote(async (tally: ray.ActorHandle<Added>, door: ray.ActorHandle<Door>) => {
  const first = await ray.get(tally.add.remote(1));
  door.arrive.remote();
  await ray.get(door.opened.remote());
  return { first, then: await ray.get([tally.add.remote(10), tally.add.remote(100)]) };
});

/** Calls once, then makes a call the actor never answers (it reports at the gate); once that ends, calls again. */
const callHeldThenAgain = ray.remote(async (tally: ray.ActorHandle<Added>, door: ray.ActorHandle<Door>) => {
  const first = await ray.get(tally.add.remote(1));
  let held: string;
  try {
    held = String(await ray.get(tally.hold.remote(door)));
  } catch (error) {
    held = (error as Error).name;
  }
  let then: unknown;
  try {
    then = await ray.get(tally.add.remote(5));
  } catch (error) {
    then = (error as Error).name;
  }
  return { first, held, then };
});

const callOnce = ray.remote(async (tally: ray.ActorHandle<Added>) => {
  try {
    return await ray.get(tally.add.remote(1));
  } catch (error) {
    return (error as Error).name;
  }
});

test("a task on another node holding an unnamed actor's handle reaches it where it restarted, its calls in order; past its restarts they fail with ActorDiedError", LIMIT, async () => {
  const { first, second, resource } = await followNodes();
  const tally = tallyOn(first.nodeId, resource, 1);
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(0) }).remote();
  const out = callAcrossDeath.options(onNode(1)).remote(tally, gate);
  await arrival(gate, out);
  cluster.kill(first);
  // Made while the node dies and the actor restarts: whether sent to the dead node or held, they land on the new one, in order.
  gate.open.remote();
  assert.deepEqual(await ray.get(out), {
    first: { n: 1, here: first.nodeId },
    then: [
      { n: 10, here: second.nodeId },
      { n: 110, here: second.nodeId },
    ],
  });
  // Its one restart is spent: the next death ends it for every holder, and its placement leaves Redis.
  cluster.kill(second);
  assert.equal(await ray.get(callOnce.options(onNode(1)).remote(tally)), "ActorDiedError");
  assert.equal(await outcome(tally.add.remote(1)), "ActorDiedError");
  await redisUntil(async () => !(await placedOn(first.nodeId, second.nodeId)), "the actor's placement to leave Redis");
  ray.kill(gate);
});

test("a call a task on another node was waiting on when the actor's node died fails with ActorDiedError (no retries); its next call reaches the restarted actor", LIMIT, async () => {
  const { first, second, resource } = await followNodes();
  const tally = tallyOn(first.nodeId, resource, 0);
  const gate = Gates.options({ maxConcurrency: 4, ...onNode(0) }).remote();
  const out = callHeldThenAgain.options(onNode(1)).remote(tally, gate);
  await arrival(gate, out);
  cluster.kill(first);
  assert.deepEqual(await ray.get(out), { first: { n: 1, here: first.nodeId }, held: "ActorDiedError", then: { n: 5, here: second.nodeId } });
  ray.kill(tally);
  ray.kill(gate);
});

/** Keeps a handle for other drivers. */
class Directory {
  handle: unknown;
  set(handle: unknown): boolean {
    this.handle = handle;
    return true;
  }
  get(): unknown {
    return this.handle;
  }
}

test("other drivers' handles of an unnamed actor, from a named directory actor, follow its restart; once killed, their calls fail with ActorDiedError", LIMIT, async () => {
  const { first, second, resource } = await followNodes();
  const tally = tallyOn(first.nodeId, resource, 1);
  assert.deepEqual(await ray.get(tally.add.remote(1)), { n: 1, here: first.nodeId });
  const directory = ray.remote(Directory).options({ name: "follow-directory", ...onNode(0) }).remote();
  assert.equal(await ray.get(directory.set.remote(tally)), true);
  const connect = `ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false })`;
  const secondDriver = runScript(
    "cluster-follow-directory",
    `
    import * as ray from "RAYTS";
    const { Redis } = await import("ioredis");
    await ${connect};
    const redis = new Redis({ host: ${JSON.stringify(cluster.redis.host)}, port: ${cluster.redis.port}, password: ${JSON.stringify(cluster.password)} });
    const tally = await ray.get(ray.getActor("follow-directory").get.remote());
    console.log("BEFORE", JSON.stringify(await ray.get(tally.add.remote(10))));
    await redis.rpush("test:follow:ready", "1");
    await redis.blpop("test:follow:go", 0);
    // Made while the actor's node dies and it restarts: they wait for it, then land there in order.
    console.log("AFTER", JSON.stringify(await ray.get([tally.add.remote(100), tally.add.remote(1000)])));
    await redis.rpush("test:follow:moved", "1");
    await redis.blpop("test:follow:killed", 0);
    try {
      await ray.get(tally.add.remote(5));
      console.log("KILLED-CALL answered");
    } catch (error) {
      console.log("KILLED-CALL", error.name);
    }
    redis.disconnect();
    await ray.shutdown();
  `,
    { timeoutMs: 150_000 },
  );
  const signals = redis.duplicate();
  const signal = signalsOf(signals, secondDriver);
  try {
    await signal("test:follow:ready");
    cluster.kill(first);
    await signals.rpush("test:follow:go", "1");
    await signal("test:follow:moved");
    // A third driver takes the handle from the directory after the restart.
    const late = await runScript(
      "cluster-follow-late",
      `
      import * as ray from "RAYTS";
      await ${connect};
      const tally = await ray.get(ray.getActor("follow-directory").get.remote());
      console.log("LATE", JSON.stringify(await ray.get(tally.add.remote(10000))));
      await ray.shutdown();
    `,
      { timeoutMs: 90_000 },
    );
    assert.equal(late.code, 0, late.stdout + late.stderr);
    assert.match(late.stdout, new RegExp(`LATE ${JSON.stringify(JSON.stringify({ n: 11100, here: second.nodeId })).slice(1, -1)}`));
    ray.kill(tally);
    // Released after the kill was written: the second driver's next call cannot reach the actor before the kill does.
    await redisUntil(async () => !(await placedOn(second.nodeId)), "the killed actor's placement to leave Redis");
    await signals.rpush("test:follow:killed", "1");
    const child = await secondDriver;
    assert.equal(child.code, 0, child.stdout + child.stderr);
    assert.match(child.stdout, new RegExp(`BEFORE ${JSON.stringify(JSON.stringify({ n: 11, here: first.nodeId })).slice(1, -1)}`));
    const moved = JSON.stringify([{ n: 100, here: second.nodeId }, { n: 1100, here: second.nodeId }]);
    assert.match(child.stdout, new RegExp(`AFTER ${JSON.stringify(moved).slice(1, -1).replaceAll("[", "\\[").replaceAll("]", "\\]")}`));
    assert.match(child.stdout, /KILLED-CALL ActorDiedError/);
  } finally {
    signals.disconnect();
  }
  ray.kill(directory);
});

test("a driver's placements leave Redis with it: at shutdown, and once it died without one", LIMIT, async () => {
  for (const ending of ["await ray.shutdown();", 'process.kill(process.pid, "SIGKILL");']) {
    const before = new Set(await redis.keys("rayts:placed:*"));
    const child = runScript(
      "cluster-follow-owner",
      `
      import * as ray from "RAYTS";
      const { Redis } = await import("ioredis");
      await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false });
      const redis = new Redis({ host: ${JSON.stringify(cluster.redis.host)}, port: ${cluster.redis.port}, password: ${JSON.stringify(cluster.password)} });
      const Tally = ray.remote(class { n = 0; add() { return ++this.n; } });
      const tallies = [Tally.options({ maxRestarts: 1 }).remote(), Tally.options({ lifetime: "detached" }).remote()];
      console.log("ADDED", JSON.stringify(await ray.get(tallies.map((tally) => tally.add.remote()))));
      await redis.rpush("test:owner:ready", "1");
      await redis.blpop("test:owner:go", 0);
      redis.disconnect();
      ${ending}
    `,
      { timeoutMs: 90_000 },
    );
    const signals = redis.duplicate();
    try {
      await signalsOf(signals, child)("test:owner:ready");
      const added = (await redis.keys("rayts:placed:*")).filter((key) => !before.has(key));
      assert.equal(added.length, 1, `one new owner of placements: ${added.join(", ")}`);
      const key = added[0] as string;
      assert.equal(await redis.hlen(key), 2, "both actors are placed");
      await signals.rpush("test:owner:go", "1");
      const done = await child;
      assert.match(done.stdout, /ADDED \[1,1\]/, done.stdout + done.stderr);
      await redisUntil(async () => (await redis.exists(key)) === 0, `${key} to leave Redis after: ${ending}`);
    } finally {
      signals.disconnect();
    }
  }
});
