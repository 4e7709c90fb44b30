/**
 * The codec of one thread and runtime: what it remembers (block ids, a
 * worker's block cache, by-value argument buffers) belongs to that codec
 * instance alone, and refs of another runtime are refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Codec } from "../../src/core/codec/codec.js";
import { formatId, REF_OWNER } from "../../src/core/api/ids.js";
import { HANDLE_KEY, type Encoded } from "../../src/core/protocol/protocol.js";

function counter(): () => number {
  let next = 0;
  return () => ++next;
}

const noHandles = (): never => assert.fail("no handles expected");

test("a shared buffer keeps its block id within a codec; a new codec (a new runtime) numbers afresh", () => {
  const first = new Codec(false, counter(), "aaaaaaaaaaaa");
  const shared = new Float64Array(new SharedArrayBuffer(32));
  const a = first.encode(shared, "value") as { k: number };
  const b = first.encode(shared.subarray(1), "value") as { k: number };
  assert.equal(a.k, b.k, "one block for one buffer");
  const second = new Codec(false, counter(), "bbbbbbbbbbbb");
  const c = second.encode(new Float64Array(new SharedArrayBuffer(8)), "value") as { k: number };
  const d = second.encode(shared, "value") as { k: number };
  assert.equal(c.k, 1);
  assert.equal(d.k, 2, "the new codec does not know the old codec's blocks");
});

test("a worker codec caches received blocks, decodes later messages by id, and forgets evicted blocks", () => {
  const driver = new Codec(false, counter(), "aaaaaaaaaaaa");
  const worker = new Codec(true, counter(), "aaaaaaaaaaaa");
  const encoded = driver.encode(Float64Array.from([1, 2, 3]), "value") as Extract<Encoded, { t: "ta" }>;
  assert.deepEqual([...(worker.decode(encoded, noHandles) as Float64Array)], [1, 2, 3]);
  assert.equal(worker.cachedBlocks, 1);
  const byId = { ...encoded, b: undefined };
  assert.deepEqual([...(worker.decode(byId, noHandles) as Float64Array)], [1, 2, 3]);
  assert.equal(worker.evictBlocks([encoded.k]), 24);
  assert.equal(worker.cachedBlocks, 0);
  assert.throws(() => worker.decode(byId, noHandles), /not cached/);
  assert.throws(() => new Codec(true, counter(), "aaaaaaaaaaaa").decode(byId, noHandles), /not cached/, "another worker codec shares nothing");
});

test("a released by-value argument buffer is reused by the same codec only", () => {
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  const big = new Float64Array(16 * 1024);
  const first = codec.encodeArg(big, "argument") as Extract<Encoded, { t: "tc" }>;
  codec.releaseArg(first);
  const second = codec.encodeArg(big, "argument") as Extract<Encoded, { t: "tc" }>;
  assert.equal(second.v.buffer, first.v.buffer);
  const other = new Codec(false, counter(), "aaaaaaaaaaaa").encodeArg(big, "argument") as Extract<Encoded, { t: "tc" }>;
  assert.notEqual(other.v.buffer, first.v.buffer);
});

test("a ref nested in a value is collected by number; a ref of another runtime is refused", () => {
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  const mine = { [HANDLE_KEY]: "ref", num: 7, [REF_OWNER]: "aaaaaaaaaaaa" };
  assert.deepEqual(codec.collectRefIds({ deep: [mine] }, []), [7]);
  const stale = { [HANDLE_KEY]: "ref", num: 7, [REF_OWNER]: "bbbbbbbbbbbb" };
  assert.throws(() => codec.encode({ deep: [stale] }, "value"), new RegExp(`ObjectRef\\(${formatId("bbbbbbbbbbbb", 7)}\\) was made by a runtime that was shut down`));
});

test("the actor-export hook belongs to its codec", () => {
  const heard: number[] = [];
  const codec = new Codec(false, counter(), "aaaaaaaaaaaa");
  codec.onActorExport = (actor) => heard.push(actor);
  const handle = { [HANDLE_KEY]: "actor", __rayts$actor: { id: 5, name: "A", methods: [] } };
  codec.encode({ handle }, "value");
  new Codec(false, counter(), "aaaaaaaaaaaa").encode({ handle }, "value");
  assert.deepEqual(heard, [5]);
});
