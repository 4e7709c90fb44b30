/**
 * Nested tasks placed by a driver's rules: a nested task asking for a
 * custom resource runs on the node that has it, node affinity and SPREAD
 * choose its node, `numReturns` works across nodes, and large arguments
 * (by value or behind a ref) travel to the node that runs it, which pulls
 * them from the submitting node; the lent copies are freed afterwards;
 * refs nested in an argument reach it as refs, remote functions in its
 * arguments as remote functions; a nested task asking for more CPUs than
 * its node has runs where they are.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { Cluster, nodeIdAt } from "./harness.js";

let cluster: Cluster;
let plane: ControlPlane;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2, resources: { "my-label": 1 } }, { numCpus: 3 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  plane = await ControlPlane.connect(cluster.address, cluster.password, "test-nested-placement-observer");
});

after(async () => {
  await plane?.close();
  await ray.shutdown();
  await cluster?.shutdown();
});

function nodeId(index: number): string {
  return nodeIdAt(cluster, index);
}

async function locationKeys(): Promise<Set<string>> {
  return new Set(await plane.redis.keys(`${PREFIX}loc:*`));
}

/** Polls Redis until `check` holds (frees travel as messages between nodes). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} never happened`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("cluster: nested tasks placed as a driver's", () => {
  test("a nested task asking for a custom resource only another node has runs on that node", LIMIT, async () => {
    const parent = ray.remote(async function parent() {
      const child = ray.remote(() => ray.getRuntimeContext().nodeId);
      const labelled = await ray.get(child.options({ resources: { "my-label": 1 } }).remote());
      return { here: ray.getRuntimeContext().nodeId, labelled };
    });
    const result = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote());
    assert.equal(result.here, nodeId(0));
    assert.equal(result.labelled, nodeId(1));
  });

  test("a nested task asking for a resource no node has fails with an error naming it", LIMIT, async () => {
    const parent = ray.remote(async function parent() {
      const child = ray.remote(() => 1);
      return ray.get(child.options({ resources: { "no-such-thing": 1 } }).remote());
    });
    await assert.rejects(ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote()), /no-such-thing/);
  });

  test("a nested task asking for more CPUs than its node has runs on a node that has them", LIMIT, async () => {
    const parent = ray.remote(async function parent() {
      const child = ray.remote(() => ray.getRuntimeContext().nodeId);
      return { here: ray.getRuntimeContext().nodeId, wide: await ray.get(child.options({ numCpus: 3 }).remote()) };
    });
    const result = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote());
    assert.equal(result.here, nodeId(0));
    assert.equal(result.wide, nodeId(2));
  });

  test("a nested task asking for more CPUs than any node has fails naming CPU, as a driver's task does", LIMIT, async () => {
    const child = ray.remote(() => 1);
    await assert.rejects(ray.get(child.options({ numCpus: 5 }).remote()), /no live node has the resources \{"CPU":5\}/);
    const parent = ray.remote(async function parent() {
      const inner = ray.remote(() => 1);
      return ray.get(inner.options({ numCpus: 5 }).remote());
    });
    await assert.rejects(ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote()), /no live node has the resources \{"CPU":5\}/);
  });

  test("node affinity sends a nested task to its node with large arguments by value and by ref; the lent copies are freed", LIMIT, async () => {
    const before = await locationKeys();
    const parent = ray.remote(async function parent(target: string) {
      const sum = ray.remote((values: Float64Array, fromRef: Float64Array, small: number) => {
        let total = small;
        for (const value of values) total += value;
        for (const value of fromRef) total += value;
        return { total, node: ray.getRuntimeContext().nodeId };
      });
      const byValue = new Float64Array(100_000).fill(1);
      const byRef = ray.put(new Float64Array(50_000).fill(2));
      return ray.get(sum.options({ scheduling: { nodeId: target } }).remote(byValue, byRef, 5));
    });
    const result = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(2)));
    assert.equal(result.node, nodeId(2));
    assert.equal(result.total, 100_000 + 100_000 + 5);
    await until(async () => [...(await locationKeys())].every((key) => before.has(key)), "freeing the lent arguments");
  });

  test("refs nested in an argument reach a nested task on another node as refs it can get", LIMIT, async () => {
    const parent = ray.remote(async function parent(target: string) {
      const read = ray.remote(async (input: { small: ray.ObjectRef<number>; list: ray.ObjectRef<Float64Array>[] }) => {
        const [small, large] = await ray.get([input.small, input.list[0] as ray.ObjectRef<Float64Array>]);
        return { node: ray.getRuntimeContext().nodeId, total: small + large.reduce((a, b) => a + b, 0) };
      });
      const input = { small: ray.put(7), list: [ray.put(new Float64Array(40_000).fill(0.5))] };
      return ray.get(read.options({ scheduling: { nodeId: target } }).remote(input));
    });
    const result = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(2)));
    assert.equal(result.node, nodeId(2));
    assert.equal(result.total, 7 + 20_000);
  });

  test("remote functions passed to a nested task that must leave its node travel with it, at the top level and nested", LIMIT, async () => {
    const parent = ray.remote(async function parent() {
      const where = ray.remote((tag: string) => `${tag} on ${ray.getRuntimeContext().nodeId}`);
      const caller = ray.remote(async (f: typeof where, inside: { fns: (typeof where)[] }) => {
        const g = inside.fns[0] as typeof where;
        return { here: ray.getRuntimeContext().nodeId, ran: await ray.get([f.remote("top"), g.remote("nested")]) };
      });
      return ray.get(caller.options({ resources: { "my-label": 1 } }).remote(where, { fns: [where] }));
    });
    const result = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote());
    assert.equal(result.here, nodeId(1));
    // Each ran as a nested task of the caller, wherever the default policy put it.
    const nodes = [nodeId(0), nodeId(1), nodeId(2)];
    assert.equal(result.ran.length, 2);
    assert.ok(nodes.some((node) => result.ran[0] === `top on ${node}`), result.ran[0]);
    assert.ok(nodes.some((node) => result.ran[1] === `nested on ${node}`), result.ran[1]);
  });

  test("a remote function the driver passes to a task on a node is callable there", LIMIT, async () => {
    const double = ray.remote((n: number) => n * 2);
    const caller = ray.remote(async (f: typeof double, n: number) => ({ node: ray.getRuntimeContext().nodeId, value: await ray.get(f.remote(n)) }));
    const result = await ray.get(caller.options({ scheduling: { nodeId: nodeId(2) } }).remote(double, 21));
    assert.deepEqual(result, { node: nodeId(2), value: 42 });
  });

  test("SPREAD nested tasks run on every node", LIMIT, async () => {
    const parent = ray.remote(async function parent(count: number) {
      const child = ray.remote(() => ray.getRuntimeContext().nodeId);
      const refs = Array.from({ length: count }, () => child.options({ scheduling: "SPREAD" }).remote());
      return [...new Set(await ray.get(refs))].sort();
    });
    const nodes = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(9));
    assert.deepEqual(nodes, [nodeId(0), nodeId(1), nodeId(2)].sort());
  });

  test("numReturns works for a nested task on another node", LIMIT, async () => {
    const parent = ray.remote(async function parent(target: string) {
      const pair = ray.remote((n: number): [number, string] => [n * 2, ray.getRuntimeContext().nodeId]);
      const [doubled, where] = pair.options({ numReturns: 2, scheduling: { nodeId: target } }).remote(21);
      return ray.get([doubled, where]);
    });
    const [doubled, where] = await ray.get(parent.options({ scheduling: { nodeId: nodeId(0) } }).remote(nodeId(1)));
    assert.equal(doubled, 42);
    assert.equal(where, nodeId(1));
  });
});
