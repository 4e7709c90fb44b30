/**
 * The `chunkSize: "auto"` rule as a pure function of measured figures.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { planChunks } from "../src/ops/index.js";
import { distributedMs, localMs, MAX_CHUNKS_PER_WORKER } from "../src/ops/chunk-plan.js";

const base = { items: 10_000, transferMsPerItem: 0, taskOverheadMs: 0.05, workers: 2 };

test("a cheap combine stays local", () => {
  const plan = planChunks({ ...base, items: 1000, combineMs: 0.0002 });
  assert.equal(plan.kind, "local");
});

test("a combine cheaper than sending its item stays local", () => {
  const plan = planChunks({ ...base, combineMs: 0.001, transferMsPerItem: 0.002 });
  assert.equal(plan.kind, "local");
});

test("a costly combine is distributed in chunks that cover every item", () => {
  const plan = planChunks({ ...base, combineMs: 0.1 });
  assert.equal(plan.kind, "distribute");
  if (plan.kind !== "distribute") return;
  assert.ok(plan.chunkSize * plan.chunks >= base.items);
  assert.ok(plan.chunkSize * (plan.chunks - 1) < base.items);
  assert.ok(plan.chunks >= 2 && plan.chunks <= 2 * MAX_CHUNKS_PER_WORKER);
  assert.ok(plan.distributedMs < plan.localMs);
});

test("one worker never distributes", () => {
  assert.equal(planChunks({ ...base, combineMs: 1, workers: 1 }).kind, "local");
});

test("more chunks per worker only when each still outweighs the task overhead", () => {
  const small = planChunks({ ...base, items: 100, combineMs: 0.05 });
  const large = planChunks({ ...base, items: 100_000, combineMs: 0.05 });
  assert.equal(small.kind, "distribute");
  assert.equal(large.kind, "distribute");
  if (small.kind !== "distribute" || large.kind !== "distribute") return;
  assert.equal(small.chunks, 2);
  assert.equal(large.chunks, 2 * MAX_CHUNKS_PER_WORKER);
});

test("the estimate grows with chunks per worker, so one per worker is the model's best", () => {
  const figures = { ...base, combineMs: 0.1 };
  assert.ok(distributedMs(figures, 1) < distributedMs(figures, 2));
});

test("a high task overhead keeps short folds local", () => {
  assert.equal(planChunks({ ...base, items: 100, combineMs: 0.01, taskOverheadMs: 1 }).kind, "local");
});

test("a combine of constant cost: the growth terms vanish and it distributes as before", () => {
  const constant = { ...base, combineMs: 0.1 };
  assert.deepEqual(planChunks({ ...constant, growthMsPerItem: 0 }), planChunks(constant));
  assert.equal(localMs({ items: 1000, combineMs: 0.1 }), 100);
});

test("a merge whose cost grows with its operands: local cost F(n) = n c + a n log2 n", () => {
  assert.equal(localMs({ items: 1024, combineMs: 0.001, growthMsPerItem: 0.0001 }), 1024 * 0.001 + 0.0001 * 1024 * 10);
});

test("a size-growing merge that looks cheap per combine is distributed, one chunk per worker", () => {
  const growing = { ...base, items: 20_000, combineMs: 0.0001, growthMsPerItem: 0.0002 };
  // Timed only on small operands, the merge looks cheap: a constant model under-estimates it many times over.
  const constant = planChunks({ ...growing, growthMsPerItem: 0 });
  const plan = planChunks(growing);
  assert.ok(plan.localMs > 10 * constant.localMs, `${plan.localMs} vs ${constant.localMs}`);
  assert.equal(plan.kind, "distribute");
  if (plan.kind !== "distribute") return;
  assert.equal(plan.chunks, base.workers);
  assert.ok(plan.localMs > 50, `local estimate ${plan.localMs} ms counts the merges of large operands`);
});

test("a size-growing merge whose partials are costly to send back stays local", () => {
  const plan = planChunks({ ...base, items: 20_000, combineMs: 0.0001, growthMsPerItem: 0.0002, transferMsPerItem: 0.01 });
  assert.equal(plan.kind, "local");
  // Sending each item both ways and merging the halves on the driver: more than the local fold.
  assert.ok(plan.distributedMs > plan.localMs / 1.25);
});
