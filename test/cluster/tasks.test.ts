/**
 * Cluster mode end to end: a Redis and three node processes on loopback
 * addresses, one driver (this process). The 10,000 x 1 ms program, placement policies,
 * custom resources, errors from the nodes, runtime context.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { runScript } from "../support/child.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
const HEAD = "127.0.0.2";
const SECOND = "127.0.0.3";
const GPU_NODE = "127.0.0.4";

/** The program's task: sleeps 1 ms and returns the address of the node that ran it. */
const whereAmI = ray.remote(() => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  return ray.getRuntimeContext().nodeAddress;
});

function nodeId(address: string): string {
  const node = ray.nodes().find((n) => n.address === address);
  assert.ok(node, `no node at ${address} in ${JSON.stringify(ray.nodes())}`);
  return node.nodeId;
}

function tally(addresses: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const address of addresses) counts[address] = (counts[address] ?? 0) + 1;
  return counts;
}

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }, { numCpus: 1, resources: { GPU: 1 } }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

describe("cluster: nodes and resources", () => {
  test("nodes() and clusterResources() cover every live node, custom resources included", () => {
    const nodes = ray.nodes();
    assert.deepEqual(nodes.map((n) => n.address).sort(), [HEAD, SECOND, GPU_NODE]);
    assert.ok(nodes.every((n) => n.alive));
    const total = ray.clusterResources() as unknown as Record<string, number>;
    assert.equal(total["CPU"], 5);
    assert.equal(total["GPU"], 1);
    assert.equal(total[`node:${SECOND}`], 1);
    assert.equal((ray.availableResources() as unknown as Record<string, number>)["GPU"], 1);
  });

  test("a task learns where it runs from getRuntimeContext()", async () => {
    const context = ray.remote(() => ray.getRuntimeContext());
    const seen = await ray.get(context.options({ scheduling: { nodeId: nodeId(SECOND) } }).remote());
    assert.equal(seen.nodeId, nodeId(SECOND));
    assert.equal(seen.nodeAddress, SECOND);
    assert.match(seen.workerId, new RegExp(`^${seen.nodeId}:`));
  });
});

describe("cluster: 10,000 x 1 ms tasks returning their node's address", () => {
  test("10,000 tasks of 1 ms come back from every node", async () => {
    assert.equal(ray.clusterResources().CPU, 5);
    const refs = Array.from({ length: 10_000 }, () => whereAmI.remote());
    const counts = tally(await ray.get(refs));
    console.log("tasks per node:", counts);
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 10_000);
    assert.deepEqual(Object.keys(counts).sort(), [HEAD, SECOND, GPU_NODE]);
    for (const address of [HEAD, SECOND, GPU_NODE]) assert.ok((counts[address] ?? 0) > 0, `${address} got no task`);
  });
});

describe("cluster: placement", () => {
  test("hybrid policy: a lone task runs on the driver's node (the head)", async () => {
    assert.equal(await ray.get(whereAmI.remote()), HEAD);
  });

  test("hybrid policy: past half busy, tasks spill to the other nodes", async () => {
    const counts = tally(await ray.get(Array.from({ length: 50 }, () => whereAmI.remote())));
    assert.ok((counts[SECOND] ?? 0) > 0 && (counts[GPU_NODE] ?? 0) > 0, JSON.stringify(counts));
  });

  test("a burst goes to each node as fast as it works: a node whose tasks take 50x longer gets far fewer", async () => {
    // Tasks sleep 50 ms on the second node and 1 ms elsewhere. Split up front by CPUs, the second node
    // would get as many as the head; held back in the driver and placed as nodes finish, it gets a few.
    const slowOnSecond = ray.remote((slow: string) => {
      const here = ray.getRuntimeContext().nodeAddress;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, here === slow ? 50 : 1);
      return here;
    });
    const counts = tally(await ray.get(Array.from({ length: 1500 }, () => slowOnSecond.remote(SECOND))));
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 1500);
    const head = counts[HEAD] ?? 0;
    const second = counts[SECOND] ?? 0;
    assert.ok(second > 0, `the slow node ran nothing: ${JSON.stringify(counts)}`);
    assert.ok(head > 2 * second, `the head ran ${head} tasks, the slow node ${second}: ${JSON.stringify(counts)}`);
  });

  test('scheduling: "SPREAD" places tasks round robin over the nodes', async () => {
    const counts = tally(await ray.get(Array.from({ length: 9 }, () => whereAmI.options({ scheduling: "SPREAD" }).remote())));
    assert.deepEqual(counts, { [HEAD]: 3, [SECOND]: 3, [GPU_NODE]: 3 });
  });

  test("node affinity sends every task to that node", async () => {
    const pinned = whereAmI.options({ scheduling: { nodeId: nodeId(GPU_NODE) } });
    assert.deepEqual(tally(await ray.get(Array.from({ length: 20 }, () => pinned.remote()))), { [GPU_NODE]: 20 });
  });

  test("hard affinity to a missing node fails naming it; soft affinity falls back", async () => {
    await assert.rejects(ray.get(whereAmI.options({ scheduling: { nodeId: "no-such-node" } }).remote()), (error: Error) => {
      assert.ok(error instanceof ray.RayError);
      assert.match(error.message, /no-such-node is not alive/);
      return true;
    });
    const soft = await ray.get(whereAmI.options({ scheduling: { nodeId: "no-such-node", soft: true } }).remote());
    assert.ok([HEAD, SECOND, GPU_NODE].includes(soft));
  });

  test("custom resources: a GPU task runs on the node that declared a GPU; an unknown resource fails", async () => {
    const gpu = whereAmI.options({ resources: { GPU: 1 } });
    assert.deepEqual(tally(await ray.get(Array.from({ length: 6 }, () => gpu.remote()))), { [GPU_NODE]: 6 });
    await assert.rejects(ray.get(whereAmI.options({ resources: { TPU: 1 } }).remote()), /no live node has the resources \{"CPU":1,"TPU":1\}/);
  });

  test("bad placement options are refused naming the option", () => {
    assert.throws(() => whereAmI.options({ scheduling: "EVERYWHERE" as never }), /Expected `scheduling` to be "DEFAULT", "SPREAD"/);
    assert.throws(() => whereAmI.options({ resources: { GPU: -1 } }), /Expected `resources.GPU` to be a number from 0 and up, got -1/);
  });
});

describe("cluster: errors from nodes", () => {
  test("a task that throws rejects get with RayTaskError", async () => {
    const boom = ray.remote((x: number) => {
      throw new RangeError(`bad ${x}`);
    });
    await assert.rejects(ray.get(boom.remote(7)), (error: Error) => {
      assert.ok(error instanceof ray.RayTaskError);
      assert.match(error.message, /bad 7/);
      return true;
    });
  });

  test("a task importing a package missing on its node fails naming the package and the node", async () => {
    const needs = ray.remote(async () => {
      const name = "rayts-package-that-is-not-installed";
      await import(name);
      return "imported";
    });
    const target = nodeId(SECOND);
    await assert.rejects(ray.get(needs.options({ scheduling: { nodeId: target } }).remote()), (error: Error) => {
      assert.ok(error instanceof ray.RayTaskError, String(error));
      assert.match(error.message, /package "rayts-package-that-is-not-installed" is not installed on node/);
      assert.ok(error.message.includes(target) && error.message.includes(SECOND), error.message);
      return true;
    });
  });
});

describe("cluster: driver lifetime", () => {
  test("a driver script ends after its last await, without shutdown()", async () => {
    const child = await runScript(
      "cluster-driver-exit",
      `
      import * as ray from "RAYTS";
      await ray.init({ address: ${JSON.stringify("ADDRESS")}, redisPassword: ${JSON.stringify("PASSWORD")} });
      const f = ray.remote((x: number) => x * 2);
      console.log("RESULT", await ray.get(f.remote(21)));
    `
        .replace("ADDRESS", cluster.address)
        .replace("PASSWORD", cluster.password),
      { timeoutMs: 60_000 },
    );
    assert.equal(child.timedOut, false, "the driver did not exit on its own");
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stdout, /RESULT 42/);
  });
});

describe("cluster: compiled task modules", () => {
  test("a task module ships by content hash with its captures; nodes run their cached copy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rayts-module-"));
    try {
      const text = `export function __rayts_task_scale(captures) {
  return (x) => [x * captures.FACTOR, import.meta.url];
}
`;
      const file = join(dir, "scale.task.js");
      writeFileSync(file, text);
      const scale = ray.remoteFromModule<[number], [number, string]>({
        name: "scale",
        moduleUrl: pathToFileURL(file).href,
        exportName: "__rayts_task_scale",
        captures: { FACTOR: () => 7 },
      });
      const results = await ray.get([1, 2, 3].map((x) => scale.options({ scheduling: "SPREAD" }).remote(x)));
      assert.deepEqual(results.map(([value]) => value), [7, 14, 21]);
      const hash = createHash("sha256").update(text).digest("hex");
      for (const [, url] of results) {
        assert.notEqual(url, pathToFileURL(file).href);
        assert.ok(url.endsWith(`/${hash}.mjs`), url);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
