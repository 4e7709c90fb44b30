/**
 * Ray's chaos workloads on a running cluster driver: chains of dependent
 * tasks, trees of nested tasks (spread over the nodes by the nodes that
 * submit them), actor calls that must never be lost (each call's value
 * logged by a log actor on the head node, which never dies), tasks reading
 * a borrowed 10 MB object, and streaming generators whose items must
 * arrive each exactly once, in order. `onResult` is told of every value that arrives, so a killer can
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

/** Sums lo..hi-1 as a binary tree of nested tasks with 2 ms leaves. */
const nestedSum = ray.remote(async function nestedSum(lo: number, hi: number): Promise<number> {
  if (hi - lo === 1) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    return lo;
  }
  const self = ray.remote(nestedSum);
  const mid = (lo + hi) >> 1;
  const [left, right] = await ray.get([self.remote(lo, mid), self.remote(mid, hi)]);
  return left + right;
});

/** Yields base, base+1, ... base+count-1, 3 ms apart. */
const stream = ray.remote(function* stream(base: number, count: number) {
  for (let i = 0; i < count; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
    yield base + i;
  }
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
  const LEAVES = 8;
  const trees = Array.from({ length: Math.max(1, Math.floor(size / 8)) }, (_, i) =>
    ray.get(nestedSum.options({ maxRetries: 1000 }).remote(i * LEAVES, (i + 1) * LEAVES)).then((value) => {
      const expected = (LEAVES * (2 * i * LEAVES + LEAVES - 1)) / 2;
      if (value !== expected) problems.push(`tree ${i}: ${value}, expected ${expected}`);
      arrived();
    }),
  );
  const ITEMS = 6;
  const streams = Array.from({ length: Math.max(1, Math.floor(size / 12)) }, async (_, i) => {
    const options = i % 2 === 0 ? { maxRetries: 1000, scheduling: "SPREAD" as const } : { maxRetries: 1000, scheduling: "SPREAD" as const, generatorBackpressureNumObjects: 2 };
    const items: number[] = [];
    for await (const ref of stream.options(options).remote(i * 100, ITEMS)) items.push(await ray.get(ref));
    const expected = Array.from({ length: ITEMS }, (_, k) => i * 100 + k);
    if (items.join() !== expected.join()) problems.push(`stream ${i}: ${items.join()}`);
    arrived();
  });
  await Promise.all([...chains, ...calls, ...borrowed, ...trees, ...streams]);
  const entries = await ray.get(log.entries.remote());
  const sorted = [...entries].sort((a, b) => a - b);
  if (sorted.length !== size || sorted.some((value, index) => value !== index)) {
    problems.push(`call log has ${entries.length} entries for ${size} calls (lost or duplicated)`);
  }
  for (const worker of workers) ray.kill(worker);
  ray.kill(log);
  return { results, expected: chains.length + calls.length + borrowed.length + trees.length + streams.length, problems, ms: performance.now() - started };
}
