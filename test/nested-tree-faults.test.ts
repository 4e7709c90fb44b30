/**
 * A 127-task binary tree whose leaves kill their worker on their first run
 * (eight of the 64 leaves). A parent that runs again after its thread died
 * reuses the children it had submitted, so the lost work is all that is
 * repeated: every leaf that did not crash runs once, every crashing leaf
 * twice, whatever the inner tasks parked on the dead threads ran again.
 * Once the root's value is back and dropped, the store returns to where it
 * was. Runs in a child process with --expose-gc, so the driver's dropped
 * refs can be collected on demand.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 2 });

/** Collects on the driver until the store holds no more than baseline objects (bounded). */
async function settle(baseline: number): Promise<number> {
  for (let i = 0; i < 200 && ray.objectStoreStats().numObjects > baseline; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return ray.objectStoreStats().numObjects;
}

// Runs per node: inner nodes 0..62, leaves 63..126 (children of n: 2n+1, 2n+2).
const flags = await ray.get(ray.put(new Int32Array(128)));
const crashing = (leaf: number): boolean => (leaf - 63) % 8 === 0;
type Node = ray.RemoteFunction<[Int32Array, number, Node], number>;
const node: Node = ray.remote(async (flags: Int32Array, index: number, self: Node): Promise<number> => {
  const runs = Atomics.add(flags, index, 1);
  if (index >= 63) {
    if (runs === 0 && (index - 63) % 8 === 0) process.exit(1);
    return index;
  }
  const [a, b] = await ray.get([self.remote(flags, 2 * index + 1, self), self.remote(flags, 2 * index + 2, self)]);
  return a! + b!;
});
// Inner tasks parked on a dead thread are charged a retry each time: enough for every crash.
const retried = node.options({ maxRetries: 100 });
await settle(0);
const baseline = ray.objectStoreStats().numObjects;
const value = await ray.get(retried.remote(flags, 0, retried));
const runs = Array.from(flags);
const leaves = runs.slice(63, 127);
const crashed = leaves.filter((_, i) => crashing(63 + i)).length;
const left = await settle(baseline);
console.log("RESULT " + JSON.stringify({
  value,
  crashed,
  leafRuns: leaves.reduce((a, b) => a + b, 0),
  leavesNotOnce: leaves.map((r, i) => [63 + i, r]).filter(([leaf, r]) => r !== (crashing(leaf!) ? 2 : 1)),
  innerRuns: runs.slice(0, 63).reduce((a, b) => a + b, 0),
  innerNeverRun: runs.slice(0, 63).filter((r) => r === 0).length,
  left: left - baseline,
}));
await ray.shutdown();
`;

test("a tree whose leaves crash once repeats only the lost work and leaves nothing behind", { timeout: 300_000 }, async () => {
  const run = await runScript("tree-faults", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 290_000 });
  const out = resultOf<{ value: number; crashed: number; leafRuns: number; leavesNotOnce: number[][]; innerRuns: number; innerNeverRun: number; left: number }>(run);
  // The sum of the leaf indices 63..126.
  assert.equal(out.value, ((63 + 126) * 64) / 2);
  assert.equal(out.crashed, 8);
  assert.deepEqual(out.leavesNotOnce, [], "[leaf, runs] of leaves that ran other than once (twice for a crashing one)");
  assert.equal(out.leafRuns, 64 + out.crashed);
  assert.equal(out.innerNeverRun, 0);
  // An inner task runs again only when a thread it was parked on died: at most once per crash.
  assert.ok(out.innerRuns <= 63 * (1 + out.crashed), `inner runs ${out.innerRuns}`);
  assert.equal(out.left, 0, "objects left in the store once the tree's value is dropped");
});
