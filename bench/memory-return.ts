/**
 * Memory given back to the system: what a process's RSS is after blocks of
 * shared memory went through it and were dropped, and what each block cost
 * to allocate and fill, for plain SharedArrayBuffers (memory from the C
 * allocator), for rayts's store blocks (`allocateSharedBlock`: own pages
 * from 64 KB on) and for own pages at every size (to place that threshold),
 * plus the object store end to end.
 *
 *   node --import tsx --expose-gc bench/memory-return.ts           writes bench/results/memory-return.json
 *   node --import tsx --expose-gc bench/memory-return.ts --quick   fewer MB, writes bench/results/memory-return.quick.json
 *
 * - allocation: per block size, 3 rounds of TOTAL MB of blocks, each
 *   allocated and filled (as a copy into the store does) while the last
 *   64 MB of blocks stay alive and older ones are dropped (an event-loop
 *   turn every 16 blocks lets the collector free them); the median round's
 *   microseconds per block, and RSS after everything is dropped and
 *   collected. Each (kind, size) runs in a fresh process.
 * - store: 2,000 task results of 1 MB each through the object store (one
 *   in eight read by the driver, one in eight passed to another task), all
 *   dropped; RSS before, at the peak, and once the store is empty.
 * The machine's load average is recorded: page faults and copies slow down
 * when other processes share the cores.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { allocateSharedBlock, OWN_PAGES_MIN_BYTES } from "../src/core/store/shared-blocks.js";
import { machine } from "./lib/machine.js";

const MB = 1024 * 1024;
const quick = process.argv.includes("--quick");
const TOTAL_MB = quick ? 128 : 512;
const SIZES = [4 * 1024, 16 * 1024, 64 * 1024, 256 * 1024, MB, 8 * MB];
const LIVE_BYTES = 64 * MB;
const gc = (globalThis as { gc?: () => void }).gc;

interface AllocationRow {
  readonly kind: "plain" | "rayts" | "own-pages";
  readonly blockBytes: number;
  readonly usPerBlock: number;
  readonly baselineMB: number;
  readonly rssAfterMB: number;
}

async function turn(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** Drops everything, collects, and reads RSS once the collector has had its turns. */
async function settledRss(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc?.();
    await turn();
  }
  return process.memoryUsage().rss;
}

async function allocationChild(kind: AllocationRow["kind"], bytes: number): Promise<AllocationRow> {
  const allocate = kind === "plain" ? (n: number) => new SharedArrayBuffer(n) : kind === "own-pages" ? ownPages : allocateSharedBlock;
  const source = new Uint8Array(bytes).fill(7);
  const count = Math.max(64, Math.floor((TOTAL_MB * MB) / bytes));
  const live = Math.max(1, Math.floor(LIVE_BYTES / bytes));
  const baseline = await settledRss();
  const rounds: number[] = [];
  for (let round = 0; round < 3; round++) {
    const held = new Array<SharedArrayBuffer>(live);
    let spent = 0;
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const block = allocate(bytes);
      new Uint8Array(block).set(source);
      spent += performance.now() - started;
      held[i % live] = block;
      if ((i & 15) === 15) await turn();
    }
    rounds.push((spent * 1000) / count);
  }
  rounds.sort((a, b) => a - b);
  const rssAfter = await settledRss();
  return { kind, blockBytes: bytes, usPerBlock: round2(rounds[1] ?? 0), baselineMB: Math.round(baseline / MB), rssAfterMB: Math.round(rssAfter / MB) };
}

interface StoreRow {
  readonly baselineMB: number;
  readonly peakMB: number;
  readonly rssAfterMB: number;
  readonly objectsLeft: number;
  readonly secondsToEmpty: number;
}

async function storeChild(): Promise<StoreRow> {
  const ray = await import("../src/index.js");
  await ray.init({ numCpus: 2, includeDashboard: false, recordState: false });
  const ones = ray.remote((n: number) => new Uint8Array(n).fill(1));
  const sum = ray.remote((data: Uint8Array) => {
    let total = 0;
    for (let i = 0; i < data.length; i += 4096) total += data[i] ?? 0;
    return total;
  });
  const ping = async (): Promise<void> => {
    await ray.get(sum.remote(ones.remote(8)));
  };
  await ping();
  const baseline = await settledRss();
  let peak = baseline;
  const run = async (): Promise<void> => {
    for (let i = 0; i < 2000; i++) {
      const ref = ones.remote(MB);
      if (i % 8 === 0) await ray.get(ref);
      else if (i % 8 === 4) await ray.get(sum.remote(ref));
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  };
  await run();
  const started = performance.now();
  // The store empties once the driver and the workers have collected the dropped refs.
  for (let i = 0; i < 500 && ray.objectStoreStats().numObjects > 0; i++) {
    await ping();
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const rssAfter = await settledRss();
  const row = {
    baselineMB: Math.round(baseline / MB),
    peakMB: Math.round(peak / MB),
    rssAfterMB: Math.round(rssAfter / MB),
    objectsLeft: ray.objectStoreStats().numObjects,
    secondsToEmpty: round2(seconds),
  };
  await ray.shutdown();
  return row;
}

/** A block with pages of its own whatever its size (what the store does from OWN_PAGES_MIN_BYTES on). */
function ownPages(bytes: number): SharedArrayBuffer {
  const Shared = SharedArrayBuffer as unknown as new (n: number, options: { maxByteLength: number }) => SharedArrayBuffer;
  return new Shared(bytes, { maxByteLength: bytes });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Runs this file again in a fresh process for one measurement; returns its JSON line. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON it expects
function inChild<T>(args: string[]): T {
  const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", ...args, ...(quick ? ["--quick"] : [])], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * MB,
  });
  const line = run.stdout.split("\n").find((l) => l.startsWith("ROW "));
  if (run.status !== 0 || line === undefined) throw new Error(`child ${args.join(" ")} failed (exit ${run.status ?? run.signal}): ${run.stdout}`);
  return JSON.parse(line.slice(4)) as T;
}

const child = process.argv.indexOf("--child");
if (child >= 0) {
  if (gc === undefined) throw new Error("run with --expose-gc");
  const what = process.argv[child + 1];
  const kind = what === "plain" || what === "own-pages" ? what : "rayts";
  const row = what === "store" ? await storeChild() : await allocationChild(kind, Number(process.argv[child + 2]));
  console.log(`ROW ${JSON.stringify(row)}`);
} else {
  const started = machine();
  const allocation: AllocationRow[] = [];
  for (const bytes of SIZES) {
    for (const kind of ["plain", "rayts", "own-pages"] as const) {
      const row = inChild<AllocationRow>([kind, String(bytes)]);
      allocation.push(row);
      process.stderr.write(`${kind} ${bytes} B: ${row.usPerBlock} us/block, RSS ${row.baselineMB} -> ${row.rssAfterMB} MB\n`);
    }
  }
  const store = inChild<StoreRow>(["store"]);
  process.stderr.write(`store: RSS ${store.baselineMB} MB, peak ${store.peakMB} MB, after ${store.rssAfterMB} MB\n`);
  const figures = {
    suite: "memory-return",
    machine: started,
    loadAverageAtEnd: machine().loadAverage,
    totalMBPerRound: TOTAL_MB,
    liveMB: LIVE_BYTES / MB,
    ownPagesFromBytes: OWN_PAGES_MIN_BYTES,
    allocation,
    store,
  };
  writeFileSync(new URL(`./results/memory-return${quick ? ".quick" : ""}.json`, import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
  console.table(allocation);
  console.log(store);
}
