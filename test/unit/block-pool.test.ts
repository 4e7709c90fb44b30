/**
 * Which freed blocks are kept for reuse, and by whom: the store keeps the
 * block of a `put` value that nothing had from it; a worker's codec keeps a
 * block it made and never decoded, when told to recycle it, and copies the
 * next value of that size into it. The pool is bounded and keeps only
 * sizes with pages of their own.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Codec } from "../../src/core/codec/codec.js";
import type { Encoded } from "../../src/core/protocol/protocol.js";
import { BlockPool } from "../../src/core/store/block-pool.js";
import { ObjectStore } from "../../src/core/store/object-store.js";

const KB = 1024;

function counter(): () => number {
  let next = 0;
  return () => ++next;
}

/** A stored value in a fresh 64 KB block, as the driver's codec makes for `put`. */
function putValue(store: ObjectStore, id: number): SharedArrayBuffer {
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  const { value, block } = codec.encodeStored(new Uint8Array(64 * KB).fill(id), "v", store.blocks);
  assert.ok(block !== undefined);
  store.put(id, value, 1, block);
  return block;
}

test("the block of a put value freed unread goes back to the store's pool, and the next put of its size copies into it", () => {
  const store = new ObjectStore(1 << 30, () => undefined);
  const block = putValue(store, 1);
  store.addRef(1, -1);
  assert.equal(store.blocks.stats().blocks, 1);
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  const again = codec.encodeStored(new Uint8Array(64 * KB).fill(9), "v", store.blocks);
  assert.equal(again.block, block);
  assert.equal(new Uint8Array(block)[100], 9);
  assert.deepEqual(store.blocks.stats(), { reused: 1, blocks: 0, bytes: 0 });
  store.close();
});

test("a put value read, waited on or filled for a waiter before it was freed keeps its block out of the pool", () => {
  const store = new ObjectStore(1 << 30, () => undefined);
  putValue(store, 1);
  assert.ok(store.peek(1) !== undefined);
  store.addRef(1, -1);
  putValue(store, 2);
  assert.ok(store.read(2) !== undefined);
  store.addRef(2, -1);
  putValue(store, 3);
  store.onSettled(3, () => undefined);
  store.addRef(3, -1);
  // Pending, with a waiter, then filled: the waiter had the value.
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  store.expect(4, 1);
  store.onSettled(4, () => undefined);
  const late = codec.encodeStored(new Uint8Array(64 * KB), "v", store.blocks);
  store.fill(4, late.value, late.block);
  store.addRef(4, -1);
  assert.equal(store.blocks.stats().blocks, 0);
  // Checking readiness is not a read.
  putValue(store, 5);
  let settled = -1;
  store.whenSettled([5], 1, undefined, (count) => (settled = count), false);
  assert.equal(settled, 1);
  store.addRef(5, -1);
  assert.equal(store.blocks.stats().blocks, 1);
  store.close();
  assert.equal(store.blocks.stats().blocks, 0);
});

test("the pool keeps only sizes with pages of their own, up to its bound", () => {
  const pool = new BlockPool(256 * KB);
  assert.equal(pool.give(new SharedArrayBuffer(4 * KB)), false);
  assert.equal(pool.give(new SharedArrayBuffer(32 * 1024 * KB)), false);
  assert.equal(pool.give(new SharedArrayBuffer(128 * KB)), true);
  assert.equal(pool.give(new SharedArrayBuffer(128 * KB)), true);
  assert.equal(pool.give(new SharedArrayBuffer(64 * KB)), false);
  assert.equal(pool.take(64 * KB), undefined);
  assert.ok(pool.take(128 * KB) !== undefined);
  assert.deepEqual(pool.stats(), { reused: 1, blocks: 1, bytes: 128 * KB });
  assert.equal(pool.clear(), 128 * KB);
});

test("a worker reuses a block it made only if it never decoded it, and copies its next value of that size into it", () => {
  const worker = new Codec(true, counter(), "aaaaaaaaaaaa");
  const made = worker.encode(new Uint8Array(64 * KB).fill(1), "result") as Extract<Encoded, { t: "ta" }>;
  const handed = worker.encode(new Uint8Array(64 * KB).fill(2), "result") as Extract<Encoded, { t: "ta" }>;
  // The second block reaches this worker's code as an argument.
  const view = worker.decode({ ...handed, b: undefined }, () => undefined) as Uint8Array;
  assert.equal(worker.recycleBlocks([made.k, handed.k]), 64 * KB);
  assert.equal(worker.cachedBlocks, 0);
  const next = worker.encode(new Uint8Array(64 * KB).fill(3), "result") as Extract<Encoded, { t: "ta" }>;
  assert.equal(next.b, made.b);
  const after = worker.encode(new Uint8Array(64 * KB).fill(4), "result") as Extract<Encoded, { t: "ta" }>;
  assert.notEqual(after.b, handed.b);
  assert.equal(view[0], 2);
  assert.equal(worker.spareBlocks?.stats().reused, 1);
});
