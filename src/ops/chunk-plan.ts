/**
 * The `chunkSize: "auto"` rule of `aggListDistributed`: a cost model fed with
 * measured figures, pure so that it can be tested and explained on its own.
 *
 * With n items left, a combine cost c, a per-item transfer cost x (driver
 * side: serialising the chunk; 0 for typed arrays in shared memory), a task
 * overhead o (one empty task's round trip) and W free CPU slots:
 *
 *   local       L = n c
 *   distributed D = n x + o + r o + n c / W + (W r + 1) c
 *
 * where r is the number of chunks per worker (the partials are folded
 * locally, W r + 1 combines). D grows with r, so one chunk per worker is best
 * when workers run at equal speed; r > 1 only buys load balancing, and is
 * used (up to 4) when every chunk still runs for at least 50 task overheads.
 * Distribution is chosen when D times a safety margin of 1.25 is below L;
 * otherwise the fold stays local, so a cheap combine never pays for tasks.
 */

/** Figures the rule is computed from, all times in milliseconds. */
export interface CostFigures {
  /** Items not folded yet. */
  readonly items: number;
  /** Measured cost of one combine. */
  readonly combineMs: number;
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

/** Estimated wall time of the distributed fold with `r` chunks per worker. */
export function distributedMs(f: CostFigures, chunksPerWorker: number): number {
  const { items: n, combineMs: c, transferMsPerItem: x, taskOverheadMs: o, workers: w } = f;
  return n * x + o + chunksPerWorker * o + (n * c) / w + (w * chunksPerWorker + 1) * c;
}

/**
 * A lower bound of the distributed time that needs no task overhead: when
 * even this loses to the local fold there is no point measuring the overhead.
 */
export function distributedLowerBoundMs(f: Omit<CostFigures, "taskOverheadMs">): number {
  return f.items * f.transferMsPerItem + (f.items * f.combineMs) / f.workers;
}

/** Applies the rule. */
export function planChunks(f: CostFigures): ChunkPlan {
  const localMs = f.items * f.combineMs;
  const w = Math.max(1, Math.floor(f.workers));
  const figures = { ...f, workers: w };
  const perWorkerMs = localMs / w;
  const overhead = Math.max(f.taskOverheadMs, 1e-6);
  const r = Math.max(1, Math.min(MAX_CHUNKS_PER_WORKER, Math.floor(perWorkerMs / (MIN_CHUNK_OVERHEADS * overhead))));
  const estimate = distributedMs(figures, r);
  if (w < 2 || estimate * SAFETY_MARGIN >= localMs) return { kind: "local", localMs, distributedMs: estimate };
  const chunks = Math.min(f.items, w * r);
  const chunkSize = Math.ceil(f.items / chunks);
  return { kind: "distribute", chunkSize, chunks: Math.ceil(f.items / chunkSize), localMs, distributedMs: estimate };
}
