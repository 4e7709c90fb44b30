/**
 * The object store's own bookkeeping, where its callbacks re-enter it: a
 * waiter woken by a settle may let go of the object it waited for.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectStore } from "../../src/core/store/object-store.js";
import type { Encoded } from "../../src/core/protocol/protocol.js";

const value: Encoded = "a value";

test("a waiter that drops the last reference while the object settles frees it once", () => {
  const dropped: Encoded[] = [];
  const store = new ObjectStore(1 << 20, (encoded) => dropped.push(encoded));
  store.expect(1, 1);
  let woken = 0;
  store.onSettled(1, () => {
    woken++;
    store.addRef(1, -1);
  });
  store.settle(1, { ok: true, value });
  assert.equal(woken, 1);
  assert.deepEqual(dropped, [value]);
  const stats = store.stats();
  assert.equal(stats.numObjects, 0);
  assert.equal(stats.freedCount, 1);
  assert.equal(stats.bytesUsed, 0);
});

test("an object settled with no reference left is freed at once, its bytes given back", () => {
  const dropped: Encoded[] = [];
  const store = new ObjectStore(1 << 20, (encoded) => dropped.push(encoded));
  store.expect(2, 1);
  store.addRef(2, -1); // pending objects stay until they settle
  assert.equal(store.stats().numObjects, 1);
  store.settle(2, { ok: true, value });
  assert.deepEqual(dropped, [value]);
  assert.deepEqual([store.stats().numObjects, store.stats().bytesUsed, store.stats().freedCount], [0, 0, 1]);
});
