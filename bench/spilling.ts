/**
 * Object spilling throughput: how fast a store past its high-water mark
 * writes cold objects to disk, and how fast `get` reads them back.
 *
 *   node --import tsx --expose-gc bench/spilling.ts           1 GB through a 256 MB store, writes bench/results/spilling.json
 *   node --import tsx --expose-gc bench/spilling.ts --quick   256 MB through a 64 MB store, writes bench/results/spilling.quick.json
 *
 * - write: held `put`s of 8 MB objects; from the first put until every
 *   object that does not fit is on disk (bytes written / wall time), with
 *   the event loop's longest stall once the put loop has returned (writes
 *   run on libuv's thread pool; the stall includes the full collections
 *   that look for dead objects before anything is spilled).
 * - restore: `get` of every spilled object, 4 at a time (bytes read back /
 *   wall time); each read back makes room by letting go of another object,
 *   whose file is already written, so this is reads alone.
 * - pass-through: one task per object summing its bytes, every object on
 *   disk at the start (restore, dispatch and the task together).
 * Best of 3 rounds each; the spill folder is on the OS temp folder's disk.
 */
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as ray from "../src/index.js";
import { machine } from "./lib/machine.js";

const MB = 1024 * 1024;
const quick = process.argv.includes("--quick");
const OBJECT = 8 * MB;
const TOTAL = quick ? 256 * MB : 1024 * MB;
const CAP = quick ? 64 * MB : 256 * MB;
const ROUNDS = 5;

async function turn(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

interface Round {
  writeGBps: number;
  writeLoopMaxMs: number;
  restoreGBps: number;
  passGBps: number;
  spilledMB: number;
  restoredMB: number;
}

const touch = ray.remote((bytes: Uint8Array) => {
  let total = 0;
  for (let i = 0; i < bytes.length; i += 4096) total += bytes[i]!;
  return total;
});

async function round(): Promise<Round> {
  await ray.init({ numCpus: 2, objectStoreMemory: CAP, includeDashboard: false, recordState: false });
  const count = TOTAL / OBJECT;
  const source = new Uint8Array(OBJECT).fill(7);
  const start0 = ray.objectStoreStats();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let started = performance.now();
  const refs: ray.ObjectRef<Uint8Array>[] = [];
  for (let i = 0; i < count; i++) refs.push(ray.put(source));
  // From here: the program's own synchronous put loop (copies into shared memory) is over.
  loop.enable();
  await ray.wait(refs, { numReturns: refs.length });
  // Written: everything past the high-water mark (the store keeps at most 80% of CAP in memory).
  const target = TOTAL - 0.8 * CAP;
  while (ray.objectStoreStats().spilledBytes - start0.spilledBytes < target) await turn();
  const writeMs = performance.now() - started;
  loop.disable();
  const written = ray.objectStoreStats().spilledBytes - start0.spilledBytes;

  const before = ray.objectStoreStats();
  started = performance.now();
  for (let i = 0; i < refs.length; i += 4) await ray.get(refs.slice(i, i + 4));
  const restoreMs = performance.now() - started;
  const restored = ray.objectStoreStats().restoredBytes - before.restoredBytes;

  // Send every object to disk again (their files exist: no writes), then run one task per object.
  const spilled = ray.objectStoreStats().restoredBytes;
  const extra: ray.ObjectRef<Uint8Array>[] = [];
  for (let i = 0; i < CAP / OBJECT; i++) extra.push(ray.put(source));
  await ray.wait(extra, { numReturns: extra.length });
  started = performance.now();
  const sums = await ray.get(refs.map((ref) => touch.remote(ref)));
  const passMs = performance.now() - started;
  if (sums.some((sum) => sum !== 7 * (OBJECT / 4096))) throw new Error("a task read wrong bytes");
  const passed = ray.objectStoreStats().restoredBytes - spilled;
  await ray.shutdown();
  return {
    writeGBps: written / 2 ** 30 / (writeMs / 1000),
    writeLoopMaxMs: loop.max / 1e6,
    restoreGBps: restored / 2 ** 30 / (restoreMs / 1000),
    passGBps: passed / 2 ** 30 / (passMs / 1000),
    spilledMB: written / MB,
    restoredMB: restored / MB,
  };
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  rounds.push(await round());
  process.stderr.write(`round ${i + 1}/${ROUNDS}: ${JSON.stringify(rounds.at(-1))}\n`);
}
/** The median over rounds (the middle one, or the mean of the two middle ones). */
function median(key: keyof Round): number {
  const sorted = rounds.map((r) => r[key]).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
const summary = {
  writeGBps: Math.round(median("writeGBps") * 100) / 100,
  restoreGBps: Math.round(median("restoreGBps") * 100) / 100,
  passThroughGBps: Math.round(median("passGBps") * 100) / 100,
  writeLoopMaxMs: Math.round(median("writeLoopMaxMs") * 10) / 10,
};
const figures = { suite: "spilling", machine: machine(), objectMB: OBJECT / MB, totalMB: TOTAL / MB, objectStoreMemoryMB: CAP / MB, summary, rounds };
writeFileSync(new URL(`./results/spilling${quick ? ".quick" : ""}.json`, import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
console.log(`spilling: write ${summary.writeGBps} GB/s (event loop max stall ${summary.writeLoopMaxMs} ms), restore ${summary.restoreGBps} GB/s, restore+task ${summary.passThroughGBps} GB/s`);
