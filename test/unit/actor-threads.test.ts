/**
 * Placement of actors on threads, without threads: shared threads up to a
 * limit (a new one while every open one is busy), the least loaded one past
 * it, a thread of its own for a dedicated actor, and a bounded number of
 * slots that a dead thread gives back.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorThread, ActorThreads } from "../../src/core/actors/actor-threads.js";
import { FakeLink } from "../support/fake-peers.js";

function setup(sharedLimit: number, firstSlot = 4, slots = 8) {
  const started: number[] = [];
  const threads = new ActorThreads((slot, make) => {
    started.push(slot);
    return make(new FakeLink(slot));
  }, sharedLimit, firstSlot, slots);
  return { threads, started };
}

test("shared threads open while every open one hosts an actor, up to the limit; then the least loaded takes the next", () => {
  const { threads, started } = setup(2);
  const a = threads.place(1, false);
  const b = threads.place(2, false);
  assert.notEqual(a, b);
  assert.deepEqual(started, [4, 5]);
  const c = threads.place(3, false);
  const d = threads.place(4, false);
  assert.equal(started.length, 2, "at the limit");
  assert.deepEqual([a.actors.size, b.actors.size], [2, 2]);
  assert.notEqual(c, d, "spread over the least loaded");
  threads.leave(a, 1);
  threads.leave(a, 3);
  assert.equal(threads.place(5, false), a, "the emptiest thread");
  assert.equal(a.link.dead, false, "leaving a shared thread does not stop it");
});

test("an empty shared thread is reused before another is opened", () => {
  const { threads, started } = setup(3);
  const a = threads.place(1, false);
  threads.leave(a, 1);
  assert.equal(threads.place(2, false), a);
  assert.deepEqual(started, [4]);
});

test("a dedicated actor gets a thread of its own, which no shared actor joins and which stops when it leaves", () => {
  const { threads, started } = setup(1);
  const own = threads.place(1, true);
  assert.equal(own.dedicated, true);
  const shared = threads.place(2, false);
  assert.notEqual(shared, own);
  assert.equal(threads.place(3, false), shared);
  assert.deepEqual(started, [4, 5]);
  threads.leave(own, 1);
  assert.ok(own.link instanceof FakeLink);
  assert.equal(own.link.terminated, 1);
  assert.equal(own.actors.size, 0);
});

test("threads are bounded by their slots; an ended thread's slot is taken again", () => {
  const { threads, started } = setup(1, 10, 2);
  const shared = threads.place(1, false);
  const own = threads.place(2, true);
  assert.throws(() => threads.place(3, true), (error: unknown) => error instanceof RangeError && /at most 2 \(shared and dedicated\)/.test(error.message));
  threads.ended(own);
  const again = threads.place(3, true);
  assert.equal(again.link.index, own.link.index);
  assert.deepEqual(started, [10, 11, 11]);
  // A dead shared thread takes no more actors.
  threads.ended(shared);
  threads.ended(again);
  const next = threads.place(4, false);
  assert.notEqual(next, shared);
  assert.ok(next instanceof ActorThread);
});

test("a shared limit below one still allows one shared thread", () => {
  const { threads, started } = setup(0);
  const a = threads.place(1, false);
  assert.equal(threads.place(2, false), a);
  assert.deepEqual(started, [4]);
});
