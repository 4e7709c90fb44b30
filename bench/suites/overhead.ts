/**
 * Task overhead: what one task, actor call, put or get costs when the work
 * itself is nothing. Peers: raw workerpool, piscina, and a bare
 * worker_threads postMessage echo (the floor under every pool).
 */
import { Worker } from "node:worker_threads";
import * as ray from "../../src/index.js";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import { DriverRuntime } from "../../src/core/runtime/runtime.js";
import { LocalObservation } from "../../src/dashboard/observation.js";
import { interleaved, micro, perRound, repeat } from "../lib/harness.js";
import { startPiscina, startRayts, startWorkerpool } from "../lib/peers.js";
import { barPanels, compare, find, newResult, type SuiteResult } from "../lib/report.js";
import { mapFigure, summarize, type Figure } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { empty, ones } from "../workers/kernels.mjs";

const MiB = 1024 * 1024;

const US = (seconds: number): number => seconds * 1e6;

class Counter {
  n = 0;
  inc(): number {
    return ++this.n;
  }
}

const suite: Suite = async (budget, progress) => {
  const batch = budget.quick ? 2_000 : 10_000;
  const bigElements = 1 << 20; // 8 MB of Float64
  const result = newResult("overhead", "Task overhead: empty tasks, actor calls, put/get", budget.quick, {
    threads: THREADS,
    asyncBatch: batch,
    largeArrayBytes: bigElements * 8,
  });
  const add = (group: string, runtime: string, unit: string, figure: Figure, better: "lower" | "higher", note?: string): void => {
    result.rows.push({ group, runtime, unit, figure, better, ...(note === undefined ? {} : { note }) });
  };
  const perTask = (samples: number[]): Figure => mapFigure(summarize(samples), US);
  const rate = (samples: number[], ops: number): Figure => mapFigure(summarize(samples), (s) => ops / s);

  // All runtimes up at once (idle workers sleep), then the figures that
  // compare runtimes are taken in interleaved rounds.
  const worker = new Worker(new URL("../workers/echo-worker.mjs", import.meta.url));
  const echo = (): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once("message", resolve);
      worker.postMessage(0);
    });
  for (let i = 0; i < 200; i++) await echo();
  const wp = await startWorkerpool(THREADS);
  const pis = await startPiscina(THREADS);
  await startRayts(THREADS);

  // Memory first, on a fresh store: 1 GiB of typed arrays held; driver RSS growth.
  {
    const big = new Float64Array(bigElements).fill(1);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    progress.step("memory: put 1 GiB");
    const before = process.memoryUsage().rss;
    const held: ray.ObjectRef<Float64Array>[] = [];
    for (let i = 0; i < 128; i++) held.push(ray.put(big));
    gc?.();
    const grown = (process.memoryUsage().rss - before) / 2 ** 30;
    add("1 GiB of typed arrays put: driver RSS growth", "rayts", "GiB", summarize([grown]), "lower", `${held.length} x 8 MiB held, fresh store`);
    held.length = 0;
    gc?.();
  }

  // Large results dropped in a loop that allocates nothing else: what the
  // store and the process hold while it runs (no gc() here: rayts asks for
  // collections itself, see src/core/store/collector.ts), and the per-call cost
  // beside workerpool returning the same array by structured clone.
  {
    const calls = budget.quick ? 500 : 2000;
    const onesTask = ray.remote(ones);
    await ray.get(onesTask.remote(MiB));
    (globalThis as { gc?: () => void }).gc?.();
    progress.step(`memory: ${calls} results of 1 MiB, each dropped`);
    const before = process.memoryUsage().rss;
    let storePeak = 0;
    let rssPeak = before;
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      await ray.get(onesTask.remote(MiB));
      storePeak = Math.max(storePeak, ray.objectStoreStats().bytesUsed);
      if (i % 50 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    const perCall = ((performance.now() - start) * 1000) / calls;
    const group = `${calls} calls returning 1 MiB, each dropped`;
    add(`${group}: per call`, "rayts", "us", summarize([perCall]), "lower");
    add(`${group}: object store peak`, "rayts", "MiB", summarize([storePeak / MiB]), "lower", `${calls} MiB went through the store`);
    add(`${group}: process RSS peak growth`, "rayts", "MiB", summarize([(rssPeak - before) / MiB]), "lower", "driver and workers");
    await wp.exec("ones", [MiB]);
    const wpStart = performance.now();
    for (let i = 0; i < calls; i++) await wp.exec("ones", [MiB]);
    add(`${group}: per call`, "workerpool", "us", summarize([((performance.now() - wpStart) * 1000) / calls]), "lower", "structured clone of the result");
  }

  const f = ray.remote(empty);
  const CounterActor = ray.remote(Counter);
  const counter = CounterActor.remote();
  await ray.get(counter.inc.remote());
  const rounds = budget.quick ? 1 : 3;
  const b = perRound(budget, rounds);
  const sync = await interleaved(rounds, [
    ["postMessage echo", () => micro("postMessage echo sync", progress, b, echo)],
    ["workerpool", () => micro("workerpool sync", progress, b, () => wp.exec("empty", []))],
    ["piscina", () => micro("piscina sync", progress, b, () => pis.run(0, { name: "empty" }))],
    ["rayts", () => micro("rayts sync", progress, b, () => ray.get(f.remote()))],
    ["rayts actor", () => micro("rayts actor sync", progress, b, () => ray.get(counter.inc.remote()))],
  ]);
  for (const [runtime, samples] of sync) {
    if (runtime === "rayts actor") add("actor call, sync round trip", "rayts", "us", perTask(samples), "lower");
    else add("empty task, sync round trip", runtime, "us", perTask(samples), "lower", runtime === "postMessage echo" ? "bare worker_threads, 1 thread: the floor" : undefined);
  }
  const many = <T>(submit: () => Promise<T>): (() => Promise<unknown>) => () => {
    const out = new Array<Promise<T>>(batch);
    for (let i = 0; i < batch; i++) out[i] = submit();
    return Promise.all(out);
  };
  const submitAll = (submit: () => ray.ObjectRef<number>) => () => {
    const refs = new Array<ray.ObjectRef<number>>(batch);
    for (let i = 0; i < batch; i++) refs[i] = submit();
    return ray.get(refs);
  };
  // A batch of 10,000 is a long operation already: timed directly, the
  // runtimes interleaved per repetition.
  const batches: [string, () => Promise<unknown>][] = [
    ["workerpool", many(() => wp.exec("empty", []) as Promise<number>)],
    ["piscina", many(() => pis.run(0, { name: "empty" }) as Promise<number>)],
    ["rayts", submitAll(() => f.remote())],
    ["rayts actor", submitAll(() => counter.inc.remote())],
  ];
  for (const [, run] of batches) await run(); // warm-up
  const async = await interleaved(budget.reps, batches.map(([key, run]) => [key, async () => (await repeat(`${key} async batch`, progress, 1, run, 0)).map((ms) => ms / 1000)] as const));
  for (const [runtime, samples] of async) {
    if (runtime === "rayts actor") add("actor calls, async throughput", "rayts", "calls/s", rate(samples, batch), "higher");
    else add("empty tasks, async throughput", runtime, "tasks/s", rate(samples, batch), "higher");
  }

  // What recording state for ray.state and the dashboard costs (on by
  // default): the same runtime with the recorder attached and with no event
  // sink at all, many short rounds, the order flipped every round. On a
  // loaded machine throughput swings far more than 5% between batches, so
  // the target is judged on the median of each round's on/off ratio, and
  // the CPU time per task (all threads; load moves it much less) is shown.
  {
    const backend = threadState.backend;
    const observation = backend instanceof DriverRuntime ? backend.observation : undefined;
    if (!(observation instanceof LocalObservation)) throw new Error("expected rayts to record state by default");
    const recording = (on: boolean, run: () => Promise<unknown>) => async (): Promise<{ seconds: number; cpuUs: number }> => {
      observation.setRecording(on);
      const cpu = process.cpuUsage();
      const start = performance.now();
      await run();
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      observation.setRecording(true);
      return { seconds, cpuUs: (used.user + used.system) / batch };
    };
    const cases = [
      ["tasks on", recording(true, submitAll(() => f.remote()))],
      ["tasks off", recording(false, submitAll(() => f.remote()))],
      ["calls on", recording(true, submitAll(() => counter.inc.remote()))],
      ["calls off", recording(false, submitAll(() => counter.inc.remote()))],
    ] as const;
    const samples = new Map<string, { seconds: number; cpuUs: number }[]>(cases.map(([key]) => [key, []]));
    const rounds = budget.quick ? 5 : 25;
    for (let round = 0; round < rounds; round++) {
      progress.step(`state recording on/off: round ${round + 1}/${rounds}`);
      for (const [key, run] of round % 2 === 0 ? cases : [...cases].reverse()) samples.get(key)?.push(await run());
    }
    for (const [key, group, unit] of [["tasks", "empty tasks, async throughput (state recording)", "tasks/s"], ["calls", "actor calls, async throughput (state recording)", "calls/s"]] as const) {
      const on = samples.get(`${key} on`) ?? [];
      const off = samples.get(`${key} off`) ?? [];
      add(group, "recording on", unit, rate(on.map((s) => s.seconds), batch), "higher", "the default");
      add(group, "recording off", unit, rate(off.map((s) => s.seconds), batch), "higher", "recordState: false");
      add(`${group}: on/off per round`, "rayts", "ratio", summarize(on.map((s, i) => (off[i]?.seconds ?? NaN) / s.seconds)), "higher", "throughput on / off, paired by round");
      add(`${group}: CPU per call, all threads`, "recording on", "us", summarize(on.map((s) => s.cpuUs)), "lower");
      add(`${group}: CPU per call, all threads`, "recording off", "us", summarize(off.map((s) => s.cpuUs)), "lower");
    }
  }
  ray.kill(counter);
  await worker.terminate();
  await wp.terminate();
  await pis.destroy();

  const small = { id: 7, name: "small", tags: ["a", "b"] };
  add("put small value", "rayts", "ops/s", rate(await micro("rayts put small", progress, budget, () => ray.put(small)), 1), "higher");
  const smallRef = ray.put(small);
  add("get small value (await each)", "rayts", "ops/s", rate(await micro("rayts get small", progress, budget, () => ray.get(smallRef)), 1), "higher");
  const smallRefs = Array.from({ length: 1000 }, (_, i) => ray.put({ ...small, id: i }));
  add("get small values (1000 per get)", "rayts", "ops/s", rate(await micro("rayts get batch", progress, budget, () => ray.get(smallRefs)), 1000), "higher");

  // Large typed array: put throughput beside a plain copy (the memcpy floor).
  const big = new Float64Array(bigElements).map((_, i) => i);
  const puts = budget.quick ? 8 : 32;
  const copyTimes = await repeat("copy 8 MB", progress, budget.reps, () => {
    for (let i = 0; i < puts; i++) new Float64Array(big);
  });
  const gb = (puts * big.byteLength) / 1e9;
  add("8 MB typed array: put throughput", "serial copy", "GB/s", mapFigure(summarize(copyTimes), (ms) => gb / (ms / 1000)), "higher", "new Float64Array(a): copy floor");
  const putTimes = await repeat("put 8 MB", progress, budget.reps, () => {
    const refs: ray.ObjectRef<Float64Array>[] = [];
    for (let i = 0; i < puts; i++) refs.push(ray.put(big));
    return refs.length;
  });
  add("8 MB typed array: put throughput", "rayts", "GB/s", mapFigure(summarize(putTimes), (ms) => gb / (ms / 1000)), "higher");

  await ray.shutdown();

  compare(result, "workerpool");
  evaluateTargets(result);
  result.notes.push(`${THREADS} worker threads per runtime; each figure from benchmark.js samples (micro) or ${budget.reps} repetitions (macro) in this one run`);
  return {
    result,
    chart: { kind: "bars", title: `Task overhead (${result.machine.cores} cores, Node ${result.machine.node})`, panels: barPanels(result.rows) },
  };
};

function evaluateTargets(result: SuiteResult): void {
  const t = result.targets;
  const median = (group: string, runtime: string): number | undefined => find(result, group, runtime)?.figure.median;
  const wpSync = median("empty task, sync round trip", "workerpool");
  const raySync = median("empty task, sync round trip", "rayts");
  if (wpSync !== undefined && raySync !== undefined) {
    t.push({ figure: "empty task, sync round trip", target: "<= 1.25x raw workerpool", measured: `${raySync.toFixed(1)} us vs ${wpSync.toFixed(1)} us = ${(raySync / wpSync).toFixed(2)}x`, met: raySync <= 1.25 * wpSync });
  }
  const piAsync = median("empty tasks, async throughput", "piscina");
  const rayAsync = median("empty tasks, async throughput", "rayts");
  if (piAsync !== undefined && rayAsync !== undefined) {
    t.push({
      figure: "empty tasks, async throughput",
      target: ">= 3x piscina (>= ~200k/s)",
      measured: `${Math.round(rayAsync)}/s vs ${Math.round(piAsync)}/s = ${(rayAsync / piAsync).toFixed(2)}x`,
      met: rayAsync >= 3 * piAsync,
    });
  }
  const actorSync = median("actor call, sync round trip", "rayts");
  if (wpSync !== undefined && actorSync !== undefined) {
    t.push({ figure: "actor call, sync", target: "<= 1.25x raw workerpool sync round trip", measured: `${actorSync.toFixed(1)} us = ${(actorSync / wpSync).toFixed(2)}x`, met: actorSync <= 1.25 * wpSync });
  }
  for (const group of ["empty tasks, async throughput (state recording)", "actor calls, async throughput (state recording)"]) {
    const ratio = median(`${group}: on/off per round`, "rayts");
    const cpuOn = median(`${group}: CPU per call, all threads`, "recording on");
    const cpuOff = median(`${group}: CPU per call, all threads`, "recording off");
    if (ratio !== undefined) {
      const cpu = cpuOn !== undefined && cpuOff !== undefined ? `; CPU ${cpuOn.toFixed(2)} vs ${cpuOff.toFixed(2)} us a call` : "";
      t.push({ figure: group, target: "<= 5% slower than recording off", measured: `median round: recording on at ${(ratio * 100).toFixed(1)}% of off${cpu}`, met: ratio >= 0.95 });
    }
  }
  const actorAsync = median("actor calls, async throughput", "rayts");
  if (actorAsync !== undefined) t.push({ figure: "actor calls, async", target: ">= 100k calls/s", measured: `${Math.round(actorAsync)}/s`, met: actorAsync >= 100_000 });
  const put = median("put small value", "rayts");
  const get = median("get small value (await each)", "rayts");
  if (put !== undefined && get !== undefined) {
    t.push({ figure: "small put + get", target: ">= 50k/s each", measured: `put ${Math.round(put)}/s, get ${Math.round(get)}/s (await each)`, met: put >= 50_000 && get >= 50_000 });
  }
  const rss = median("1 GiB of typed arrays put: driver RSS growth", "rayts");
  if (rss !== undefined) t.push({ figure: "memory: 1 GB of typed arrays put", target: "driver RSS grows <= 1.15 GB", measured: `${rss.toFixed(2)} GiB`, met: rss <= 1.15 });
}

export default suite;
