/**
 * Shared memory does not count toward V8's collection heuristics, and
 * dropped ObjectRefs free their objects only when collected: a loop that
 * moves large results through the store and allocates little else must
 * still have its memory freed. Runs in a child process without --expose-gc,
 * as a user's program runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = String.raw`
import vm from "node:vm";
import * as ray from "RAYTS";

await ray.init({ numCpus: 2 });
const MB = 1024 * 1024;
const ones = ray.remote((bytes: number) => new Uint8Array(bytes).fill(1));
await ray.get(ones.remote(8));
const rss0 = process.memoryUsage().rss;
let maxBytesUsed = 0;
let checked = 0;
// 1.5 GB of results, each dropped as soon as it is read.
for (let i = 0; i < 1500; i++) {
  const value = await ray.get(ones.remote(MB));
  checked += value[MB - 1]!;
  maxBytesUsed = Math.max(maxBytesUsed, ray.objectStoreStats().bytesUsed);
}
console.log(JSON.stringify({
  checked,
  maxBytesUsed,
  rssGrowth: process.memoryUsage().rss - rss0,
  gcGlobal: typeof (globalThis as { gc?: unknown }).gc,
  gcInNewContext: vm.runInNewContext("typeof gc"),
}));
await ray.shutdown();
`;

test("results dropped in a loop are freed although the loop allocates almost nothing else", async () => {
  const run = await runScript("store-pressure", SCRIPT, { timeoutMs: 200_000 });
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, number | string>;
  const MB = 1024 * 1024;
  assert.equal(out["checked"], 1500);
  // The driver asks for a collection every 256 MB of shared results; without
  // that the store would hold all 1500 MB at the end.
  assert.ok((out["maxBytesUsed"] as number) < 512 * MB, `store held up to ${Math.round((out["maxBytesUsed"] as number) / MB)} MB`);
  // Workers collect the blocks they were told to forget every 128 MB: the
  // process does not grow by the 1.5 GB that went through it.
  assert.ok((out["rssGrowth"] as number) < 1024 * MB, `RSS grew by ${Math.round((out["rssGrowth"] as number) / MB)} MB`);
  // The collector is taken without leaving gc() behind for anyone else.
  assert.equal(out["gcGlobal"], "undefined");
  assert.equal(out["gcInNewContext"], "undefined");
});
