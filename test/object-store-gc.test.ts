/**
 * Objects no live ref or pending task needs are freed. Runs in a child
 * process started with `--expose-gc`, so the test can force collections of
 * dropped ObjectRefs and watch `objectStoreStats()` and
 * `availableResources().object_store_memory` return to their baseline.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
await ray.init({ numCpus: 2 });

const results: Record<string, unknown> = {};
const MB = 1024 * 1024;

async function collect(): Promise<void> {
  for (let i = 0; i < 8; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function snapshot() {
  const stats = ray.objectStoreStats();
  return { bytes: stats.bytesUsed, objects: stats.numObjects, available: ray.availableResources().object_store_memory };
}

const collectInWorkers = ray.remote(() => {
  (globalThis as { gc?: () => void }).gc?.();
  return 0;
});
const same = (a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>): boolean =>
  a.bytes === b.bytes && a.objects === b.objects && a.available === b.available;

async function scenario(name: string, body: () => Promise<number>): Promise<void> {
  await collect();
  const before = snapshot();
  let during = -1;
  try {
    during = await body();
  } catch (error) {
    results[name] = { error: String(error) };
    return;
  }
  // Collect until the store is back to its baseline (a guard of 60 s, never a
  // window): a worker gives a borrow back only after it has collected it.
  const guard = Date.now() + 60_000;
  let after = snapshot();
  do {
    await ray.get([collectInWorkers.remote(), collectInWorkers.remote()]);
    await collect();
    after = snapshot();
  } while (!same(after, before) && Date.now() < guard);
  results[name] = { before, during, after };
}

// 1. A put object whose only ref is dropped.
await scenario("put", async () => {
  let ref: ray.ObjectRef<Float64Array> | undefined = ray.put(new Float64Array(MB));
  const used = ray.objectStoreStats().bytesUsed;
  ref = undefined;
  return used;
});

// 2. A task result never fetched.
const make = ray.remote((n: number) => new Float64Array(n).fill(1));
await scenario("unfetched result", async () => {
  let ref: ray.ObjectRef<Float64Array> | undefined = make.remote(MB);
  await ray.wait([ref]);
  const used = ray.objectStoreStats().bytesUsed;
  ref = undefined;
  return used;
});

// 3. A task result fetched, then every ref dropped.
await scenario("fetched result", async () => {
  const value = await ray.get(make.remote(MB));
  return value.length * 8;
});

// 4. A ref dropped right after it was passed to a task: pinned until the task ends, then freed.
const sum = ray.remote((a: Float64Array) => a.reduce((x, y) => x + y, 0));
await scenario("argument ref", async () => {
  const total = await ray.get(sum.remote(ray.put(new Float64Array(MB).fill(2))));
  return total;
});

// 5. A put object kept alive by an object that contains its ref.
await scenario("nested refs", async () => {
  let inner: ray.ObjectRef<Float64Array> | undefined = ray.put(new Float64Array(MB).fill(3));
  let outer: ray.ObjectRef<{ inner: ray.ObjectRef<Float64Array> }> | undefined = ray.put({ inner });
  inner = undefined;
  await collect();
  // Still reachable through outer.
  const box = await ray.get(outer);
  const values = await ray.get(box.inner);
  outer = undefined;
  return values[0] ?? -1;
});

// 6. A ref nested in a task argument: the worker borrows it, gets it, and lets it go.
const sumInside = ray.remote(async (box: { ref: ray.ObjectRef<Float64Array> }) => {
  const a = await ray.get(box.ref);
  return a.reduce((x, y) => x + y, 0);
});
await scenario("borrowed by a worker", async () => {
  const total = await ray.get(sumInside.remote({ ref: ray.put(new Float64Array(MB).fill(1)) }));
  return total;
});

// 7. A put made inside a task, returned to the driver by ref and dropped.
const putInside = ray.remote((n: number) => put(new Float64Array(n)));
await scenario("put in a worker", async () => {
  const inner = await ray.get(putInside.remote(MB));
  const value = await ray.get(inner);
  return value.length;
});

declare function put<T>(value: T): ray.ObjectRef<T>;

console.log("RESULTS " + JSON.stringify(results));
await ray.shutdown();
`;

interface Snapshot {
  bytes: number;
  objects: number;
  available: number;
}
type Outcome = { before: Snapshot; during: number; after: Snapshot } | { error: string };

test("objects no ref or task needs are freed (child process with --expose-gc)", { timeout: 240_000 }, async (t) => {
  const result = await runScript("gc", SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 200_000 });
  assert.equal(result.timedOut, false, `child timed out\n${result.stdout}\n${result.stderr}`);
  assert.equal(result.code, 0, `child failed\n${result.stdout}\n${result.stderr}`);
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULTS "));
  assert.ok(line !== undefined, result.stdout + result.stderr);
  const results = JSON.parse(line.slice("RESULTS ".length)) as Record<string, Outcome>;

  const expectFreed = (name: string, check?: (during: number) => void): Promise<void> =>
    t.test(name, () => {
      const outcome = results[name];
      assert.ok(outcome !== undefined, `no result for ${name}`);
      assert.ok(!("error" in outcome), `scenario failed: ${"error" in outcome ? outcome.error : ""}`);
      check?.(outcome.during);
      assert.equal(outcome.after.bytes, outcome.before.bytes, `bytesUsed did not return to baseline: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.after.available, outcome.before.available, "object_store_memory did not return to baseline");
      assert.equal(outcome.after.objects, outcome.before.objects, `objects left behind: ${JSON.stringify(outcome)}`);
    });

  const MB = 1024 * 1024;
  await expectFreed("put", (during) => assert.ok(during >= 8 * MB, `a put of 8 MiB used ${during} bytes`));
  await expectFreed("unfetched result", (during) => assert.ok(during >= 8 * MB));
  await expectFreed("fetched result", (during) => assert.equal(during, 8 * MB));
  await expectFreed("argument ref", (during) => assert.equal(during, 2 * MB));
  await expectFreed("nested refs", (during) => assert.equal(during, 3));
  await expectFreed("borrowed by a worker", (during) => assert.equal(during, MB));
  await expectFreed("put in a worker", (during) => assert.equal(during, MB));
});

const IDLE_SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 1 });
async function collect(): Promise<void> {
  for (let i = 0; i < 8; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
const length = ray.remote(async (box: { ref: ray.ObjectRef<Float64Array> }) => (await ray.get(box.ref)).length);
// Collects garbage in the worker a little after the task has returned, while the worker is idle.
const collectLater = ray.remote(() => {
  const g = (globalThis as { gc?: () => void }).gc!;
  let rounds = 0;
  const tick = (): void => {
    g();
    if (++rounds < 5) setTimeout(tick, 10);
  };
  setTimeout(tick, 10);
  return 0;
});
await collect();
const before = ray.objectStoreStats();
console.log("LENGTH " + (await ray.get(length.remote({ ref: ray.put(new Float64Array(1 << 20)) }))));
await ray.get(collectLater.remote());
// The worker is idle from here on: wait until it has collected and given the
// borrow back (a guard of 60 s against a hang, never a window).
let after = ray.objectStoreStats();
const guard = Date.now() + 60_000;
while (after.numObjects > before.numObjects && Date.now() < guard) {
  await collect();
  after = ray.objectStoreStats();
}
console.log("RESULTS " + JSON.stringify({ before: before.bytesUsed, after: after.bytesUsed, objects: [before.numObjects, after.numObjects] }));
await ray.shutdown();
`;

test("an idle worker gives back a borrowed ref once it has collected it", { timeout: 240_000 }, async () => {
  const result = await runScript("gc-idle", IDLE_SCRIPT, { nodeArgs: ["--expose-gc"], timeoutMs: 200_000 });
  assert.equal(result.code, 0, `child failed\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /LENGTH 1048576/);
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULTS "));
  assert.ok(line !== undefined, result.stdout + result.stderr);
  const { before, after, objects } = JSON.parse(line.slice("RESULTS ".length)) as { before: number; after: number; objects: [number, number] };
  assert.equal(after, before, `the borrowed object is still held: ${line}`);
  assert.equal(objects[1], objects[0]);
});
