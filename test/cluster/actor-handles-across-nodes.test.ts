/**
 * Actor handles across nodes, as Ray's parameter-server pattern uses them:
 * a driver's actor handle passed to tasks on other nodes is called from
 * there (each caller's calls in order), `getActor(name)` inside a task on a
 * node finds an actor of the cluster, and a handle a task returns works in
 * the driver (deaths: actor-handles-deaths.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { runScript } from "../support/child.js";
import { Cluster, nodeIdAt } from "./harness.js";

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

function onNode(index: number): { scheduling: { nodeId: string; soft: boolean } } {
  return { scheduling: { nodeId: nodeIdAt(cluster, index), soft: false } };
}

/** Keeps the sum of what it was given and, per caller, the order it was given in. */
class ParamServer {
  total = 0;
  seen: Record<string, number[]> = {};
  push(caller: string, step: number, delta: number): number {
    (this.seen[caller] ??= []).push(step);
    this.total += delta;
    return this.total;
  }
  state(): { total: number; seen: Record<string, number[]> } {
    return { total: this.total, seen: this.seen };
  }
}
const Server = ray.remote(ParamServer);

interface Pusher {
  push(caller: string, step: number, delta: number): number;
}

/** A worker: calls the server `steps` times without waiting in between, then waits for every reply. */
const worker = ray.remote(async (server: ray.ActorHandle<Pusher>, caller: string, steps: number) => {
  const replies = [];
  for (let step = 0; step < steps; step++) replies.push(server.push.remote(caller, step, step + 1));
  await ray.get(replies);
  return ray.getRuntimeContext().nodeId;
});

test("a driver's actor handle passed to tasks on two other nodes: every call lands, each caller's in order", LIMIT, async () => {
  const server = Server.options(onNode(0)).remote();
  const steps = 40;
  const nodes = await ray.get([worker.options(onNode(1)).remote(server, "a", steps), worker.options(onNode(2)).remote(server, "b", steps), worker.options(onNode(0)).remote(server, "c", steps)]);
  assert.deepEqual(nodes, [nodeIdAt(cluster, 1), nodeIdAt(cluster, 2), nodeIdAt(cluster, 0)], "the workers ran where they were placed");
  const { total, seen } = await ray.get(server.state.remote());
  const perCaller = (steps * (steps + 1)) / 2;
  assert.equal(total, 3 * perCaller);
  const inOrder = Array.from({ length: steps }, (_, step) => step);
  assert.deepEqual(seen, { a: inOrder, b: inOrder, c: inOrder });
  ray.kill(server);
});

test("an actor given another actor's handle calls it from its own node", LIMIT, async () => {
  const server = Server.options(onNode(0)).remote();
  const Trainer = ray.remote(
    class Trainer {
      server: ray.ActorHandle<Pusher>;
      constructor(server: ray.ActorHandle<Pusher>) {
        this.server = server;
      }
      async train(steps: number): Promise<number> {
        let last = 0;
        for (let step = 0; step < steps; step++) last = await ray.get(this.server.push.remote("trainer", step, 1));
        return last;
      }
    },
  );
  const trainer = Trainer.options(onNode(1)).remote(server);
  assert.equal(await ray.get(trainer.train.remote(5)), 5);
  assert.deepEqual((await ray.get(server.state.remote())).seen, { trainer: [0, 1, 2, 3, 4] });
  ray.kill(trainer);
  ray.kill(server);
});

test("getActor(name) inside a task on a node finds an actor another node hosts", LIMIT, async () => {
  const server = Server.options({ name: "param-server", namespace: "training", ...onNode(1) }).remote();
  // A reply from the actor: its name was registered before it was created.
  assert.equal(await ray.get(server.push.remote("driver", 0, 5)), 5);
  const viaName = ray.remote(async (name: string, by: number) => {
    const found = ray.getActor<Pusher>(name, { namespace: "training" });
    return ray.get(found.push.remote("task", 0, by));
  });
  assert.equal(await ray.get(viaName.options(onNode(2)).remote("param-server", 7)), 12);
  assert.equal(await ray.get(viaName.options(onNode(1)).remote("param-server", 1)), 13, "a task on the actor's own node finds it too");
  await assert.rejects(ray.get(viaName.options(onNode(2)).remote("no-such-server", 1)), /no live actor is named "no-such-server"/);
  ray.kill(server);
});

test("getActor(name) inside a task on a node finds an actor another driver created just before", LIMIT, async () => {
  const other = await runScript(
    "cluster-named-for-tasks",
    `
    import * as ray from "RAYTS";
    await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}, includeDashboard: false });
    const Tally = ray.remote(class Tally { n = 0; push(caller, step, by) { this.n += by; return this.n; } });
    const tally = Tally.options({ name: "other-drivers-tally", lifetime: "detached", scheduling: { nodeId: ${JSON.stringify(nodeIdAt(cluster, 0))}, soft: false } }).remote();
    console.log("PUSHED", await ray.get(tally.push.remote("maker", 0, 1)));
    await ray.shutdown();
  `,
    { timeoutMs: 120_000 },
  );
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /PUSHED 1$/m);
  const viaName = ray.remote(async (by: number) => ray.get(ray.getActor<Pusher>("other-drivers-tally").push.remote("task", 0, by)));
  assert.equal(await ray.get(viaName.options(onNode(1)).remote(10)), 11);
  assert.equal(await ray.get(viaName.options(onNode(2)).remote(100)), 111);
  ray.kill(ray.getActor("other-drivers-tally"));
});

test("a task sent right after the driver names an actor finds it by name on its node", LIMIT, async () => {
  const viaName = ray.remote(async (name: string) => ray.get(ray.getActor<Pusher>(name).push.remote("task", 0, 1)));
  for (let round = 0; round < 5; round++) {
    const name = `fresh-${round}`;
    const server = Server.options({ name, ...onNode(0) }).remote();
    // No wait in between: the name must reach node 1 before this task does.
    assert.equal(await ray.get(viaName.options(onNode(1)).remote(name)), 1, `round ${round}`);
    ray.kill(server);
  }
});

test("a handle a task on a node returns works in the driver, for the driver's actor and for one the task made there", LIMIT, async () => {
  const server = Server.options(onNode(2)).remote();
  const passBack = ray.remote((handle: ray.ActorHandle<Pusher>) => handle);
  const back = await ray.get(passBack.options(onNode(1)).remote(server));
  assert.equal(back.actorId, server.actorId, "the same actor comes back");
  assert.equal(await ray.get(back.push.remote("driver", 0, 3)), 3);
  assert.equal(await ray.get(server.push.remote("driver", 1, 4)), 7, "both handles reach one actor");

  const makeOne = ray.remote(async () => {
    const Local = ray.remote(
      class Counter {
        n = 0;
        push(_caller: string, _step: number, delta: number): number {
          this.n += delta;
          return this.n;
        }
      },
    );
    const made = Local.remote();
    await ray.get(made.push.remote("maker", 0, 10));
    return made;
  });
  const made = await ray.get(makeOne.options(onNode(1)).remote());
  assert.equal(await ray.get(made.push.remote("driver", 0, 1)), 11, "the driver sees the state the task left");
  // A task on another node reaches it too.
  await ray.get(worker.options(onNode(2)).remote(made, "other", 3));
  assert.equal(await ray.get(made.push.remote("driver", 1, 0)), 17);
  ray.kill(server);
});

test("handles inside arrays and plain objects travel both ways", LIMIT, async () => {
  const servers = [Server.options(onNode(0)).remote(), Server.options(onNode(2)).remote()];
  const fanOut = ray.remote(async (config: { servers: ray.ActorHandle<Pusher>[]; by: number }) => {
    const totals = await ray.get(config.servers.map((server) => server.push.remote("nested", 0, config.by)));
    return { totals, servers: config.servers };
  });
  const out = await ray.get(fanOut.options(onNode(1)).remote({ servers, by: 6 }));
  assert.deepEqual(out.totals, [6, 6]);
  assert.deepEqual(
    out.servers.map((server) => server.actorId),
    servers.map((server) => server.actorId),
  );
  assert.deepEqual(await ray.get(out.servers.map((server) => server.push.remote("driver", 0, 1))), [7, 7]);
  for (const server of servers) ray.kill(server);
});

test("a task on a node passes the handle on to a nested task on another node", LIMIT, async () => {
  const server = Server.options(onNode(0)).remote();
  const parent = ray.remote(async (handle: ray.ActorHandle<Pusher>, target: string) => {
    const child = ray.remote(async (inner: ray.ActorHandle<Pusher>) => ({ total: await ray.get(inner.push.remote("child", 0, 9)), node: ray.getRuntimeContext().nodeId }));
    return ray.get(child.options({ scheduling: { nodeId: target, soft: false } }).remote(handle));
  });
  const out = await ray.get(parent.options(onNode(1)).remote(server, nodeIdAt(cluster, 2)));
  assert.deepEqual(out, { total: 9, node: nodeIdAt(cluster, 2) });
  ray.kill(server);
});
