/**
 * Ray's chaos workloads on a running cluster driver: chains of dependent
 * tasks (nested tasks are not yet supported in cluster mode), actor
 * calls that must never be lost (each call's value logged by a log actor on
 * the head node, which never dies), and tasks reading a borrowed 10 MB
 * object. `onResult` is told of every value that arrives, so a killer can
 * act on progress rather than on time. Shared by the chaos test and the
 * cluster-faults benchmark.
 */
import * as ray from "../../src/index.js";

export interface ChaosReport {
  /** Values that arrived (all of them when the workload resolves). */
  readonly results: number;
  readonly expected: number;
  /** Wrong values, duplicated or missing log entries, as text. */
  readonly problems: string[];
  readonly ms: number;
}

const triple = ray.remote((i: number) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  return i * 3;
});

const addOne = ray.remote((value: number) => value + 1);

const sumOf = ray.remote((data: Float64Array, i: number) => {
  let sum = 0;
  for (let k = 0; k < data.length; k += 4096) sum += data[k] as number;
  return sum + i;
});

class Worker {
  calls = 0;
  work(i: number): number {
    this.calls++;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    return i * 7;
  }
}

class Log {
  readonly seen: number[] = [];
  append(i: number): number {
    this.seen.push(i);
    return this.seen.length;
  }
  entries(): number[] {
    return this.seen;
  }
}

/** Runs the workloads of `size` units each; `headNodeId` hosts the log actor. */
export async function runChaosWorkload(size: number, headNodeId: string, onResult: () => void): Promise<ChaosReport> {
  const started = performance.now();
  const problems: string[] = [];
  let results = 0;
  const arrived = (): void => {
    results++;
    onResult();
  };
  const log = ray.remote(Log).options({ scheduling: { nodeId: headNodeId } }).remote();
  const workers = [0, 1, 2].map(() => ray.remote(Worker).options({ maxRestarts: 1000, maxTaskRetries: 1000, scheduling: "SPREAD" }).remote());
  const data = new Float64Array(10 * 1024 * 1024 / 8).fill(1);
  const big = ray.put(data);
  let expectedBigSum = 0;
  for (let k = 0; k < data.length; k += 4096) expectedBigSum += 1;

  const chains = Array.from({ length: size }, (_, i) =>
    ray.get(addOne.options({ maxRetries: 1000 }).remote(triple.options({ maxRetries: 1000 }).remote(i))).then((value) => {
      if (value !== i * 3 + 1) problems.push(`chain ${i}: ${value}`);
      arrived();
    }),
  );
  const calls = Array.from({ length: size }, (_, i) =>
    ray.get((workers[i % 3] as ray.ActorHandle<Worker>).work.remote(i)).then(async (value) => {
      if (value !== i * 7) problems.push(`call ${i}: ${value}`);
      await ray.get(log.append.remote(i));
      arrived();
    }),
  );
  const borrowed = Array.from({ length: Math.max(1, Math.floor(size / 4)) }, (_, i) =>
    ray.get(sumOf.options({ maxRetries: 1000 }).remote(big, i)).then((value) => {
      if (value !== expectedBigSum + i) problems.push(`borrowed ${i}: ${value}`);
      arrived();
    }),
  );
  await Promise.all([...chains, ...calls, ...borrowed]);
  const entries = await ray.get(log.entries.remote());
  const sorted = [...entries].sort((a, b) => a - b);
  if (sorted.length !== size || sorted.some((value, index) => value !== index)) {
    problems.push(`call log has ${entries.length} entries for ${size} calls (lost or duplicated)`);
  }
  for (const worker of workers) ray.kill(worker);
  ray.kill(log);
  return { results, expected: chains.length + calls.length + borrowed.length, problems, ms: performance.now() - started };
}
