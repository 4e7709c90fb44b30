/**
 * Objects and actors across nodes: a 200 MB array made on one node and
 * summed on another, locality, refs between nodes and their freeing, actors
 * placed on a node and found by name from another driver, and the password
 * and token that guard the cluster.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { pullObject } from "../../src/cluster/object-server.js";
import { runScript } from "../support/child.js";
import { Cluster } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let cluster: Cluster;
let plane: ControlPlane;
const A = "127.0.0.2";
const B = "127.0.0.3";

function on(address: string): { scheduling: { nodeId: string } } {
  const node = ray.nodes().find((n) => n.address === address);
  assert.ok(node, `no node at ${address}`);
  return { scheduling: { nodeId: node.nodeId } };
}

async function locationKeys(): Promise<string[]> {
  return plane.redis.keys(`${PREFIX}loc:*`);
}

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  plane = await ControlPlane.connect(cluster.address, cluster.password, "test-observer");
});

after(async () => {
  await plane?.close();
  await ray.shutdown();
  await cluster?.shutdown();
});

const LENGTH = 25_000_000; // 200 MB of float64
const make = ray.remote((length: number) => {
  const values = new Float64Array(length);
  for (let i = 0; i < length; i++) values[i] = i % 7;
  return values;
});
const sum = ray.remote((values: Float64Array) => {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] as number;
  return { total, where: ray.getRuntimeContext().nodeAddress };
});
function expectedSum(length: number): number {
  const full = Math.floor(length / 7);
  let total = full * 21;
  for (let i = full * 7; i < length; i++) total += i % 7;
  return total;
}

describe("cluster: objects", () => {
  test("a 200 MB typed array made on node A is summed on node B, which then holds a copy too", async () => {
    const big = make.options(on(A)).remote(LENGTH);
    const result = await ray.get(sum.options(on(B)).remote(big));
    assert.deepEqual(result, { total: expectedSum(LENGTH), where: B });
    const keys = await locationKeys();
    const holders = await Promise.all(keys.map((key) => plane.redis.scard(key)));
    assert.ok(holders.includes(2), `expected an object held by both nodes, got ${JSON.stringify(holders)}`);
    const back = await ray.get(big);
    assert.equal(back.length, LENGTH);
    assert.equal(back[LENGTH - 1], (LENGTH - 1) % 7);
  });

  test("locality: a task whose large argument lives on node B runs on B", async () => {
    const onB = make.options(on(B)).remote(1_000_000);
    const where = ray.remote((values: Float64Array) => [values.length, ray.getRuntimeContext().nodeAddress] as const);
    assert.deepEqual(await ray.get(where.remote(onB)), [1_000_000, B]);
  });

  test("large values put by the driver and small refs travel between nodes", async () => {
    const data = new Float64Array(1_000_000).map((_, i) => i % 10);
    const put = ray.put(data);
    assert.deepEqual(await ray.get(sum.options(on(B)).remote(put)), { total: 4_500_000, where: B });
    const inc = ray.remote((x: number) => x + 1);
    let ref = inc.options(on(A)).remote(0);
    for (let i = 1; i < 6; i++) ref = inc.options(on(i % 2 === 0 ? A : B)).remote(ref);
    assert.equal(await ray.get(ref), 6);
  });

  test("a large object is freed everywhere once no ref to it is alive", async () => {
    const before = new Set(await locationKeys());
    let ref: ray.ObjectRef<Float64Array> | undefined = make.options(on(A)).remote(200_000);
    await ray.get(sum.options(on(B)).remote(ref));
    const made = (await locationKeys()).filter((key) => !before.has(key));
    assert.equal(made.length, 1);
    ref = undefined;
    const deadline = Date.now() + 30_000;
    while ((await plane.redis.exists(made[0] as string)) === 1) {
      assert.ok(Date.now() < deadline, "the object's location entry was never dropped");
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
});

describe("cluster: actors", () => {
  test("an actor lives on the node it was placed on and runs calls in order", async () => {
    const Counter = ray.remote(
      class Counter {
        n = 0;
        inc(by: number) {
          this.n += by;
          return this.n;
        }
        where() {
          return ray.getRuntimeContext().nodeAddress;
        }
      },
    );
    const counter = Counter.options(on(B)).remote();
    const two = ray.remote(() => 2).options(on(A)).remote();
    const results = await ray.get([counter.inc.remote(1), counter.inc.remote(two), counter.inc.remote(3), counter.where.remote()]);
    assert.deepEqual(results, [1, 3, 6, B]);
    ray.kill(counter);
    await assert.rejects(ray.get(counter.inc.remote(1)), (error: Error) => error instanceof ray.ActorDiedError);
  });

  test("a named actor is found from another driver", async () => {
    const Named = ray.remote(
      class Named {
        n = 0;
        inc() {
          return ++this.n;
        }
      },
    );
    const actor = Named.options({ name: "shared-counter" }).remote();
    assert.equal(await ray.get(actor.inc.remote()), 1);
    const script = `
      import * as ray from "RAYTS";
      await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)} });
      const found = ray.getActor("shared-counter");
      console.log("RESULT", await ray.get(found.inc.remote()));
      await ray.shutdown();
    `;
    const child = await runScript("cluster-named-actor", script, { timeoutMs: 60_000 });
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stdout, /RESULT 2/);
    assert.equal(await ray.get(actor.inc.remote()), 3);
    assert.throws(() => Named.options({ name: "shared-counter" }).remote(), /an actor named "shared-counter" already exists/);
  });
});

describe("cluster: security", () => {
  test("a wrong Redis password is refused with a clear error", async () => {
    await assert.rejects(ControlPlane.connect(cluster.address, "not-the-password", "test-wrong"), (error: Error) => {
      assert.ok(error instanceof ray.RayError);
      assert.match(error.message, /refused the password \(WRONGPASS\)/);
      return true;
    });
    const script = `
      import * as ray from "RAYTS";
      try { await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: "wrong" }); console.log("JOINED"); }
      catch (error) { console.log("REFUSED", error.message); }
    `;
    const child = await runScript("cluster-wrong-password", script, { timeoutMs: 60_000 });
    assert.match(child.stdout, /REFUSED .*refused the password/);
  });

  test("the object port refuses a wrong or missing token, and the node logs it", async () => {
    const nodeA = cluster.nodes[0];
    assert.ok(nodeA);
    const address = await plane.redis.hget(`${PREFIX}holders`, nodeA.nodeId);
    assert.ok(address);
    await assert.rejects(pullObject(address, "any", "wrong-token"), /refused the cluster token/);
    const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
    const status = await new Promise<number>((resolve, reject) => {
      request({ host, port, path: "/o/any" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    assert.equal(status, 403);
    const log = readFileSync(join(cluster.dir, `node-${A}.log`), "utf8");
    assert.match(log, /refused GET \/o\/any .*wrong or missing cluster token/);
  });
});

describe("cluster: node death (last: it kills node B)", () => {
  test("a task on a node that dies is placed again on a live node; hard affinity to it then fails", async () => {
    const nodeB = cluster.nodes[1];
    assert.ok(nodeB);
    const stuckOn = ray.remote((dead: string) => {
      const here = ray.getRuntimeContext().nodeAddress;
      if (here === dead) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never returns there
      return here;
    });
    const softB = { scheduling: { nodeId: nodeB.nodeId, soft: true } };
    const ref = stuckOn.options(softB).remote(B);
    process.kill(-nodeB.pid, "SIGKILL");
    assert.equal(await ray.get(ref), A);
    assert.deepEqual(ray.nodes().map((n) => n.address), [A]);
    await assert.rejects(ray.get(stuckOn.options({ scheduling: { nodeId: nodeB.nodeId } }).remote(B)), new RegExp(`${nodeB.nodeId} is not alive`));
    const none = stuckOn.options({ ...softB, maxRetries: 0 });
    assert.equal(await ray.get(none.remote(B)), A);
  });
});
