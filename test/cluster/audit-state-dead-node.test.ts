/**
 * What the state API says of a node that died: its actors are dead (with
 * the node's death as the cause), not "alive" forever from the last events
 * the node published before it was killed.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 1 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

test("the actors of a node that died are listed dead, naming the node", async () => {
  const victim = cluster.nodes[1];
  assert.ok(victim);
  const Pinned = ray.remote(
    class Pinned {
      where() {
        return ray.getRuntimeContext().nodeId;
      }
    },
  );
  const actor = Pinned.options({ scheduling: { nodeId: victim.nodeId, soft: false } }).remote();
  assert.equal(await ray.get(actor.where.remote()), victim.nodeId);
  const listed = async (): Promise<ray.ActorInfo | undefined> => (await ray.state.listActors({ filter: { nodeId: victim.nodeId } })).items.find((a) => a.className === "Pinned");
  assert.equal((await listed())?.state, "alive");

  cluster.kill(victim);
  // Declared dead once its heartbeat lapses: poll (guarded) until the listing says so.
  const deadline = Date.now() + GUARD_MS;
  let after = await listed();
  while (after?.state !== "dead") {
    assert.ok(Date.now() < deadline, `the actor of the dead node is still listed ${String(after?.state)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await listed();
  }
  assert.match(after.deathCause ?? "", new RegExp(`node ${victim.nodeId} died`));
  const alive = await ray.state.listActors({ filter: { state: "alive", nodeId: victim.nodeId } });
  assert.deepEqual(alive.items, []);
});
