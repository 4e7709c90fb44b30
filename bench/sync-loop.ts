/**
 * The plain synchronous loop, as a user writes it:
 *
 *   for (let i = 0; i < N; i++) await ray.get(f.remote(i));
 *
 * in a fresh process (N = 3,000 timed calls after 300 warm-up calls, 2
 * worker threads), against the same loop on raw workerpool
 * (`await pool.exec("empty", [i])`) and piscina (`await pool.run(i)`).
 * Each round starts one fresh process per runtime, in alternating order;
 * figures are medians over the rounds. A last process runs the three loops
 * one after the other in one process (rayts first), as a quick check by
 * hand does. The same loops after 20,000 warm-up calls show what is left once
 * V8 has optimised every runtime's call path. Writes bench/results/sync-loop.json.
 *
 *   npm run bench:sync-loop            (compiled, no TypeScript loader)
 *   npm run bench:sync-loop -- 9       (rounds; default 7)
 *
 * Unlike the overhead suite's "sync round trip" (benchmark.js, deferred
 * cycles after the pools have done other work), nothing else runs before
 * the loop and the clock spans the whole loop.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machine } from "./lib/machine.js";

const WARMUP = 300;
/** Warm-up calls of the second, "warm" figure: enough for V8 to optimise the whole call path. */
const LONG_WARMUP = 20_000;
const CALLS = 3_000;
const THREADS = 2;
const RUNTIMES = ["rayts", "workerpool", "piscina"] as const;
type Runtime = (typeof RUNTIMES)[number];

const here = fileURLToPath(import.meta.url);
const compiled = here.endsWith(".js");
const workers = new URL("./workers/", import.meta.url);

/** CPU time per call of each loop run in this process (all threads): load moves it much less than wall time. */
const cpuUs: number[] = [];

/** Runs the loop on one runtime in this process; returns microseconds per call. */
async function loop(runtime: Runtime, warmup: number): Promise<number> {
  let call: (i: number) => PromiseLike<unknown>;
  let close: () => PromiseLike<unknown>;
  if (runtime === "rayts") {
    const ray = await import("../src/index.js");
    await ray.init({ numCpus: THREADS });
    const f = ray.remote((i: number) => i);
    call = (i) => ray.get(f.remote(i));
    close = () => ray.shutdown();
  } else if (runtime === "workerpool") {
    const { default: workerpool } = await import("workerpool");
    const pool = workerpool.pool(new URL("workerpool-worker.mjs", workers).pathname, { minWorkers: THREADS, maxWorkers: THREADS, workerType: "thread" });
    call = (i) => pool.exec("empty", [i]);
    close = async () => {
      await pool.terminate();
    };
  } else {
    const { Piscina } = await import("piscina");
    const pool = new Piscina({ filename: new URL("piscina-worker.mjs", workers).href, minThreads: THREADS, maxThreads: THREADS });
    call = (i) => pool.run(i, { name: "empty" });
    close = () => pool.destroy();
  }
  for (let i = 0; i < warmup; i++) await call(i);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await call(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / CALLS;
  const used = process.cpuUsage(cpu);
  cpuUs.push((used.user + used.system) / CALLS);
  await close();
  return us;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `runtimes` in a fresh process, one after the other; returns us/call of each. */
function fresh(runtimes: readonly Runtime[], warmup = WARMUP): number[] {
  const loader = compiled ? [] : ["--import", "tsx"];
  const run = spawnSync(process.execPath, [...loader, here, "--warmup", String(warmup), "--child", ...runtimes], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`sync-loop child ${runtimes.join(",")} failed (exit ${run.status ?? run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "[]") as number[];
}

const args = process.argv.slice(2);
const child = args.indexOf("--child");
if (child >= 0) {
  const results: number[] = [];
  const warmup = Number(args[args.indexOf("--warmup") + 1]);
  for (const runtime of args.slice(child + 1) as Runtime[]) results.push(await loop(runtime, warmup));
  process.stdout.write(`${JSON.stringify([...results, ...cpuUs])}\n`);
  process.exit(0);
}

const rounds = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 7);
const loadBefore = loadavg()[0] ?? 0;
const samples: Record<Runtime, number[]> = { rayts: [], workerpool: [], piscina: [] };
const warmSamples: Record<Runtime, number[]> = { rayts: [], workerpool: [], piscina: [] };
const cpuSamples: Record<Runtime, number[]> = { rayts: [], workerpool: [], piscina: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? RUNTIMES : [...RUNTIMES].reverse();
  for (const runtime of order) {
    const [us, cpu] = fresh([runtime]) as [number, number];
    samples[runtime].push(us);
    cpuSamples[runtime].push(cpu);
    warmSamples[runtime].push(fresh([runtime], LONG_WARMUP)[0] as number);
  }
  process.stderr.write(`round ${round + 1}/${rounds}: ${RUNTIMES.map((r) => `${r} ${samples[r].at(-1)?.toFixed(1)} us (warm ${warmSamples[r].at(-1)?.toFixed(1)})`).join(", ")}\n`);
}
const sameProcess = fresh(RUNTIMES).slice(0, RUNTIMES.length);
const loadAfter = loadavg()[0] ?? 0;
const medians = Object.fromEntries(RUNTIMES.map((r) => [r, median(samples[r])])) as Record<Runtime, number>;
const warmMedians = Object.fromEntries(RUNTIMES.map((r) => [r, median(warmSamples[r])])) as Record<Runtime, number>;
const result = {
  suite: "sync-loop",
  title: "for (...) await ray.get(f.remote(i)): fresh process, 300 warm-up + 3,000 timed calls, 2 threads",
  machine: machine(),
  loadAverage: { before: loadBefore, after: loadAfter },
  rounds,
  usPerCall: { medians, samples },
  cpuUsPerCall: { medians: Object.fromEntries(RUNTIMES.map((r) => [r, median(cpuSamples[r])])), samples: cpuSamples },
  ratios: { workerpool: medians.rayts / medians.workerpool, piscina: medians.rayts / medians.piscina },
  warm: {
    warmup: LONG_WARMUP,
    usPerCall: { medians: warmMedians, samples: warmSamples },
    ratios: { workerpool: warmMedians.rayts / warmMedians.workerpool, piscina: warmMedians.rayts / warmMedians.piscina },
  },
  sameProcess: Object.fromEntries(RUNTIMES.map((r, index) => [r, sameProcess[index]])),
};
const out = path.join(path.dirname(here), compiled ? "../../../bench/results" : "results");
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, "sync-loop.json"), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `sync loop, us/call (median of ${rounds} fresh processes; load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}):\n` +
    RUNTIMES.map((r) => `  ${r.padEnd(10)} ${medians[r].toFixed(1)} (CPU, all threads: ${median(cpuSamples[r]).toFixed(1)})`).join("\n") +
    `\n  rayts / workerpool = ${result.ratios.workerpool.toFixed(2)}x, rayts / piscina = ${result.ratios.piscina.toFixed(2)}x\n` +
    `  after ${LONG_WARMUP} warm-up calls: ${RUNTIMES.map((r) => `${r} ${warmMedians[r].toFixed(1)}`).join(", ")}; rayts / workerpool = ${result.warm.ratios.workerpool.toFixed(2)}x\n` +
    `  one process, in turn: ${RUNTIMES.map((r, index) => `${r} ${sameProcess[index]?.toFixed(1)}`).join(", ")}\n`,
);
