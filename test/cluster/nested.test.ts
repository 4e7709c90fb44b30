/**
 * Nested tasks and nested refs across nodes: a recursive fan-out launched
 * on one node spreads its nested tasks over the cluster (the node that
 * submits them owns them), and refs nested in values a task returns reach
 * the driver, or the parent task on another node, and are freed everywhere
 * after use.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { Cluster } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let cluster: Cluster;
let plane: ControlPlane;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  plane = await ControlPlane.connect(cluster.address, cluster.password, "test-nested-observer");
});

after(async () => {
  await plane?.close();
  await ray.shutdown();
  await cluster?.shutdown();
});

function onNode(index: number): { scheduling: { nodeId: string } } {
  const node = cluster.nodes[index];
  assert.ok(node);
  return { scheduling: { nodeId: node.nodeId } };
}

async function locationKeys(): Promise<string[]> {
  return plane.redis.keys(`${PREFIX}loc:*`);
}

/** Waits until `check` holds, collecting garbage between tries (refs are freed by the collector). */
async function untilCollected(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what} never happened`);
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface TreeResult {
  readonly sum: number;
  readonly leaves: number;
  /** Nodes that ran nested tasks (every task but the root). */
  readonly nodes: string[];
}

/** Sums lo..hi-1 as a binary tree of nested tasks with 1 ms leaves; each task reports its node. */
const tree = ray.remote(async function tree(lo: number, hi: number, root: boolean): Promise<TreeResult> {
  const here = ray.getRuntimeContext().nodeId;
  const mine = root ? [] : [here];
  if (hi - lo === 1) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    return { sum: lo, leaves: 1, nodes: mine };
  }
  const self = ray.remote(tree);
  const mid = (lo + hi) >> 1;
  const [left, right] = await ray.get([self.remote(lo, mid, false), self.remote(mid, hi, false)]);
  return { sum: left.sum + right.sum, leaves: left.leaves + right.leaves, nodes: [...new Set([...mine, ...left.nodes, ...right.nodes])] };
});

describe("cluster: nested tasks", () => {
  test("a recursive fan-out launched on one node runs its nested tasks on more than one node, with the right result", LIMIT, async () => {
    const LEAVES = 32; // a tree of depth 5
    const result = await ray.get(tree.options(onNode(1)).remote(0, LEAVES, true));
    assert.equal(result.leaves, LEAVES);
    assert.equal(result.sum, (LEAVES * (LEAVES - 1)) / 2);
    assert.ok(result.nodes.length > 1, `nested tasks ran on ${result.nodes.length} node(s) only: ${result.nodes.join(", ")}`);
    assert.ok(result.nodes.every((id) => cluster.nodes.some((node) => node.nodeId === id)));
  });

  test("nested tasks sent to other nodes return refs their parent can get; the copies there are freed", LIMIT, async () => {
    const before = new Set(await locationKeys());
    const parent = ray.remote(async function parent(count: number) {
      const child = ray.remote(function child(i: number) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        return { node: ray.getRuntimeContext().nodeId, data: ray.put(new Float64Array(20_000).fill(i)), small: [ray.put(i)] };
      });
      const outs = await ray.get(Array.from({ length: count }, (_, i) => child.remote(i)));
      let total = 0;
      for (const out of outs) {
        const [data, small] = await ray.get([out.data, out.small[0] as ray.ObjectRef<number>]);
        total += (data as Float64Array)[19_999] as number;
        total += small;
      }
      return { total, nodes: [...new Set(outs.map((out) => out.node))] };
    });
    const COUNT = 12;
    const result = await ray.get(parent.options(onNode(0)).remote(COUNT));
    assert.equal(result.total, COUNT * (COUNT - 1)); // each child counts i twice
    assert.ok(result.nodes.length > 1, `children ran on ${result.nodes.join(", ")} only`);
    // The parent's node pulled each large value and freed it where it was made.
    await untilCollected(async () => (await locationKeys()).every((key) => before.has(key)), "freeing the children's values on their nodes");
  });
});

describe("cluster: refs nested in returned values", () => {
  const makeBoth = ray.remote((input: { readonly given: ray.ObjectRef<string> }) => ({
    data: ray.put(new Float64Array(50_000).fill(7)),
    list: [ray.put("small"), input.given],
    where: ray.getRuntimeContext().nodeId,
  }));

  test("a task on another node returns { data: ref } and [ref, ref]: the driver gets every one", LIMIT, async () => {
    const given = ray.put("from the driver");
    const out = await ray.get(makeBoth.options(onNode(2)).remote({ given }));
    assert.equal(out.where, cluster.nodes[2]?.nodeId);
    assert.ok(ray.isObjectRef(out.data));
    const data = await ray.get(out.data);
    assert.equal(data.length, 50_000);
    assert.equal(data[49_999], 7);
    assert.deepEqual(await ray.get(out.list), ["small", "from the driver"]);
  });

  test("a large value nested in a returned value is freed on its node once no ref to it is alive", LIMIT, async () => {
    const before = new Set(await locationKeys());
    let out: { data: ray.ObjectRef<Float64Array> } | undefined = await ray.get(makeBoth.options(onNode(1)).remote({ given: ray.put("x") }));
    const made = (await locationKeys()).filter((key) => !before.has(key));
    assert.equal(made.length, 1, `expected the nested value's location only, got ${made.join(", ")}`);
    assert.equal((await ray.get(out.data))[0], 7);
    out = undefined;
    await untilCollected(async () => (await plane.redis.exists(made[0] as string)) === 0, "freeing the nested value");
  });
});
