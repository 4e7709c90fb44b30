/**
 * Declaring a node dead, on a Redis of its own with a made-up node: two
 * observers race and exactly one wins; the winner claims the entries the
 * node took but never acknowledged and the ones it never read, and hands
 * their ids to their (live) owner; the node's beat is then refused.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deserialize, serialize } from "node:v8";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { driverKey, Liveness, tombstoneKey } from "../../src/cluster/liveness.js";
import type { ResultBatch, ToNode } from "../../src/cluster/wire.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
const planes: ControlPlane[] = [];

before(async () => {
  cluster = await Cluster.start([]);
});

after(async () => {
  for (const plane of planes) await plane.close();
  await cluster?.shutdown();
});

async function plane(name: string): Promise<ControlPlane> {
  const opened = await ControlPlane.connect(cluster.address, cluster.password, name);
  planes.push(opened);
  return opened;
}

const settings = { heartbeatMs: 100, deadMs: 1000, driverDeadMs: 1000, reconnectWindowMs: 60_000 };
const quiet = { log: () => undefined, unreachable: () => undefined };

function task(id: string, owner: string): ToNode {
  return { k: "task", id, owner, fn: "f", name: "f", args: [], numCpus: 1, maxRetries: 3, retryExceptions: false };
}

test("two observers race to declare a node dead: one wins, it claims taken and unread entries for their owner, the node is refused", async () => {
  const setup = await plane("setup");
  const redis = setup.redis;
  const node = "feedface00000001";
  const owner = "downer0001";
  const stream = `${PREFIX}tasks:${node}`;
  await redis.hset(`${PREFIX}nodes`, node, JSON.stringify({ nodeId: node }));
  await redis.call("XGROUP", "CREATE", stream, "node", "$", "MKSTREAM");
  await redis.xadd(stream, "*", "m", serialize([task(`${owner}.1`, owner), task(`${owner}.2`, owner)]));
  // The node takes the first entry and dies before acknowledging it.
  const taken = (await redis.call("XREADGROUP", "GROUP", "node", "n", "COUNT", 1, "STREAMS", stream, ">")) as unknown[];
  assert.equal(taken.length, 1);
  await redis.xadd(stream, "*", "m", serialize([task(`${owner}.3`, owner)]));
  await redis.set(driverKey(owner), "1", "PX", 60_000);

  const first = new Liveness(await plane("observer-1"), { kind: "driver", id: "dobserver1" }, settings, quiet);
  const second = new Liveness(await plane("observer-2"), { kind: "driver", id: "dobserver2" }, settings, quiet);
  const outcomes = await Promise.all([first.declareDead(node), second.declareDead(node)]);
  assert.deepEqual(outcomes.filter(Boolean).length, 1, `exactly one declaration, got ${JSON.stringify(outcomes)}`);
  const winner = outcomes[0] ? first : second;
  assert.equal(winner.declared[0]?.claimed, 1, "one entry was taken and never acknowledged");

  assert.equal(await redis.hexists(`${PREFIX}nodes`, node), 0);
  assert.equal(await redis.exists(stream), 0);
  const handed = (await redis.callBuffer("XRANGE", `${PREFIX}results:${owner}`, "-", "+")) as [Buffer, Buffer[]][];
  assert.equal(handed.length, 1);
  const batch = deserialize(handed[0]?.[1][1] as Buffer) as ResultBatch;
  assert.deepEqual(batch.died, { nodeId: node, lost: [`${owner}.1`, `${owner}.2`, `${owner}.3`] });

  // The node comes back under the same id: its beat is refused.
  let refused = 0;
  const stale = new Liveness(setup, { kind: "node", id: node, load: () => ({ inFlight: 0, busyCpus: 0, actors: 0 }) }, settings, { ...quiet, refused: () => refused++ });
  await stale.beat();
  assert.equal(refused, 1);
  assert.equal(await redis.exists(`${PREFIX}alive:${node}`), 0);
  assert.ok((await redis.get(tombstoneKey(node))) !== null);
});
