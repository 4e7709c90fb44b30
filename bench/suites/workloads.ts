/**
 * Seed 003's three workloads, serial vs rayts on 2 workers, with raw
 * workerpool and piscina beside them: a fibonacci sequence (BigInt, like
 * Python's ints) once per CPU, Monte Carlo pi with one sampling task per
 * CPU, and image preprocessing (load, decode, random flip, random crop 224,
 * normalise to Float32Array). As in the seed, the images are files and each
 * task gets a path; rayts is also timed with the images passed by value and
 * put once, to show what moving the pixels costs. The pools run the same
 * kernels on the same number of threads, so their figures show what this
 * machine allows two threads of one process; two child processes running
 * the same kernels (sharing no heap, allocator or address space) show what
 * its two cores allow at all.
 * Seed figures (Ray, 8 CPUs): fib 17.2 s serial / 23.8 s distributed, pi
 * 84.2 s / 31.0 s, images 12.2 s / 10.1 s.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ray from "../../src/index.js";
import { startPiscina, startRayts, startWorkerpool } from "../lib/peers.js";
import { ProcessPool } from "../lib/processes.js";
import { settleHeap } from "../lib/heap.js";
import { barPanels, newResult, type SuiteResult } from "../lib/report.js";
import { formatNumber, summarize } from "../lib/stats.js";
import { THREADS, type Suite } from "../lib/suite.js";
import { augmentImage, encodeImage, fibonacci, piSamples } from "../workers/kernels.mjs";

const suite: Suite = async (budget, progress) => {
  const fibSize = budget.quick ? 30_000 : 100_000;
  const piSamplesPerTask = budget.quick ? 1_000_000 : 10_000_000;
  const images = budget.quick ? 6 : 16;
  const [width, height] = budget.quick ? [1000, 750] : [2000, 1500];
  const reps = budget.quick ? 2 : 7;
  const result = newResult("workloads", "Seed 003 workloads: serial vs rayts, workerpool and piscina", budget.quick, {
    threads: THREADS,
    tasksPerWorkload: `fib and pi: one per CPU (${THREADS}); images: one per image`,
    fibonacciSequenceSize: fibSize,
    piSamplesPerTask,
    images: `${images} x ${width}x${height} RGB, run-length encoded, one file each in a temporary folder`,
    repetitions: reps,
  });
  const pool = await startWorkerpool(THREADS);
  const piscina = await startPiscina(THREADS);
  const processes = new ProcessPool(THREADS);
  await processes.runEach("spin", [20_000]);
  await startRayts(THREADS);
  const fibTask = ray.remote(fibonacci);
  const piTask = ray.remote(piSamples);
  const imageTask = ray.remote(augmentImage);

  progress.step("writing image files");
  const folder = path.join(tmpdir(), `rayts-bench-images-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  const encoded = Array.from({ length: images }, (_, i) => encodeImage(width, height, i + 1));
  const files = encoded.map((bytes, i) => {
    const file = path.join(folder, `${i}.rpm`);
    writeFileSync(file, bytes);
    return file;
  });
  const encodedRefs = encoded.map((bytes) => ray.put(bytes));
  const checkImages = (out: Float32Array[]): void => {
    if (out.length !== images || out.some((t) => t.length !== 3 * 224 * 224)) throw new Error("image pipeline returned wrong tensors");
  };
  const perCpu = <T>(fn: () => T): T[] => Array.from({ length: THREADS }, fn);

  const workloads: [string, [string, () => Promise<unknown>][]][] = [
    [
      `fibonacci(${fibSize.toLocaleString("en-US")}) x ${THREADS}`,
      [
        ["serial", async () => perCpu(() => fibonacci(fibSize))],
        ["rayts", () => ray.get(perCpu(() => fibTask.remote(fibSize)))],
        ["workerpool", () => Promise.all(perCpu(() => pool.exec("fibonacci", [fibSize])))],
        ["piscina", () => Promise.all(perCpu(() => piscina.run(fibSize, { name: "fibonacci" })))],
        [`${THREADS} processes`, () => processes.runEach("fibonacci", [fibSize])],
      ],
    ],
    [
      `Monte Carlo pi, ${THREADS} tasks x ${formatNumber(piSamplesPerTask)} samples`,
      [
        ["serial", async () => perCpu(() => piSamples(piSamplesPerTask))],
        ["rayts", () => ray.get(perCpu(() => piTask.remote(piSamplesPerTask)))],
        ["workerpool", () => Promise.all(perCpu(() => pool.exec("piSamples", [piSamplesPerTask])))],
        ["piscina", () => Promise.all(perCpu(() => piscina.run(piSamplesPerTask, { name: "piSamples" })))],
        [`${THREADS} processes`, () => processes.runEach("piSamples", [piSamplesPerTask])],
      ],
    ],
    [
      `image preprocessing, ${images} images ${width}x${height}`,
      [
        ["serial", async () => checkImages(files.map((file, i) => augmentImage(file, i + 1)))],
        ["rayts", async () => checkImages(await ray.get(files.map((file, i) => imageTask.remote(file, i + 1))))],
        ["workerpool", async () => checkImages(await Promise.all(files.map((file, i) => pool.exec("augmentImage", [file, i + 1]) as Promise<Float32Array>)))],
        ["piscina", async () => checkImages(await Promise.all(files.map((file, i) => piscina.run({ image: file, seed: i + 1 }, { name: "augmentImageTask" }) as Promise<Float32Array>)))],
        ["rayts (images by value)", async () => checkImages(await ray.get(encoded.map((bytes, i) => imageTask.remote(bytes, i + 1))))],
        ["rayts (images put once)", async () => checkImages(await ray.get(encodedRefs.map((ref, i) => imageTask.remote(ref, i + 1))))],
        ["workerpool (images by value)", async () => checkImages(await Promise.all(encoded.map((bytes, i) => pool.exec("augmentImage", [bytes, i + 1]) as Promise<Float32Array>)))],
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
      // Each repetition starts one runtime later, so no runtime always runs
      // right after the same one (serial's garbage, a pool's idle threads).
      const order = [...variants.slice(rep % variants.length), ...variants.slice(0, rep % variants.length)];
      for (const [name, run] of order) {
        progress.step(`${group}: ${name} ${rep + 1}/${reps}`);
        await settleHeap();
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
  await pool.terminate();
  await piscina.destroy();
  processes.close();
  rmSync(folder, { recursive: true, force: true });
  evaluateTargets(result);
  result.notes.push("speedup = serial time / the runtime's time, of the same repetition; the order of the runtimes rotates each repetition and the heap is collected before each timing");
  result.notes.push("workerpool and piscina run the same kernels on the same threads count: their speedups are what this machine gives two threads of one process");
  result.notes.push(`"${THREADS} processes": the kernel run once in each of ${THREADS} child processes at the same time (the serial row runs it ${THREADS} times in one thread): what the cores give with nothing shared`);
  return { result, chart: { kind: "bars", title: `Seed 003 workloads: serial vs rayts, ${THREADS} workers (ms)`, panels: barPanels(result.rows) } };
};

function evaluateTargets(result: SuiteResult): void {
  for (const prefix of ["Monte Carlo pi", "image preprocessing"]) {
    const rows = result.rows.filter((r) => r.group.startsWith(prefix));
    const serial = rows.find((r) => r.runtime === "serial");
    const rayts = rows.find((r) => r.runtime === "rayts");
    if (serial === undefined || rayts === undefined) continue;
    const speedup = serial.figure.median / rayts.figure.median;
    const peers = rows
      .filter((r) => r.runtime === "workerpool" || r.runtime === "piscina" || r.runtime.endsWith("processes"))
      .map((r) => `${r.runtime} ${(serial.figure.median / r.figure.median).toFixed(2)}x`)
      .join(", ");
    result.targets.push({
      figure: `seed 003 ${prefix}, 2 workers (rayts; same run: ${peers})`,
      target: "speedup >= 1.8x",
      measured: `${speedup.toFixed(2)}x`,
      met: speedup >= 1.8,
    });
  }
}

export default suite;
