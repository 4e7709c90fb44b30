/**
 * Collections asked for by the store's entry count are paced by what the
 * last collection cost: one asked for right after another waits, then
 * comes due on its own.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryPressure } from "../../src/core/store/collector.js";
import { eventually } from "../support/shared.js";

test("a collection requested right after one ran waits for its pace, then comes due", async () => {
  const pressure = new MemoryPressure(1 << 20, "full", true);
  pressure.request();
  assert.equal(pressure.due, true, "the first request is due at once");
  // Something on the heap, so the collection takes measurable time.
  const garbage = Array.from({ length: 200_000 }, (_, i) => ({ i }));
  assert.equal(garbage.length, 200_000);
  pressure.collectDue();
  assert.equal(pressure.due, false);
  assert.equal(pressure.collections, 1);
  pressure.request();
  assert.equal(pressure.due, false, "a request right after a collection must wait");
  await eventually(() => pressure.due, "the paced request to come due");
  pressure.collectDue();
  assert.equal(pressure.collections, 2);
});

test("bytes past the threshold make a collection due at once, pace or not", () => {
  const pressure = new MemoryPressure(1024, "full", true);
  pressure.request();
  pressure.collectDue();
  pressure.add(2048);
  assert.equal(pressure.due, true);
  pressure.collectDue();
});
