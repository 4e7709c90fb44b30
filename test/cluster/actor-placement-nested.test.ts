/**
 * Actors made inside a task on a node are placed by the driver's policies:
 * custom resources only another node has, a node affinity or SPREAD send
 * them to other nodes; with none of those they live on the node that made
 * them. Each actor reports where it runs (`getRuntimeContext().nodeId`), and
 * its handle works in the task that made it and in the driver.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { Cluster, nodeIdAt } from "./harness.js";

let cluster: Cluster;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2, resources: { accelerator: 1 } }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

function onNode(index: number): { scheduling: { nodeId: string; soft: boolean } } {
  return { scheduling: { nodeId: nodeIdAt(cluster, index), soft: false } };
}

interface Where {
  where(): string;
  add(by: number): number;
}

/** Makes an actor with `options` inside a task, calls it twice, and returns where it ran, its count and its handle. */
const makeAndCall = ray.remote(async (options: Record<string, unknown>) => {
  const Placed = ray.remote(
    class Placed {
      n = 0;
      where(): string {
        return ray.getRuntimeContext().nodeId;
      }
      add(by: number): number {
        this.n += by;
        return this.n;
      }
    },
  );
  const actor = Placed.options(options).remote();
  const [where, count] = await ray.get([actor.where.remote(), actor.add.remote(5)]);
  return { where, count, maker: ray.getRuntimeContext().nodeId, actor };
});

test("an actor a task makes with resources only another node has lands on that node; its handle works there and in the driver", LIMIT, async () => {
  const out = await ray.get(makeAndCall.options(onNode(0)).remote({ resources: { accelerator: 1 } }));
  assert.equal(out.maker, nodeIdAt(cluster, 0));
  assert.equal(out.where, nodeIdAt(cluster, 1), "placed on the node with the resource");
  assert.equal(out.count, 5);
  const actor = out.actor as unknown as ray.ActorHandle<Where>;
  assert.equal(await ray.get(actor.add.remote(1)), 6, "the driver reaches the same actor");
  assert.equal(await ray.get(actor.where.remote()), nodeIdAt(cluster, 1));
  ray.kill(actor);
});

test("an actor a task makes with a node affinity lands on that node", LIMIT, async () => {
  const out = await ray.get(makeAndCall.options(onNode(1)).remote(onNode(0)));
  assert.deepEqual([out.maker, out.where, out.count], [nodeIdAt(cluster, 1), nodeIdAt(cluster, 0), 5]);
  ray.kill(out.actor);
});

test("an actor a task makes with no placement options, or with resources its node has, lives on that node", LIMIT, async () => {
  for (const [maker, options] of [
    [0, {}],
    [1, {}],
    [1, { resources: { accelerator: 1 } }],
  ] as const) {
    const out = await ray.get(makeAndCall.options(onNode(maker)).remote(options));
    assert.equal(out.where, nodeIdAt(cluster, maker), `made on node ${maker} with ${JSON.stringify(options)}`);
    ray.kill(out.actor);
  }
});

test("actors a task makes with SPREAD go to both nodes", LIMIT, async () => {
  const spread = ray.remote(async (count: number) => {
    const Placed = ray.remote(
      class Placed {
        where(): string {
          return ray.getRuntimeContext().nodeId;
        }
      },
    );
    const actors = Array.from({ length: count }, () => Placed.options({ scheduling: "SPREAD" }).remote());
    const where = await ray.get(actors.map((actor) => actor.where.remote()));
    for (const actor of actors) ray.kill(actor);
    return where;
  });
  const where = await ray.get(spread.options(onNode(0)).remote(4));
  assert.deepEqual(new Set(where), new Set([nodeIdAt(cluster, 0), nodeIdAt(cluster, 1)]));
});

test("an actor a task makes with resources no node has: its calls fail with ActorDiedError naming the resources", LIMIT, async () => {
  const out = ray.get(makeAndCall.options(onNode(0)).remote({ resources: { accelerator: 4 } }));
  await assert.rejects(out, (error: Error) => error.name === "ActorDiedError" && /accelerator/.test(error.message));
});

test("a task on a node cannot take a name a driver's actor holds: the creation fails as in the driver, getIfExists gives that actor", LIMIT, async () => {
  const Holder = ray.remote(
    class Holder {
      n = 0;
      where(): string {
        return ray.getRuntimeContext().nodeId;
      }
      add(by: number): number {
        this.n += by;
        return this.n;
      }
    },
  );
  const held = Holder.options({ name: "held-name", ...onNode(0) }).remote();
  assert.equal(await ray.get(held.add.remote(1)), 1);
  // On the actor's node, on another node, and with options that would place the new actor elsewhere.
  for (const [maker, options] of [
    [0, { name: "held-name" }],
    [1, { name: "held-name" }],
    [0, { name: "held-name", resources: { accelerator: 1 } }],
  ] as const) {
    await assert.rejects(ray.get(makeAndCall.options(onNode(maker)).remote(options)), /already exists/, `made on node ${maker} with ${JSON.stringify(options)}`);
  }
  const out = await ray.get(makeAndCall.options(onNode(1)).remote({ name: "held-name", getIfExists: true }));
  assert.deepEqual([out.where, out.count], [nodeIdAt(cluster, 0), 6]);
  assert.equal(await ray.get(held.add.remote(1)), 7, "the driver's actor is the one the task reached");
  ray.kill(held);
});
