/**
 * The `chunkSize: "auto"` rule of `aggListDistributed`: a cost model fed with
 * measured figures, pure so that it can be tested and explained on its own.
 *
 * With n items left, a combine cost c + a s (c fixed, a per item of the
 * combined result, of size s items: a = 0 for numbers, a > 0 for merges of
 * lists), a per-item transfer cost x (driver side: serialising the chunk; 0
 * for typed arrays in shared memory), a task overhead o (one empty task's
 * round trip) and W free CPU slots, a tree fold of m items costs
 * F(m) = (m - 1) c + a m log2 m, and:
 *
 *   local       L = F(n)
 *   distributed D = n x + o + r o + n c / W + (W r + 1) c
 *                   + a (n / W) log2(n / (W r)) + a n log2(W r) + [a > 0] n x
 *
 * where r is the number of chunks per worker (the partials are folded
 * locally, W r + 1 combines: with growth, those top levels of the tree merge
 * the largest operands, all on the driver, and the partials come back as big
 * as what was sent). D grows with r, so one chunk per worker is best
 * when workers run at equal speed; r > 1 only buys load balancing, and is
 * used (up to 4) when every chunk still runs for at least 50 task overheads.
 * Distribution is chosen when D times a safety margin of 1.25 is below L;
 * otherwise the fold stays local, so a cheap combine never pays for tasks.
 */

/** Figures the rule is computed from, all times in milliseconds. */
export interface CostFigures {
  /** Items not folded yet. */
  readonly items: number;
  /** Measured cost of one combine (its fixed part when it grows with operand size). */
  readonly combineMs: number;
  /** Measured growth of a combine's cost per item of its result (0 when constant). */
  readonly growthMsPerItem?: number;
  /** Measured cost of sending one item to a worker (0 for shared memory). */
  readonly transferMsPerItem: number;
  /** Measured round trip of an empty task. */
  readonly taskOverheadMs: number;
  /** CPU slots free for the chunk tasks. */
  readonly workers: number;
}

/** What the rule decided. */
export type ChunkPlan =
  | { readonly kind: "local"; readonly localMs: number; readonly distributedMs: number }
  | {
      readonly kind: "distribute";
      readonly chunkSize: number;
      readonly chunks: number;
      readonly localMs: number;
      readonly distributedMs: number;
    };

/** Distribution must beat the local estimate by this factor. */
export const SAFETY_MARGIN = 1.25;
/** Most chunks per worker, for load balancing. */
export const MAX_CHUNKS_PER_WORKER = 4;
/** A chunk should run for at least this many task overheads. */
export const MIN_CHUNK_OVERHEADS = 50;

const log2 = (x: number): number => (x > 1 ? Math.log2(x) : 0);

/** Estimated time of folding `n` items locally: `(n - 1) c + a n log2 n`. */
export function localMs(f: Pick<CostFigures, "items" | "combineMs" | "growthMsPerItem">): number {
  const a = f.growthMsPerItem ?? 0;
  return f.items * f.combineMs + a * f.items * log2(f.items);
}

/** The growth terms of the distributed estimate: merging inside the chunks, on the driver, and bringing results back. */
function growthMs(f: Omit<CostFigures, "taskOverheadMs">, chunksPerWorker: number): number {
  const a = f.growthMsPerItem ?? 0;
  if (a <= 0) return 0;
  const { items: n, workers: w } = f;
  const chunks = w * chunksPerWorker;
  return a * (n / w) * log2(n / chunks) + a * n * log2(chunks) + n * f.transferMsPerItem;
}

/** Estimated wall time of the distributed fold with `r` chunks per worker. */
export function distributedMs(f: CostFigures, chunksPerWorker: number): number {
  const { items: n, combineMs: c, transferMsPerItem: x, taskOverheadMs: o, workers: w } = f;
  return n * x + o + chunksPerWorker * o + (n * c) / w + (w * chunksPerWorker + 1) * c + growthMs(f, chunksPerWorker);
}

/**
 * A lower bound of the distributed time that needs no task overhead: when
 * even this loses to the local fold there is no point measuring the overhead.
 */
export function distributedLowerBoundMs(f: Omit<CostFigures, "taskOverheadMs">): number {
  return f.items * f.transferMsPerItem + (f.items * f.combineMs) / f.workers + growthMs(f, 1);
}

/** Applies the rule. */
export function planChunks(f: CostFigures): ChunkPlan {
  const local = localMs(f);
  const w = Math.max(1, Math.floor(f.workers));
  const figures = { ...f, workers: w };
  const perWorkerMs = local / w;
  const overhead = Math.max(f.taskOverheadMs, 1e-6);
  // With growth, every extra chunk adds a merge of large operands on the driver: one chunk per worker.
  const r =
    (f.growthMsPerItem ?? 0) > 0
      ? 1
      : Math.max(1, Math.min(MAX_CHUNKS_PER_WORKER, Math.floor(perWorkerMs / (MIN_CHUNK_OVERHEADS * overhead))));
  const estimate = distributedMs(figures, r);
  if (w < 2 || estimate * SAFETY_MARGIN >= local) return { kind: "local", localMs: local, distributedMs: estimate };
  const chunks = Math.min(f.items, w * r);
  const chunkSize = Math.ceil(f.items / chunks);
  return { kind: "distribute", chunkSize, chunks: Math.ceil(f.items / chunkSize), localMs: local, distributedMs: estimate };
}
