/**
 * Cluster fault tolerance, one behaviour per test: a killed node is declared
 * dead once and its tasks run again; actors restart elsewhere; a node paused
 * past its time to live is refused and rejoins as a new node; lost objects are
 * rebuilt from lineage or fail with ObjectLostError; a driver that dies has
 * its work cleaned up on every node. Short heartbeats (set before the cluster
 * starts, inherited by every node) keep detection quick.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import * as ray from "../../src/index.js";
import type { ClusterBackend } from "../../src/cluster/driver.js";
import { PREFIX } from "../../src/cluster/control-plane.js";
import { tombstoneKey } from "../../src/cluster/liveness.js";
import { state } from "../../src/core/runtime/global-state.js";
import { runScript } from "../support/child.js";
import { eventually } from "../support/shared.js";
import { Cluster } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";

let cluster: Cluster;
let redis: Redis;

function backend(): ClusterBackend {
  return state.backend as unknown as ClusterBackend;
}

/** Blocks for good when it runs on `victim`, else returns where it ran and `value` doubled. */
const stuckOn = ray.remote((victim: string, value: number) => {
  const here = ray.getRuntimeContext().nodeId;
  if (here === victim) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  return { here, value: value * 2 };
});

const whereAmI = ray.remote(() => ray.getRuntimeContext().nodeId);

/**
 * How many tests below take a plain fresh node (no custom resources). Each
 * such node is started while the test before it runs (mostly waiting for a
 * death to be noticed), and the last one is taken before the last test, so
 * no node joins while a test counts the cluster's resources.
 */
const PLAIN_NODES = 8;
let plainStarted = 0;
let nextPlain: Promise<Cluster["nodes"][number]> | undefined;

/** Starts the next plain node in the background, while any are still to come. */
function startNextPlain(): void {
  nextPlain = undefined;
  if (plainStarted >= PLAIN_NODES) return;
  plainStarted++;
  nextPlain = cluster.addNode({ numCpus: 2 });
  // Its failure is reported by the test that takes it.
  nextPlain.catch(() => undefined);
}

/** Lets a plain node still starting (when tests were left out) join before a test that counts resources. */
async function noNodeStarting(): Promise<void> {
  if (nextPlain === undefined) return;
  plainStarted = PLAIN_NODES;
  await freshNode();
}

/** A node that has joined and runs tasks (one round trip through it). */
async function freshNode(resources: Record<string, number> = {}): Promise<string> {
  let node: Cluster["nodes"][number];
  if (Object.keys(resources).length === 0 && nextPlain !== undefined) {
    const started = nextPlain;
    startNextPlain();
    node = await started;
  } else {
    node = await cluster.addNode({ numCpus: 2, resources });
  }
  await eventually(() => ray.nodes().some((n) => n.nodeId === node.nodeId), `node ${node.nodeId} in nodes()`);
  assert.equal(await ray.get(whereAmI.options({ scheduling: { nodeId: node.nodeId } }).remote()), node.nodeId);
  return node.nodeId;
}

function launched(nodeId: string): Cluster["nodes"][number] {
  const node = cluster.nodes.find((n) => n.nodeId === nodeId);
  assert.ok(node, `node ${nodeId} was launched`);
  return node;
}

async function gone(nodeId: string): Promise<void> {
  await eventually(() => !ray.nodes().some((n) => n.nodeId === nodeId), `node ${nodeId} to leave nodes()`);
}

/** Waits until a node's tombstone is in Redis (written by whoever declares it dead). */
async function tombstoned(nodeId: string): Promise<void> {
  let found = false;
  let stop = false;
  const poll = (async () => {
    while (!found && !stop) {
      found = (await redis.exists(tombstoneKey(nodeId))) === 1;
      if (!found) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    await eventually(() => found, `the tombstone of ${nodeId}`);
  } finally {
    stop = true;
    await poll;
  }
}

/** The loads every live node reports in its heartbeat. */
async function loadsNow(): Promise<{ actors: number; busyCpus: number }[]> {
  const ids = await redis.hkeys(`${PREFIX}nodes`);
  const values = ids.length === 0 ? [] : await redis.mget(ids.map((id) => `${PREFIX}alive:${id}`));
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as { actors: number; busyCpus: number });
}

/** Lines "declared node <id> dead" in every node log of the run. */
function declarationsInLogs(nodeId: string): number {
  return readdirSync(cluster.dir)
    .filter((file) => file.startsWith("node-") && file.endsWith(".log"))
    .map((file) => readFileSync(join(cluster.dir, file), "utf8").split("\n").filter((line) => line.includes(`declared node ${nodeId} dead`)).length)
    .reduce((a, b) => a + b, 0);
}

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }]);
  redis = new Redis({ host: cluster.redis.host, port: cluster.redis.port, password: cluster.password, lazyConnect: true });
  await redis.connect();
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  startNextPlain();
});

after(async () => {
  await nextPlain?.catch(() => undefined);
  await ray.shutdown();
  redis?.disconnect();
  await cluster?.shutdown();
});

describe("cluster faults: node death", () => {
  test("a killed node is declared dead exactly once, and its tasks run again on live nodes", async () => {
    const victim = await freshNode();
    const refs = [1, 2, 3, 4].map((value) => stuckOn.options({ scheduling: { nodeId: victim, soft: true } }).remote(victim, value));
    cluster.kill(launched(victim));
    const results = await ray.get(refs);
    assert.deepEqual(results.map((r) => r.value), [2, 4, 6, 8]);
    for (const result of results) assert.notEqual(result.here, victim);
    await gone(victim);
    const declarer = await redis.get(tombstoneKey(victim));
    assert.ok(declarer !== null, "a tombstone names who declared the node dead");
    const byDriver = backend().faultStats().declared.filter((d) => d.nodeId === victim).length;
    assert.equal(declarationsInLogs(victim) + byDriver, 1, "one declaration in the whole cluster");
    assert.equal(await redis.hexists(`${PREFIX}nodes`, victim), 0);
    assert.equal(await redis.exists(`${PREFIX}tasks:${victim}`), 0);
  });

  test("a task waiting on a dead node for its custom resources is placed again", async () => {
    const [spare, victim] = await Promise.all([freshNode({ slot: 1 }), freshNode({ slot: 1 })]);
    const onVictim = stuckOn.options({ scheduling: { nodeId: victim, soft: true }, resources: { slot: 1 } });
    const running = onVictim.remote(victim, 1);
    const waiting = onVictim.remote(victim, 2); // the victim's one slot is taken: this one waits for it
    await eventually(() => (ray.availableResources() as unknown as Record<string, number>)["slot"] === 1, "the victim's slot to be taken");
    cluster.kill(launched(victim));
    const results = await ray.get([running, waiting]);
    assert.deepEqual(results.map((r) => r.value), [2, 4]);
    for (const result of results) assert.equal(result.here, spare);
    cluster.kill(launched(spare));
    await gone(spare);
  });

  test("a task out of retries fails with NodeDiedError naming the node", async () => {
    const victim = await freshNode();
    const ref = stuckOn.options({ scheduling: { nodeId: victim, soft: true }, maxRetries: 0 }).remote(victim, 1);
    await eventually(() => (ray.availableResources().CPU ?? 0) < (ray.clusterResources().CPU ?? 0), "the task to be placed");
    cluster.kill(launched(victim));
    await assert.rejects(ray.get(ref), (error: Error) => {
      assert.ok(error instanceof ray.NodeDiedError, String(error));
      assert.equal(error.code, "NODE_DIED");
      assert.match(error.message, new RegExp(victim));
      return true;
    });
  });
});

describe("cluster faults: actors", () => {
  test("an actor on a dead node restarts on a live node with a fresh state; its pending call is retried", async () => {
    const victim = await freshNode();
    class Counter {
      count = 0;
      incr(): number {
        return ++this.count;
      }
      stall(victimId: string): string {
        const here = ray.getRuntimeContext().nodeId;
        if (here === victimId) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        return here;
      }
    }
    const Remote = ray.remote(Counter);
    const actor = Remote.options({ maxRestarts: 1, maxTaskRetries: 1, scheduling: { nodeId: victim, soft: true } }).remote();
    assert.deepEqual(await ray.get([actor.incr.remote(), actor.incr.remote()]), [1, 2]);
    const stalled = actor.stall.remote(victim);
    const after = actor.incr.remote();
    cluster.kill(launched(victim));
    const movedTo = await ray.get(stalled);
    assert.notEqual(movedTo, victim);
    assert.equal(await ray.get(after), 1, "the restarted actor starts from a fresh state");
    assert.equal(backend().faultStats().actorRestarts, 1);
  });

  test("past maxRestarts, calls fail with ActorDiedError naming the node", async () => {
    const victim = await freshNode();
    const Stuck = ray.remote(
      class {
        stall(victimId: string): string {
          if (ray.getRuntimeContext().nodeId === victimId) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
          return "unreachable";
        }
      },
    );
    const actor = Stuck.options({ scheduling: { nodeId: victim } }).remote();
    const pending = actor.stall.remote(victim);
    cluster.kill(launched(victim));
    await assert.rejects(ray.get(pending), (error: Error) => {
      assert.ok(error instanceof ray.ActorDiedError, String(error));
      assert.match(error.message, new RegExp(`node ${victim} died`));
      return true;
    });
    await assert.rejects(ray.get(actor.stall.remote(victim)), ray.ActorDiedError);
  });
});

describe("cluster faults: named actors", () => {
  test("a named actor restarted on another node is reached there by a driver that found it before, and found there by a new one", async () => {
    const victim = await freshNode();
    class Tally {
      n = 0;
      add(k: number): { n: number; here: string } {
        this.n += k;
        return { n: this.n, here: ray.getRuntimeContext().nodeId };
      }
    }
    const actor = ray.remote(Tally).options({ name: "tally", maxRestarts: 1, maxTaskRetries: 1, scheduling: { nodeId: victim, soft: true } }).remote();
    assert.deepEqual(await ray.get(actor.add.remote(1)), { n: 1, here: victim });
    const connect = `ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)} })`;
    // A second driver finds the actor, calls it, then waits (on a Redis list) until the actor has moved.
    const second = runScript(
      "cluster-named-restart",
      `
      import * as ray from "RAYTS";
      const { Redis } = await import("ioredis");
      await ${connect};
      const redis = new Redis({ host: ${JSON.stringify(cluster.redis.host)}, port: ${cluster.redis.port}, password: ${JSON.stringify(cluster.password)} });
      const found = ray.getActor("tally");
      console.log("BEFORE", JSON.stringify(await ray.get(found.add.remote(10))));
      await redis.rpush("test:tally:ready", "1");
      await redis.blpop("test:tally:go", 0);
      console.log("AFTER", JSON.stringify(await ray.get(found.add.remote(100))));
      redis.disconnect();
      await ray.shutdown();
    `,
      { timeoutMs: 90_000 },
    );
    const signals = redis.duplicate();
    try {
      await signals.blpop("test:tally:ready", 0);
      cluster.kill(launched(victim));
      const moved = await ray.get(actor.add.remote(1));
      assert.notEqual(moved.here, victim);
      assert.equal(moved.n, 1, "the restarted actor starts from a fresh state");
      await signals.rpush("test:tally:go", "1");
      const child = await second;
      assert.equal(child.code, 0, child.stdout + child.stderr);
      assert.match(child.stdout, new RegExp(`BEFORE ${JSON.stringify(JSON.stringify({ n: 11, here: victim })).slice(1, -1)}`));
      assert.match(child.stdout, new RegExp(`AFTER ${JSON.stringify(JSON.stringify({ n: 101, here: moved.here })).slice(1, -1)}`));
      const late = await runScript(
        "cluster-named-late",
        `
        import * as ray from "RAYTS";
        await ${connect};
        console.log("LATE", JSON.stringify(await ray.get(ray.getActor("tally").add.remote(1000))));
        await ray.shutdown();
      `,
        { timeoutMs: 90_000 },
      );
      assert.equal(late.code, 0, late.stdout + late.stderr);
      assert.match(late.stdout, new RegExp(`LATE ${JSON.stringify(JSON.stringify({ n: 1101, here: moved.here })).slice(1, -1)}`));
    } finally {
      signals.disconnect();
    }
  });
});

describe("cluster faults: objects", () => {
  const makeBig = ray.remote((seed: number) => new Float64Array(50_000).fill(seed));
  const double = ray.remote((input: Float64Array) => input.map((x) => x * 2));

  test("outputs whose every copy died are rebuilt from lineage, inputs first", async () => {
    const victim = await freshNode();
    const onVictim = { scheduling: { nodeId: victim, soft: true } };
    const first = makeBig.options(onVictim).remote(3);
    const second = double.options(onVictim).remote(first);
    await ray.wait([first, second], { numReturns: 2 });
    const before = backend().faultStats().reconstructions;
    cluster.kill(launched(victim));
    await gone(victim);
    const value = await ray.get(second);
    assert.equal(value.length, 50_000);
    assert.ok(value.every((x) => x === 6));
    assert.ok(backend().faultStats().reconstructions - before >= 2, "both tasks ran again");
    assert.ok((await ray.get(first)).every((x) => x === 3));
  });

  test("an output lost past its retries fails its get with ObjectLostError", async () => {
    const victim = await freshNode();
    const ref = makeBig.options({ scheduling: { nodeId: victim }, maxRetries: 0 }).remote(1);
    await ray.wait([ref]);
    cluster.kill(launched(victim));
    await gone(victim);
    await assert.rejects(ray.get(ref), (error: Error) => {
      assert.ok(error instanceof ray.ObjectLostError, String(error));
      assert.equal(error.code, "OBJECT_LOST");
      assert.match(error.message, new RegExp(victim));
      return true;
    });
  });
});

describe("cluster faults: split brain and drivers", () => {
  test("a node paused past its time to live is refused under its id and rejoins as a new node", async () => {
    const victim = await freshNode();
    const node = launched(victim);
    cluster.pause(node, true);
    try {
      await gone(victim);
      // The driver stops listing a node once its heartbeat lapses; the declaration (and its tombstone) may follow a moment later.
      await tombstoned(victim);
    } finally {
      cluster.pause(node, false);
    }
    await eventually(() => ray.nodes().some((n) => n.address === node.address && n.nodeId !== victim), `a new node at ${node.address}`);
    assert.ok(!ray.nodes().some((n) => n.nodeId === victim), "the old id never comes back");
    const rejoined = ray.nodes().find((n) => n.address === node.address);
    assert.ok(rejoined);
    assert.equal(await ray.get(whereAmI.options({ scheduling: { nodeId: rejoined.nodeId } }).remote()), rejoined.nodeId);
    assert.match(readFileSync(node.logFile, "utf8"), new RegExp(`rejoined as new node ${rejoined.nodeId} \\(was ${victim}\\)`));
  });

  test("a driver that dies has its tasks and actors cleaned up on every node; resources return to the totals", async () => {
    await noNodeStarting();
    const head = cluster.nodes[0];
    assert.ok(head);
    const script = `
      import * as ray from "RAYTS";
      await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)} });
      const block = ray.remote(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0; });
      const Holder = ray.remote(class { ping() { return "pong"; } });
      const actor = Holder.remote();
      const named = Holder.options({ name: "orphan-holder" }).remote();
      console.log(await ray.get(actor.ping.remote()), await ray.get(named.ping.remote()));
      const refs = [block.remote(), block.remote()];
      void refs;
      // Waits until the nodes report both tasks running, then dies without shutdown, as a killed driver.
      const { Redis } = await import("ioredis");
      const redis = new Redis({ host: ${JSON.stringify(cluster.redis.host)}, port: ${cluster.redis.port}, password: ${JSON.stringify(cluster.password)} });
      for (;;) {
        const ids = await redis.hkeys("rayts:nodes");
        const loads = (await redis.mget(ids.map((id) => "rayts:alive:" + id))).filter((v) => v !== null).map((v) => JSON.parse(v));
        if (loads.reduce((sum, l) => sum + l.busyCpus, 0) >= 2) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      console.log("NAMED", await redis.hexists("rayts:actors", "orphan-holder"));
      console.log("RUNNING");
      process.kill(process.pid, "SIGKILL");
    `;
    const before = ray.availableResources().CPU;
    const actorsBefore = (await loadsNow()).reduce((sum, l) => sum + l.actors, 0);
    const child = await runScript("cluster-dying-driver", script, { timeoutMs: 60_000 });
    assert.equal(child.signal, "SIGKILL", child.stderr);
    assert.match(child.stdout, /pong pong/);
    assert.match(child.stdout, /NAMED 1/);
    // This driver's own actors hold CPUs too: the child's share must come back.
    await eventually(() => ray.availableResources().CPU === before, "available CPU to return to what it was before the driver ran");
    const loads = loadsNow;
    let last: { actors: number; busyCpus: number }[] = [];
    await eventually(() => {
      void loads().then((l) => (last = l));
      return last.length > 0 && last.reduce((sum, l) => sum + l.actors, 0) === actorsBefore && last.every((l) => l.busyCpus === 0);
    }, "every node to report no busy CPU and no actor of the dead driver");
    const logs = readdirSync(cluster.dir).filter((f) => f.startsWith("node-")).map((f) => readFileSync(join(cluster.dir, f), "utf8")).join("\n");
    assert.match(logs, /owner d[0-9a-f]+ is gone: cancelled \d+ task\(s\), killed \d+ actor\(s\)/);
    // The name of its killed actor is released: no driver finds it any more.
    let named = 1;
    await eventually(() => {
      void redis.hexists(`${PREFIX}actors`, "orphan-holder").then((n) => (named = n));
      return named === 0;
    }, "the dead driver's actor name to be released");
    await eventually(() => {
      try {
        ray.getActor("orphan-holder");
        return false;
      } catch (error) {
        return error instanceof ray.RayError && /no live actor is named "orphan-holder"/.test(error.message);
      }
    }, "getActor to stop finding the dead driver's actor");
  });
});
