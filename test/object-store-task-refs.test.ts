/**
 * Refs a task takes and drops are given back: the worker collects while a
 * task moves large values through `get`, and once it has nothing left to
 * run, so what tasks dropped does not stay in the store. Runs in a child
 * process with --expose-gc, so the driver's own dropped refs can be
 * collected on demand.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 2, objectStoreMemory: 128 * 1024 * 1024 });

/** Collects on the driver until the store holds no more than baseline objects (bounded). */
async function settle(baseline: number): Promise<number> {
  for (let i = 0; i < 200 && ray.objectStoreStats().numObjects > baseline; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return ray.objectStoreStats().numObjects;
}

const baseline = ray.objectStoreStats().numObjects;
const ones = ray.remote((bytes: number) => new Uint8Array(bytes).fill(1));
// 300 nested 1 MB results through a 128 MB store, each dropped by the task.
const many = ray.remote(async (n: number, child: typeof ones) => {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (await ray.get(child.remote(1024 * 1024)))[0]!;
  return sum;
});
const sum = await ray.get(many.remote(300, ones));
const afterMany = await settle(baseline);

type Tree = ray.RemoteFunction<[number, Tree], number>;
const tree: Tree = ray.remote(async (depth: number, self: Tree): Promise<number> => {
  if (depth === 0) return 1;
  const [a, b] = await ray.get([self.remote(depth - 1, self), self.remote(depth - 1, self)]);
  return a! + b! + 1;
});
const nodes = await ray.get(tree.remote(6, tree));
const afterTree = await settle(baseline);
console.log("RESULT " + JSON.stringify({ sum, afterMany, nodes, afterTree, baseline }));
await ray.shutdown();
`;

test("refs dropped inside tasks are given back: the store returns to its baseline", { timeout: 180_000 }, async () => {
  const run = await runScript("task-refs", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 170_000 });
  const out = resultOf<Record<string, number>>(run);
  assert.equal(out["sum"], 300);
  assert.equal(out["afterMany"], out["baseline"], "objects left after the task that dropped 300 nested results");
  assert.equal(out["nodes"], 127);
  assert.equal(out["afterTree"], out["baseline"], "objects left after a 127-task tree");
});
