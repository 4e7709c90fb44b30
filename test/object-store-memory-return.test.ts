/**
 * Freed shared memory leaves the process: once 2,000 results of 1 MB each
 * (some read by the driver, some passed to other tasks, whose workers cache
 * their blocks) are dropped and the store is empty, the process's RSS comes
 * back near where it started, so no cache, pool or message of the driver or
 * of a worker keeps a dead block alive, and the blocks' pages leave the
 * process (store blocks have pages of their own: with plain
 * SharedArrayBuffers, glibc keeps freed 1 MB blocks in its arenas). The
 * child runs with Node's default environment: no allocator setting.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
const MB = 1024 * 1024;
await ray.init({ numCpus: 2 });
const ones = ray.remote((bytes: number) => new Uint8Array(bytes).fill(1));
const sum = ray.remote((data: Uint8Array) => {
  let total = 0;
  for (let i = 0; i < data.length; i += 4096) total += data[i]!;
  return total;
});
// A task each turn lets the workers collect the blocks they were told to forget.
const ping = async (): Promise<void> => {
  await ray.get(sum.remote(ones.remote(8)));
};
await ping();
for (let i = 0; i < 5; i++) gc();
const baseline = process.memoryUsage().rss;

let checked = 0;
let peak = baseline;
// Functions of their own: a suspended async frame would keep its last refs.
const run = async (): Promise<void> => {
  for (let i = 0; i < 2000; i++) {
    const ref = ones.remote(MB);
    if (i % 8 === 0) checked += (await ray.get(ref))[MB - 1]!;
    else if (i % 8 === 4) checked += (await ray.get(sum.remote(ref))) === MB / 4096 ? 1 : 0;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
};
await run();

// Polls until the store is empty and RSS is back near the baseline; the guard only ends a failing run.
let rss = process.memoryUsage().rss;
const deadline = Date.now() + 60_000;
while (Date.now() < deadline && (ray.objectStoreStats().numObjects > 0 || rss > baseline + 300 * MB)) {
  await ping();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  rss = process.memoryUsage().rss;
}
console.log("RESULT " + JSON.stringify({ checked, objects: ray.objectStoreStats().numObjects, baselineMb: baseline / MB, peakMb: peak / MB, rssMb: rss / MB }));
await ray.shutdown();
`;

test("RSS comes back once 2,000 dropped 1 MB results are freed", { timeout: 150_000 }, async () => {
  const run = await runScript("memory-return", SCRIPT, {
    nodeArgs: ["--expose-gc"],
    timeoutMs: 140_000,
  });
  const out = resultOf<{ checked: number; objects: number; baselineMb: number; peakMb: number; rssMb: number }>(run);
  assert.equal(out.checked, 500);
  assert.equal(out.objects, 0);
  assert.ok(out.rssMb < out.baselineMb + 300, `RSS ${Math.round(out.rssMb)} MB after the run, ${Math.round(out.baselineMb)} MB before (peak ${Math.round(out.peakMb)} MB)`);
});
