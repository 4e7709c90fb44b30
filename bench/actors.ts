/**
 * Actor benchmarks: many actors on shared threads, and async actors.
 *
 *   node --import tsx bench/actors.ts            all scenarios, writes bench/results/actors.json
 *   node --import tsx bench/actors.ts --quick    fewer calls, writes bench/results/actors.quick.json
 *
 * Each scenario runs in its own child process, so memory figures are that
 * process's alone:
 * - scale-N: N actors created in chunks of 250 (yielding between chunks, as
 *   a program that wants a live event loop would), then one call on each.
 *   Reports creation time, the longest chunk and the event loop's longest
 *   stall (while creating, and while the calls run), the driver heap each
 *   actor costs (heap used after a full collection, before and after
 *   creating, over the number of actors), the main thread's CPU time while
 *   creating, time until every actor answered, peak RSS, the process's OS
 *   thread count (Node's own threads included), and how long
 *   `process.exit()` takes with them all alive.
 * - concurrency-K: calls on one actor whose method awaits a 1 ms timer, with
 *   `maxConcurrency` K.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import * as ray from "../src/index.js";
import { machine } from "./lib/machine.js";

const CHUNK = 250;

interface ScaleResult {
  readonly scenario: string;
  readonly actors: number;
  readonly createMs: number;
  readonly longestChunkMs: number;
  /** Longest event-loop stall while creating (wall time: includes the OS preempting the process on a loaded machine). */
  readonly eventLoopMaxCreateMs: number;
  /** Driver heap per actor: heap used after a full collection, after creating minus before, over the actors. */
  readonly heapPerActorBytes: number;
  /** CPU time of the main thread (the event loop's) while creating; NaN where /proc is not readable. */
  readonly mainThreadCreateCpuMs: number;
  /** Longest event-loop stall while the calls ran and answered. */
  readonly eventLoopMaxCallsMs: number;
  readonly allAnsweredMs: number;
  readonly peakRssMB: number;
  readonly threads: number;
  exitMs?: number;
}

interface ConcurrencyResult {
  readonly scenario: string;
  readonly maxConcurrency: number;
  readonly calls: number;
  readonly totalMs: number;
  readonly callsPerSecond: number;
}

function threads(): number {
  try {
    return readdirSync("/proc/self/task").length;
  } catch {
    return Number.NaN;
  }
}

async function scale(actors: number): Promise<ScaleResult> {
  await ray.init({ numCpus: 2 });
  const Counter = ray.remote(
    class Counter {
      n = 0;
      inc(): number {
        return ++this.n;
      }
    },
  );
  const heapBefore = heapAfterCollection();
  const cpuBefore = mainThreadCpuMs();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const start = performance.now();
  const handles: ray.ActorHandle<{ inc(): number }>[] = [];
  let longestChunk = 0;
  for (let made = 0; made < actors; made += CHUNK) {
    const chunkStart = performance.now();
    for (let index = made; index < Math.min(actors, made + CHUNK); index++) handles.push(Counter.remote());
    longestChunk = Math.max(longestChunk, performance.now() - chunkStart);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const created = performance.now() - start;
  const createStall = delay.max / 1e6;
  const createCpu = mainThreadCpuMs() - cpuBefore;
  delay.disable();
  const heapPerActor = (heapAfterCollection() - heapBefore) / actors;
  delay.reset();
  delay.enable();
  const callsStart = performance.now();
  const answers = await ray.get(handles.map((handle) => handle.inc.remote()));
  const answered = created + (performance.now() - callsStart);
  delay.disable();
  if (!answers.every((answer) => answer === 1)) throw new Error("an actor answered wrongly");
  return {
    scenario: `scale-${actors}`,
    actors,
    createMs: round(created),
    longestChunkMs: round(longestChunk),
    eventLoopMaxCreateMs: round(createStall),
    heapPerActorBytes: Math.round(heapPerActor),
    mainThreadCreateCpuMs: createCpu,
    eventLoopMaxCallsMs: round(delay.max / 1e6),
    allAnsweredMs: round(answered),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    threads: threads(),
  };
}

async function concurrency(maxConcurrency: number, calls: number): Promise<ConcurrencyResult> {
  await ray.init({ numCpus: 2 });
  const Fetcher = ray.remote(
    class Fetcher {
      async fetch(id: number): Promise<number> {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return id;
      }
    },
    { maxConcurrency },
  );
  const fetcher = Fetcher.remote();
  await ray.get(fetcher.fetch.remote(0));
  const start = performance.now();
  const ids = await ray.get(Array.from({ length: calls }, (_, index) => fetcher.fetch.remote(index)));
  const total = performance.now() - start;
  if (ids.length !== calls) throw new Error("missing results");
  await ray.shutdown();
  return { scenario: `concurrency-${maxConcurrency}`, maxConcurrency, calls, totalMs: round(total), callsPerSecond: Math.round((calls / total) * 1000) };
}

/** Heap used after a full collection. */
function heapAfterCollection(): number {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  v8.setFlagsFromString("--no-expose-gc");
  gc();
  return process.memoryUsage().heapUsed;
}

/** CPU time of this process's main thread so far (ms), from /proc; NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime, in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Runs one scenario in a child process; for scale scenarios, also times the child's `process.exit()`. */
function child(args: string[]): Promise<ScaleResult | ConcurrencyResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    let exitAsked = 0;
    let result: ScaleResult | ConcurrencyResult | undefined;
    proc.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split("\n");
      output = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("{")) {
          result = JSON.parse(line) as ScaleResult | ConcurrencyResult;
          exitAsked = performance.now();
        }
      }
    });
    proc.on("exit", (code) => {
      if (code !== 0 || result === undefined) reject(new Error(`scenario ${args.join(" ")} failed (exit ${code})`));
      else {
        if ("actors" in result) result.exitMs = round(performance.now() - exitAsked);
        resolve(result);
      }
    });
  });
}

const args = process.argv.slice(2);
const childAt = args.indexOf("--child");
if (childAt >= 0) {
  const [kind, value, calls] = args.slice(childAt + 1);
  const result = kind === "scale" ? await scale(Number(value)) : await concurrency(Number(value), Number(calls));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Exit with every actor alive: the parent times how long that takes.
  process.exit(0);
} else {
  const quick = args.includes("--quick");
  const calls = quick ? 200 : 1000;
  const results: (ScaleResult | ConcurrencyResult)[] = [];
  for (const scenario of [["scale", "1000"], ["scale", "10000"], ["concurrency", "1", String(calls)], ["concurrency", "16", String(calls)]]) {
    process.stderr.write(`${scenario.join(" ")}...\n`);
    const result = await child(scenario);
    process.stderr.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  const [one, sixteen] = results.filter((r): r is ConcurrencyResult => "maxConcurrency" in r);
  const speedup = one !== undefined && sixteen !== undefined ? round(one.totalMs / sixteen.totalMs) : undefined;
  const file = new URL(`./results/actors${quick ? ".quick" : ""}.json`, import.meta.url);
  const figures = { suite: "actors", machine: machine(), loader: "tsx", results, concurrencySpeedup: speedup };
  writeFileSync(file, `${JSON.stringify(figures, null, 2)}\n`);
  process.stderr.write(`maxConcurrency 16 vs 1: ${speedup}x; written to ${fileURLToPath(file)}\n`);
}
