/**
 * Object spilling: past the high-water mark of a small store, held objects
 * go to disk and come back, exactly, on `get` and as task arguments; the
 * files go when the objects are freed, and the folder at shutdown.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { tableFromArrays, type Table } from "apache-arrow";
import * as ray from "../src/index.js";
import { resultOf, runScript } from "./support/child.js";

const MB = 1024 * 1024;
const CAP = 64 * MB;
const root = mkdtempSync(join(tmpdir(), "rayts-spill-test-"));

/** Files in the runtime's spill folder (there is one folder per runtime under `root`). */
function spillFiles(): string[] {
  const folders = readdirSync(root);
  assert.equal(folders.length, 1, `one spill folder under ${root}, got ${folders.join(", ")}`);
  return readdirSync(join(root, folders[0] as string));
}

/** A 1 MB object whose every byte says which object it is. */
function block(i: number): Uint8Array {
  const bytes = new Uint8Array(MB);
  for (let j = 0; j < MB; j += 4096) bytes.fill((i + j) % 251, j, j + 4096);
  return bytes;
}

function isBlock(bytes: Uint8Array, i: number): boolean {
  if (bytes.length !== MB) return false;
  for (let j = 0; j < MB; j += 4096) if (bytes[j] !== (i + j) % 251 || bytes[j + 4095] !== (i + j) % 251) return false;
  return true;
}

before(async () => {
  await ray.init({ numCpus: 2, objectStoreMemory: CAP, objectSpillingDirectory: root, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
  rmSync(root, { recursive: true, force: true });
});

const held: ray.ObjectRef<Uint8Array>[] = [];

test("200 held 1 MB objects in a 64 MB store: the cold ones are spilled, every one reads back exactly", async () => {
  for (let i = 0; i < 200; i++) held.push(ray.put(block(i)));
  // Every put is ready, in memory or on disk (a wait does not read spilled objects back).
  const [ready] = await ray.wait(held, { numReturns: held.length });
  assert.equal(ready.length, 200);
  const stats = ray.objectStoreStats();
  assert.ok(stats.bytesUsed <= CAP, `bytesUsed ${stats.bytesUsed}`);
  assert.ok(stats.spilledCount >= 200 - CAP / MB, `spilledCount ${stats.spilledCount}`);
  assert.ok(stats.numSpilled >= 200 - CAP / MB, `numSpilled ${stats.numSpilled}`);
  assert.equal(stats.spilledBytes, stats.spilledCount * MB);
  // Files of writes still under way are on disk but not yet counted.
  assert.ok(stats.spillDiskBytes >= stats.numSpilled * MB && stats.spillDiskBytes <= spillFiles().length * MB, `spillDiskBytes ${stats.spillDiskBytes}`);
  // The oldest went first: reading them brings them back from disk.
  for (let i = 0; i < 200; i++) assert.ok(isBlock(await ray.get(held[i] as ray.ObjectRef<Uint8Array>), i), `object ${i}`);
  const after = ray.objectStoreStats();
  assert.ok(after.restoredCount > 0, `restoredCount ${after.restoredCount}`);
  assert.equal(after.restoredBytes, after.restoredCount * MB);
  assert.ok(after.bytesUsed <= CAP, `bytesUsed ${after.bytesUsed}`);
});

test("spilled objects passed as task arguments are read back for the task", async () => {
  const restoredBefore = ray.objectStoreStats().restoredCount;
  // The objects read last are in memory; the first ones were spilled again since.
  const check = ray.remote((bytes: Uint8Array, i: number) => {
    if (bytes.length !== 1024 * 1024) return false;
    for (let j = 0; j < bytes.length; j += 4096) if (bytes[j] !== (i + j) % 251) return false;
    return true;
  });
  const results = await ray.get(held.map((ref, i) => check.remote(ref, i)));
  assert.deepEqual(results, held.map(() => true));
  assert.ok(ray.objectStoreStats().restoredCount > restoredBefore);
  // A spilled object nested in a container stays a ref, readable inside the task.
  const nested = ray.remote(async (box: { ref: ray.ObjectRef<Uint8Array> }) => (await ray.get(box.ref))[0]);
  assert.equal(await ray.get(nested.remote({ ref: held[0] as ray.ObjectRef<Uint8Array> })), block(0)[0]);
});

test("typed arrays of every width and Arrow tables round-trip exactly through disk", async () => {
  const n = 64 * 1024;
  const floats = Float64Array.from({ length: n }, (_, i) => i / 7 - 1e9);
  const bigs = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -1234567890123n);
  const offsetView = new Int16Array(new ArrayBuffer(8 * n), 6, n); // a view that does not start at 0
  offsetView.forEach((_, i) => (offsetView[i] = (i * 31) % 65536 - 32768));
  const buffer = new Uint8Array(3 * n).map((_, i) => (i * 13) % 256).buffer;
  const table = tableFromArrays({ id: Int32Array.from({ length: n }, (_, i) => i), score: Float64Array.from({ length: n }, (_, i) => Math.sqrt(i)) });
  const refs = {
    floats: ray.put(floats),
    bigs: ray.put(bigs),
    offsetView: ray.put(offsetView),
    buffer: ray.put(buffer),
    table: ray.put(table),
    // Structured values above 64 KiB live in shared memory too.
    record: ray.put({ name: "x".repeat(100_000), list: Array.from({ length: 5000 }, (_, i) => i) }),
  };
  await ray.wait(Object.values(refs), { numReturns: 6 });
  const spilledBefore = ray.objectStoreStats().spilledCount;
  // Push them out: 80 MB more through a 64 MB store.
  const filler: ray.ObjectRef<Uint8Array>[] = [];
  for (let i = 0; i < 80; i++) filler.push(ray.put(block(i)));
  await ray.wait(filler, { numReturns: filler.length });
  assert.ok(ray.objectStoreStats().spilledCount > spilledBefore + 6);
  const restoredBefore = ray.objectStoreStats().restoredCount;
  assert.deepEqual(await ray.get(refs.floats), floats);
  assert.deepEqual(await ray.get(refs.bigs), bigs);
  assert.deepEqual(await ray.get(refs.offsetView), Int16Array.from(offsetView));
  assert.deepEqual(new Uint8Array(await ray.get(refs.buffer)), new Uint8Array(buffer));
  const back = (await ray.get(refs.table)) as Table;
  assert.equal(back.numRows, n);
  assert.deepEqual(back.schema.fields.map((f) => `${f.name}:${String(f.type)}`), table.schema.fields.map((f) => `${f.name}:${String(f.type)}`));
  assert.deepEqual(back.getChild("id")?.toArray(), table.getChild("id")?.toArray());
  assert.deepEqual(back.getChild("score")?.toArray(), table.getChild("score")?.toArray());
  const record = await ray.get(refs.record);
  assert.equal(record.name.length, 100_000);
  assert.equal(record.list[4999], 4999);
  assert.ok(ray.objectStoreStats().restoredCount >= restoredBefore + 6, "every value came back from disk");
  // And a task reads the restored Arrow table as it was.
  const rows = ray.remote((t: Table) => t.numRows);
  assert.equal(await ray.get(rows.remote(refs.table)), n);
});

test("wait counts spilled objects as ready without reading them back", async () => {
  const restoredBefore = ray.objectStoreStats().restoredCount;
  const spilled = held.slice(0, 20);
  const [ready, notReady] = await ray.wait(spilled, { numReturns: spilled.length, timeout: 0 });
  assert.equal(ready.length, 20);
  assert.equal(notReady.length, 0);
  assert.equal(ray.objectStoreStats().restoredCount, restoredBefore);
  // A get that does not wait still gets them (read back at once).
  const values = await ray.get(spilled, { timeout: 0 });
  assert.ok(values.every((bytes, i) => isBlock(bytes, i)));
  assert.ok(ray.objectStoreStats().restoredCount > restoredBefore, "the cold objects came back from disk");
});

const CHILD_PRELUDE = String.raw`
import * as ray from "RAYTS";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
const root = process.env.SPILL_ROOT!;
const MB = 1024 * 1024;
await ray.init({ numCpus: 1, objectStoreMemory: 16 * MB, objectSpillingDirectory: root, includeDashboard: false });
async function fill(n: number): Promise<ray.ObjectRef<Uint8Array>[]> {
  const refs: ray.ObjectRef<Uint8Array>[] = [];
  for (let i = 0; i < n; i++) refs.push(ray.put(new Uint8Array(MB).fill(i)));
  await ray.wait(refs, { numReturns: n });
  return refs;
}
`;

async function child(name: string, body: string): Promise<{ result: Record<string, unknown>; root: string }> {
  const childRoot = mkdtempSync(join(tmpdir(), "rayts-spill-child-"));
  try {
    const run = await runScript(name, CHILD_PRELUDE + body, { nodeArgs: ["--expose-gc"], timeoutMs: 110_000, env: { SPILL_ROOT: childRoot } });
    return { result: resultOf<Record<string, unknown>>(run), root: childRoot };
  } finally {
    rmSync(childRoot, { recursive: true, force: true });
  }
}

test("freeing spilled objects removes their files; shutdown removes the spill folder", { timeout: 120_000 }, async () => {
  const { result } = await child(
    "spill-free",
    String.raw`
let refs: ray.ObjectRef<Uint8Array>[] | undefined = await fill(60);
const folder = join(root, readdirSync(root)[0]!);
const held = { files: readdirSync(folder).length, spilled: ray.objectStoreStats().numSpilled };
refs = undefined;
while (ray.objectStoreStats().numObjects > 0) { globalThis.gc!(); await new Promise((r) => setTimeout(r, 5)); }
while (readdirSync(folder).length > 0) await new Promise((r) => setTimeout(r, 5));
const freed = ray.objectStoreStats();
const again = await fill(40);
const beforeShutdown = readdirSync(folder).length;
await ray.shutdown();
console.log("RESULT " + JSON.stringify({ ...held, diskAfterFree: freed.spillDiskBytes, spilledAfterFree: freed.numSpilled, beforeShutdown, again: again.length, folderAfterShutdown: existsSync(folder), rootLeft: readdirSync(root).length }));
`,
  );
  assert.ok((result["spilled"] as number) >= 60 - 16, JSON.stringify(result));
  assert.ok((result["files"] as number) >= (result["spilled"] as number), JSON.stringify(result));
  assert.equal(result["diskAfterFree"], 0);
  assert.equal(result["spilledAfterFree"], 0);
  assert.ok((result["beforeShutdown"] as number) > 0, JSON.stringify(result));
  assert.equal(result["folderAfterShutdown"], false);
  assert.equal(result["rootLeft"], 0);
});

test("a program that exits without shutdown() leaves no spill files", { timeout: 120_000 }, async () => {
  const { result } = await child(
    "spill-exit",
    String.raw`
const refs = await fill(40);
const folder = join(root, readdirSync(root)[0]!);
console.log("RESULT " + JSON.stringify({ folder, files: readdirSync(folder).length, held: refs.length }));
process.on("exit", () => { if (existsSync(folder)) console.log("LEFT " + folder); });
`,
  );
  assert.ok((result["files"] as number) > 0);
  assert.equal(existsSync(result["folder"] as string), false);
});

test("past the disk limit too, a put fails with ObjectStoreFullError naming both limits", { timeout: 120_000 }, async () => {
  const { result } = await child(
    "spill-limit",
    String.raw`
await ray.shutdown();
await ray.init({ numCpus: 1, objectStoreMemory: 16 * MB, objectSpillingDirectory: root, objectSpillingLimit: 8 * MB, includeDashboard: false });
const refs: ray.ObjectRef<Uint8Array>[] = [];
const errors: string[] = [];
for (let i = 0; i < 40; i++) {
  try { refs.push(ray.put(new Uint8Array(MB).fill(i))); } catch (error) { errors.push((error as Error).name + ": " + (error as Error).message); }
}
let readable = 0;
for (const [i, ref] of refs.entries()) {
  try { if ((await ray.get(ref))[7] === i) readable++; } catch (error) { errors.push((error as Error).name + ": " + (error as Error).message); }
}
const stats = ray.objectStoreStats();
const full = ray.put(new Uint8Array(MB));
let late = "";
try { await ray.get(full); } catch (error) { late = (error as Error).name; }
console.log("RESULT " + JSON.stringify({ readable, errors, disk: stats.spillDiskBytes, inMemory: stats.bytesUsed, late }));
`,
  );
  const errors = result["errors"] as string[];
  assert.ok(errors.length > 0, JSON.stringify(result));
  for (const error of errors) {
    assert.match(error, /^ObjectStoreFullError: /);
    assert.match(error, /objectStoreMemory/);
    assert.match(error, /objectSpillingLimit: 8388608 bytes/);
  }
  assert.ok((result["disk"] as number) <= 8 * MB, JSON.stringify(result));
  assert.ok((result["inMemory"] as number) <= 16 * MB, JSON.stringify(result));
  // Everything up to memory plus disk was stored, and reads back.
  assert.ok((result["readable"] as number) >= 16 + 8 - 1, JSON.stringify(result));
  assert.equal((result["readable"] as number) + errors.length, 40);
  assert.equal(result["late"], "ObjectStoreFullError");
});
