/**
 * `init()`, work, `shutdown()`, `init()` with another CPU count in one
 * process is a fresh start: the second runtime's object numbers start where
 * the first one's did (under a new id prefix, so refs of the old runtime are
 * refused rather than read as new objects), operators measure again, functions defined before the first
 * runtime run on every worker of the second, and the store starts empty.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "../src/index.js";
import { sharedInts } from "./support/shared.js";

const square = ray.remote((x: number) => x * x);

/** Meets `count` calls at a barrier in flags[0], so each runs on its own worker; returns the worker's thread id. */
const meet = ray.remote(async (flags: Int32Array, count: number) => {
  Atomics.add(flags, 0, 1);
  Atomics.notify(flags, 0);
  const deadline = Date.now() + 60_000; // a guard against a hang, not a window
  for (let seen = Atomics.load(flags, 0); seen < count && Date.now() < deadline; seen = Atomics.load(flags, 0)) Atomics.wait(flags, 0, seen, 50);
  return (await import("node:worker_threads")).threadId;
});

interface Round {
  firstRef: ray.ObjectRef<number>;
  squares: number[];
  workers: number;
  puts: number;
}

/** Starts a runtime of `numCpus` workers and works it: puts, tasks on every worker, an operator. */
async function round(numCpus: number): Promise<Round> {
  await ray.init({ numCpus });
  const puts = ray.objectStoreStats().putCount;
  const firstRef = ray.put(1);
  const squares = await ray.get([1, 2, 3, 4].map((x) => square.remote(x)));
  const flags = await sharedInts(1);
  const threads = await ray.get(Array.from({ length: numCpus }, () => meet.remote(flags, numCpus)));
  const sum = await ray.aggListDistributed((a: number, b: number) => a + b, Array.from({ length: 4096 }, (_, i) => i));
  assert.equal(sum, (4095 * 4096) / 2);
  assert.notEqual(ray.lastAggListDecision(), undefined);
  return { firstRef, squares, workers: new Set(threads).size, puts };
}

test("a runtime started after shutdown() owes nothing to the one before", async () => {
  try {
    const first = await round(1);
    await ray.shutdown();
    assert.equal(ray.lastAggListDecision(), undefined, "the operator's measurements went with the runtime");

    const second = await round(2);
    assert.equal(second.puts, 0, "the new store's statistics start at zero");
    assert.equal(second.workers, 2, "functions defined before the first runtime run on every worker of the second");
    assert.deepEqual(second.squares, first.squares);
    assert.equal(second.firstRef.num, first.firstRef.num, "object numbers start again with the new runtime");
    assert.notEqual(second.firstRef.id, first.firstRef.id, "public ids stay unique across runtimes");

    // The old runtime's ref has the same number as a live object of this one: it must not reach it.
    const stale = /was made by a runtime that was shut down/;
    await assert.rejects(ray.get(first.firstRef), (error: unknown) => error instanceof ray.RayError && stale.test(error.message));
    await assert.rejects(ray.wait([first.firstRef]), stale);
    assert.throws(() => square.remote(first.firstRef), stale);
    assert.throws(() => ray.put({ nested: first.firstRef }), stale);
    assert.throws(() => ray.cancel(first.firstRef), stale);
    assert.equal(await ray.get(second.firstRef), 1);
  } finally {
    await ray.shutdown();
  }
});

test("an actor handle of a runtime that was shut down reaches no actor of the next one", async () => {
  try {
    await ray.init({ numCpus: 1 });
    const Old = ray.remote(class Old { who() { return "old"; } });
    const old = Old.remote();
    assert.equal(await ray.get(old.who.remote()), "old");
    const who = old.who; // a method stub read before the shutdown
    await ray.shutdown();

    await ray.init({ numCpus: 1 });
    const Fresh = ray.remote(class Fresh { who() { return "fresh"; } });
    const fresh = [Fresh.remote(), Fresh.remote()];
    assert.deepEqual(await ray.get(fresh.map((actor) => actor.who.remote())), ["fresh", "fresh"]);
    // The old handle has the same number as a live actor of this runtime: it must not reach it.
    const stale = /actor handle .* was made by a runtime that was shut down/;
    assert.throws(() => old.who.remote(), (error: unknown) => error instanceof ray.RayError && stale.test(error.message));
    assert.throws(() => who.remote(), stale);
    assert.throws(() => ray.kill(old), stale);
    const call = ray.remote(async (actor: ray.ActorHandle<{ who(): string }>) => ray.get(actor.who.remote()));
    assert.throws(() => call.remote(old), stale);
    assert.throws(() => ray.put({ nested: old }), stale);
    assert.deepEqual(await ray.get(fresh.map((actor) => actor.who.remote())), ["fresh", "fresh"], "the live actors were not touched");
    assert.equal(await ray.get(call.remote(fresh[0] as ray.ActorHandle<{ who(): string }>)), "fresh");
  } finally {
    await ray.shutdown();
  }
});
