/**
 * Seed 003's three workloads, serial vs rayts on 2 workers: a fibonacci
 * sequence (BigInt, like Python's ints) once per CPU, Monte Carlo pi with
 * one sampling task per CPU, and image preprocessing (decode, random flip,
 * random crop 224, normalise to Float32Array) of synthetic in-memory images.
 * Seed figures (Ray, 8 CPUs): fib 17.2 s serial / 23.8 s distributed, pi
 * 84.2 s / 31.0 s, images 12.2 s / 10.1 s.
 */
import * as ray from "../../src/index.js";
import { startRayts } from "../lib/peers.js";
import { barPanels, newResult, type SuiteResult } from "../lib/report.js";
import { formatNumber, summarize } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { augmentImage, encodeImage, fibonacci, piSamples } from "../workers/kernels.mjs";

const suite: Suite = async (budget, progress) => {
  const fibSize = budget.quick ? 30_000 : 100_000;
  const piSamplesPerTask = budget.quick ? 1_000_000 : 10_000_000;
  const images = budget.quick ? 6 : 16;
  const [width, height] = budget.quick ? [1000, 750] : [2000, 1500];
  const reps = budget.quick ? 2 : 5;
  const result = newResult("workloads", "Seed 003 workloads: serial vs rayts", budget.quick, {
    threads: THREADS,
    tasksPerWorkload: `fib and pi: one per CPU (${THREADS}); images: one per image`,
    fibonacciSequenceSize: fibSize,
    piSamplesPerTask,
    images: `${images} x ${width}x${height} RGB, run-length encoded in memory`,
    repetitions: reps,
  });
  await startRayts(THREADS);
  const fibTask = ray.remote(fibonacci);
  const piTask = ray.remote(piSamples);
  const imageTask = ray.remote(augmentImage);

  progress.step("generating images");
  const encoded = Array.from({ length: images }, (_, i) => encodeImage(width, height, i + 1));
  const encodedRefs = encoded.map((bytes) => ray.put(bytes));
  const checkImages = (out: Float32Array[]): void => {
    if (out.length !== images || out.some((t) => t.length !== 3 * 224 * 224)) throw new Error("image pipeline returned wrong tensors");
  };

  const workloads: [string, [string, () => Promise<unknown>][]][] = [
    [
      `fibonacci(${fibSize.toLocaleString("en-US")}) x ${THREADS}`,
      [
        ["serial", async () => Array.from({ length: THREADS }, () => fibonacci(fibSize))],
        ["rayts", () => ray.get(Array.from({ length: THREADS }, () => fibTask.remote(fibSize)))],
      ],
    ],
    [
      `Monte Carlo pi, ${THREADS} tasks x ${formatNumber(piSamplesPerTask)} samples`,
      [
        ["serial", async () => Array.from({ length: THREADS }, () => piSamples(piSamplesPerTask))],
        ["rayts", () => ray.get(Array.from({ length: THREADS }, () => piTask.remote(piSamplesPerTask)))],
      ],
    ],
    [
      `image preprocessing, ${images} images ${width}x${height}`,
      [
        ["serial", async () => checkImages(encoded.map((bytes, i) => augmentImage(bytes, i + 1)))],
        ["rayts (images by value)", async () => checkImages(await ray.get(encoded.map((bytes, i) => imageTask.remote(bytes, i + 1))))],
        ["rayts (images put once)", async () => checkImages(await ray.get(encodedRefs.map((ref, i) => imageTask.remote(ref, i + 1))))],
      ],
    ],
  ];
  for (const [group, variants] of workloads) {
    const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    for (const [name, run] of variants) {
      progress.step(`${group}: ${name} warmup`);
      await run();
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, run] of variants) {
        progress.step(`${group}: ${name} ${rep + 1}/${reps}`);
        const start = performance.now();
        await run();
        times.get(name)!.push(performance.now() - start);
      }
    }
    const serial = times.get("serial")!;
    for (const [name, ms] of times) {
      const figure = summarize(ms);
      const speed = summarize(ms.map((t, i) => serial[i]! / t));
      result.rows.push({ group, runtime: name, unit: "ms", figure, better: "lower", ...(name === "serial" ? {} : { vs: `${speed.median.toFixed(2)}x speedup (${speed.min.toFixed(2)}..${speed.max.toFixed(2)})` }) });
    }
  }
  await ray.shutdown();
  evaluateTargets(result);
  result.notes.push("speedup = serial / rayts time of the same repetition");
  return { result, chart: { kind: "bars", title: `Seed 003 workloads: serial vs rayts, ${THREADS} workers (ms)`, panels: barPanels(result.rows) } };
};

function evaluateTargets(result: SuiteResult): void {
  for (const prefix of ["Monte Carlo pi", "image preprocessing"]) {
    const rows = result.rows.filter((r) => r.group.startsWith(prefix));
    const serial = rows.find((r) => r.runtime === "serial");
    const rayts = rows.find((r) => r.runtime === "rayts") ?? rows.find((r) => r.runtime === "rayts (images by value)");
    if (serial === undefined || rayts === undefined) continue;
    const speedup = serial.figure.median / rayts.figure.median;
    result.targets.push({ figure: `seed 003 ${prefix}, 2 workers (${rayts.runtime})`, target: "speedup >= 1.8x", measured: `${speedup.toFixed(2)}x`, met: speedup >= 1.8 });
  }
}

export default suite;
