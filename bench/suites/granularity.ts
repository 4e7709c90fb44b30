/**
 * Granularity: when does a task pay? Busy-spin tasks of 1 us to 10 ms, N of
 * them submitted at once, on 2 workers per runtime; speedup over the same
 * loop run serially, and the break-even duration where it crosses 1. Plus
 * Ray's documented case: 10,000 calls of a 10 us function (0.165 s serial,
 * 1.61 s as Ray tasks) and 100,000 of a 0.1 ms one, no user batching.
 */
import * as ray from "../../src/index.js";
import { calibrateSpin, startPiscina, startRayts, startWorkerpool, type WorkerPool } from "../lib/peers.js";
import type { Progress } from "../lib/progress.js";
import { newResult, type SuiteResult } from "../lib/report.js";
import { formatNumber, summarize, type Figure } from "../lib/stats.js";
import type { Point } from "../lib/svg.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { spin } from "../workers/kernels.mjs";
import type { Piscina } from "piscina";

const DURATIONS_US = [1, 10, 100, 1_000, 10_000];
const RUNTIMES = ["serial", "workerpool", "piscina", "rayts"] as const;
type Runtime = (typeof RUNTIMES)[number];

interface Runners {
  readonly run: Record<Runtime, (count: number, iterations: number) => Promise<unknown>>;
}

function runners(wp: WorkerPool, pis: Piscina): Runners {
  const task = ray.remote(spin);
  return {
    run: {
      serial: async (count, iterations) => {
        let x = 0;
        for (let i = 0; i < count; i++) x += spin(iterations);
        return x;
      },
      workerpool: (count, iterations) => Promise.all(Array.from({ length: count }, () => wp.exec("spin", [iterations]))),
      piscina: (count, iterations) => Promise.all(Array.from({ length: count }, () => pis.run(iterations, { name: "spin" }))),
      rayts: (count, iterations) => {
        const refs = new Array<ray.ObjectRef<number>>(count);
        for (let i = 0; i < count; i++) refs[i] = task.remote(iterations);
        return ray.get(refs);
      },
    },
  };
}

/** Times every runtime on one workload, interleaved per repetition; returns ms per runtime. */
async function measure(label: string, progress: Progress, reps: number, r: Runners, count: number, iterations: number): Promise<Record<Runtime, number[]>> {
  const times = { serial: [], workerpool: [], piscina: [], rayts: [] } as Record<Runtime, number[]>;
  for (const runtime of RUNTIMES) await r.run[runtime](Math.min(count, 200), iterations); // warm
  for (let rep = 0; rep < reps; rep++) {
    for (const runtime of RUNTIMES) {
      progress.step(`${label}: ${runtime} ${rep + 1}/${reps}`);
      const start = performance.now();
      await r.run[runtime](count, iterations);
      times[runtime].push(performance.now() - start);
    }
  }
  return times;
}

/** Speedup per repetition (serial and parallel of the same round), summarised. */
function speedup(serial: readonly number[], parallel: readonly number[]): Figure {
  return summarize(parallel.map((t, i) => serial[i]! / t));
}

/** Log-interpolated duration where the speedup curve first reaches 1. */
function breakEven(points: readonly Point[]): string {
  if (points.length === 0) return "n/a";
  if (points[0]!.y >= 1) return `<= ${points[0]!.x} us`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (b.y >= 1) {
      const t = (1 - a.y) / (b.y - a.y);
      const x = 10 ** (Math.log10(a.x) + t * (Math.log10(b.x) - Math.log10(a.x)));
      return `${formatNumber(x)} us`;
    }
  }
  return `> ${points[points.length - 1]!.x} us`;
}

const suite: Suite = async (budget, progress) => {
  progress.step("calibrating spin");
  const perUs = calibrateSpin();
  const total = budget.quick ? 100_000 : 400_000; // us of serial work per duration
  const cap = budget.quick ? 5_000 : 20_000;
  const result = newResult("granularity", "Granularity: speedup over serial by task duration", budget.quick, {
    threads: THREADS,
    spinIterationsPerUs: Math.round(perUs),
    serialWorkPerPointUs: total,
    maxTasksPerPoint: cap,
    submission: "all N submitted at once, then one get / Promise.all",
  });
  const wp = await startWorkerpool(THREADS);
  const pis = await startPiscina(THREADS);
  await startRayts(THREADS);
  const r = runners(wp, pis);

  const curves = new Map<Runtime, Point[]>();
  for (const us of DURATIONS_US) {
    const count = Math.max(budget.quick ? 10 : 40, Math.min(cap, Math.round(total / us)));
    const iterations = Math.max(1, Math.round(us * perUs));
    const times = await measure(`${us} us tasks x ${count}`, progress, budget.reps, r, count, iterations);
    const group = `${formatNumber(us)} us tasks x ${count}`;
    const serial = summarize(times.serial);
    result.rows.push({ group, runtime: "serial", unit: "ms", figure: serial, better: "lower", note: `measured ${formatNumber((serial.median * 1000) / count)} us per task` });
    for (const runtime of RUNTIMES.slice(1)) {
      const s = speedup(times.serial, times[runtime]);
      const wall = summarize(times[runtime]);
      result.rows.push({ group, runtime, unit: "x vs serial", figure: s, better: "higher", note: `${formatNumber(wall.median)} ms` });
      const points = curves.get(runtime) ?? [];
      points.push({ x: us, y: s.median, lo: s.min, hi: s.max });
      curves.set(runtime, points);
    }
  }
  for (const [runtime, points] of curves) result.derived[`break-even duration, ${runtime}`] = breakEven(points);

  // Ray's documented cases, each call its own task.
  const documented: [count: number, us: number][] = budget.quick ? [[10_000, 10]] : [[10_000, 10], [100_000, 100]];
  for (const [count, us] of documented) {
    const reps = us >= 100 ? 2 : budget.reps;
    const times = await measure(`Ray doc: ${count} x ${us} us`, progress, reps, r, count, Math.round(us * perUs));
    const group = `Ray docs: ${count.toLocaleString("en-US")} calls of a ${us} us function`;
    result.rows.push({ group, runtime: "serial", unit: "ms", figure: summarize(times.serial), better: "lower" });
    for (const runtime of RUNTIMES.slice(1)) {
      result.rows.push({ group, runtime, unit: "ms", figure: summarize(times[runtime]), better: "lower", vs: `${speedup(times.serial, times[runtime]).median.toFixed(2)}x speedup` });
    }
  }
  if (budget.quick) result.notes.push("quick mode skips Ray's 100,000 x 0.1 ms case");
  result.notes.push(`${THREADS} worker threads per runtime on ${result.machine.cores} cores; the driver thread also needs CPU to submit and collect, so 2 workers + driver oversubscribe 2 cores`);
  result.notes.push("speedup = serial time / parallel time of the same repetition (repetitions interleave the runtimes)");

  await ray.shutdown();
  await wp.terminate();
  await pis.destroy();
  evaluateTargets(result, curves);
  return {
    result,
    chart: {
      kind: "lines",
      title: `Speedup over serial vs task duration (${THREADS} workers, ${result.machine.cores} cores)`,
      xLabel: "task duration (us, log scale)",
      yLabel: "speedup over serial (x)",
      referenceY: 1,
      formatX: (x) => (x >= 1000 ? `${x / 1000} ms` : `${x} us`),
      series: [...curves].map(([name, points]) => ({ name, points })),
    },
  };
};

function evaluateTargets(result: SuiteResult, curves: Map<Runtime, Point[]>): void {
  const rayts = curves.get("rayts") ?? [];
  const doc = result.rows.find((r) => r.group.startsWith("Ray docs: 10,000") && r.runtime === "rayts");
  const docSerial = result.rows.find((r) => r.group.startsWith("Ray docs: 10,000") && r.runtime === "serial");
  if (doc !== undefined && docSerial !== undefined) {
    result.targets.push({
      figure: "10,000 calls of a 10 us function, no user batching",
      target: "faster than serial",
      measured: `${formatNumber(doc.figure.median)} ms vs serial ${formatNumber(docSerial.figure.median)} ms`,
      met: doc.figure.median < docSerial.figure.median,
    });
  }
  const be = String(result.derived["break-even duration, rayts"] ?? "n/a");
  const beValue = Number.parseFloat(be.replace(/^[<>=\s]+/, ""));
  const below20 = be.startsWith("<=") ? beValue <= 20 : be.startsWith(">") ? false : beValue <= 20;
  result.targets.push({ figure: "break-even task duration (2 workers beat serial)", target: "<= 20 us", measured: be, met: below20 });
  const ms = rayts.find((p) => p.x === 1_000);
  if (ms !== undefined) result.targets.push({ figure: "1 ms tasks on 2 workers", target: "speedup >= 1.85x", measured: `${ms.y.toFixed(3)}x (${ms.lo.toFixed(2)}..${ms.hi.toFixed(2)})`, met: ms.y >= 1.85 });
}

export default suite;
