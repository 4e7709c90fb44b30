/**
 * The store stays bounded by what the program holds, whatever the cap:
 * dropped results and puts are freed under a small `objectStoreMemory`
 * (the collection trigger scales with it, and a put that does not fit
 * waits for a collection first), and a Ray-style `wait` loop frees what it
 * drops while it runs. Child processes without --expose-gc, as a user's
 * program runs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const MB = 1024 * 1024;

async function run(name: string, body: string): Promise<Record<string, number>> {
  const result = await runScript(name, `import * as ray from "RAYTS";\n${body}\nawait ray.shutdown();\n`, { timeoutMs: 170_000 });
  return resultOf<Record<string, number>>(result);
}

test("a 64 MB store runs 300 dropped 1 MB results and 300 dropped 1 MB puts", { timeout: 180_000 }, async () => {
  const out = await run(
    "small-cap",
    String.raw`
await ray.init({ numCpus: 2, objectStoreMemory: 64 * 1024 * 1024 });
const MB = 1024 * 1024;
const ones = ray.remote((bytes: number) => new Uint8Array(bytes).fill(1));
let checked = 0;
let maxBytes = 0;
for (let i = 0; i < 300; i++) {
  checked += (await ray.get(ones.remote(MB)))[MB - 1]!;
  maxBytes = Math.max(maxBytes, ray.objectStoreStats().bytesUsed);
}
for (let i = 0; i < 300; i++) {
  const value = await ray.get(ray.put(new Uint8Array(MB).fill(2)));
  checked += value[0]!;
  maxBytes = Math.max(maxBytes, ray.objectStoreStats().bytesUsed);
}
console.log("RESULT " + JSON.stringify({ checked, maxBytes }));
`,
  );
  assert.equal(out["checked"], 300 + 600);
  assert.ok(out["maxBytes"]! <= 64 * MB);
});

test("after every ref is dropped, a put close to the cap fits at once", { timeout: 180_000 }, async () => {
  const out = await run(
    "small-cap-put",
    String.raw`
await ray.init({ numCpus: 2, objectStoreMemory: 64 * 1024 * 1024 });
const MB = 1024 * 1024;
let held: ray.ObjectRef<Uint8Array>[] | undefined = [];
for (let i = 0; i < 56; i++) held.push(ray.put(new Uint8Array(MB)));
const before = ray.objectStoreStats().bytesUsed;
held = undefined;
// 48 MB do not fit next to the 56 MB that were held: the dead ones must be reclaimed first.
const big = ray.put(new Uint8Array(48 * MB).fill(7));
const value = await ray.get(big);
console.log("RESULT " + JSON.stringify({ before, last: value[48 * MB - 1], length: value.length }));
`,
  );
  assert.equal(out["before"], 56 * MB);
  assert.equal(out["last"], 7);
  assert.equal(out["length"], 48 * MB);
});

test("a Ray-style wait loop frees what it drops while it runs", { timeout: 180_000 }, async () => {
  const out = await run(
    "wait-loop",
    String.raw`
await ray.init({ numCpus: 2, objectStoreMemory: 64 * 1024 * 1024 });
const MB = 1024 * 1024;
const small = ray.remote((i: number) => i);
const big = ray.remote((i: number) => new Uint8Array(1024 * 1024).fill(i % 200));
// Small results: at most 2,000 refs alive at a time, 60,000 tasks.
let inFlight: ray.ObjectRef<number>[] = [];
let submitted = 0;
let sum = 0;
let maxObjects = 0;
const freedBefore = ray.objectStoreStats().freedCount;
while (submitted < 60_000 || inFlight.length > 0) {
  while (submitted < 60_000 && inFlight.length < 2_000) inFlight.push(small.remote(submitted++));
  const [ready, rest] = await ray.wait(inFlight, { numReturns: Math.min(100, inFlight.length) });
  for (const value of await ray.get(ready)) sum += value;
  inFlight = rest;
  maxObjects = Math.max(maxObjects, ray.objectStoreStats().numObjects);
}
const freedSmall = ray.objectStoreStats().freedCount - freedBefore;
// 1 MB results: at most 8 alive at a time, 400 tasks, through a 64 MB store.
let bigInFlight: ray.ObjectRef<Uint8Array>[] = [];
let bigSubmitted = 0;
let bigSum = 0;
while (bigSubmitted < 400 || bigInFlight.length > 0) {
  while (bigSubmitted < 400 && bigInFlight.length < 8) bigInFlight.push(big.remote(bigSubmitted++));
  const [ready, rest] = await ray.wait(bigInFlight);
  bigSum += (await ray.get(ready[0]!))[0]!;
  bigInFlight = rest;
}
console.log("RESULT " + JSON.stringify({ sum, maxObjects, freedSmall, bigSum }));
`,
  );
  assert.equal(out["sum"], (60_000 * 59_999) / 2);
  // Bounded by what the loop holds (2,000 refs), not by what it ran (60,000).
  assert.ok(out["maxObjects"]! < 30_000, `${out["maxObjects"]} objects held at once`);
  assert.ok(out["freedSmall"]! > 30_000, `${out["freedSmall"]} objects freed while the loop ran`);
  let expected = 0;
  for (let i = 0; i < 400; i++) expected += i % 200;
  assert.equal(out["bigSum"], expected);
});
