/**
 * The peers a user would pick instead of rayts, set up the same way: a fixed
 * number of worker threads, all started and warmed before timing.
 */
import { Piscina } from "piscina";
import workerpool from "workerpool";
import * as ray from "../../src/index.js";
import { spin } from "../workers/kernels.mjs";

const workers = new URL("../workers/", import.meta.url);

export type WorkerPool = ReturnType<typeof workerpool.pool>;

export async function startWorkerpool(threads: number): Promise<WorkerPool> {
  const pool = workerpool.pool(new URL("workerpool-worker.mjs", workers).pathname, {
    minWorkers: threads,
    maxWorkers: threads,
    workerType: "thread",
  });
  await Promise.all(Array.from({ length: threads * 4 }, () => pool.exec("spin", [20_000])));
  return pool;
}

export async function startPiscina(threads: number): Promise<Piscina> {
  const pool = new Piscina({
    filename: new URL("piscina-worker.mjs", workers).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  await Promise.all(Array.from({ length: threads * 4 }, () => pool.run(20_000, { name: "spin" })));
  return pool;
}

/** Starts rayts with `threads` task workers and waits until they are up and have run a task each. */
export async function startRayts(threads: number): Promise<void> {
  await ray.init({ numCpus: threads });
  const warm = ray.remote(spin);
  await ray.get(Array.from({ length: threads * 4 }, () => warm.remote(20_000)));
}

/** Iterations of `spin` per microsecond on this thread, measured over ~200 ms. */
export function calibrateSpin(): number {
  spin(2_000_000); // let V8 optimise the loop first
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const n = 4_000_000;
    const start = performance.now();
    spin(n);
    const us = (performance.now() - start) * 1000;
    best = Math.max(best, n / us);
  }
  return best;
}

/** Oversubscription warning for the table when more busy threads than cores. */
export function oversubscribed(busyThreads: number, cores: number): string | undefined {
  return busyThreads > cores ? `${busyThreads} busy threads on ${cores} cores: oversubscribed` : undefined;
}
