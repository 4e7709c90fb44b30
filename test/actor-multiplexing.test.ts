/**
 * Actors share threads: with `numCpus: 1` every actor lives on one shared
 * thread unless it asks for `dedicatedThread`. Each keeps its own state and
 * call order; killing one leaves the others untouched; when the shared thread
 * dies, each actor on it is restarted or failed by its own `maxRestarts`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 1 });
});

after(async () => {
  await ray.shutdown();
});

const Cell = ray.remote(
  class Cell {
    log: number[] = [];
    constructor(readonly label: string) {}
    push(value: number): number[] {
      this.log.push(value);
      return this.log;
    }
    async thread(): Promise<number> {
      return (await import("node:worker_threads")).threadId;
    }
    /** Never settles: a call that is still running when the actor is killed. */
    async hang(): Promise<never> {
      return new Promise<never>(() => undefined);
    }
    /** util.promisify(setTimeout) still works on a thread whose timers are wrapped. */
    async nap(): Promise<string> {
      const { promisify } = await import("node:util");
      await promisify(setTimeout)(1);
      return "rested";
    }
    crash(): never {
      process.exit(1);
    }
    /** Counts in flags[slot] every millisecond, from a timer the actor owns. */
    tick(flags: Int32Array, slot: number): void {
      setInterval(() => Atomics.add(flags, slot, 1), 1);
    }
    /** Waits for `turns` timeouts of 5 ms on this thread, then reads flags[slot]. */
    async later(flags: Int32Array, slot: number, turns: number): Promise<number> {
      for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
      return Atomics.load(flags, slot);
    }
  },
);

test("many actors share one thread, each with its own state and order", async () => {
  const cells = Array.from({ length: 50 }, (_, index) => Cell.remote(`cell-${index}`));
  for (let round = 0; round < 3; round++) cells.forEach((cell, index) => cell.push.remote(index * 10 + round));
  const logs = await ray.get(cells.map((cell) => cell.push.remote(-1)));
  logs.forEach((log, index) => assert.deepEqual(log, [index * 10, index * 10 + 1, index * 10 + 2, -1]));
  const threads = new Set(await ray.get(cells.map((cell) => cell.thread.remote())));
  assert.equal(threads.size, 1, `expected one shared thread, got ${[...threads].join(", ")}`);
  for (const cell of cells) ray.kill(cell);
});

test("timer functions keep their promisified forms on a shared thread", async () => {
  const cell = Cell.remote("napper");
  assert.equal(await ray.get(cell.nap.remote()), "rested");
  ray.kill(cell);
});

test("dedicatedThread gives an actor a thread of its own", async () => {
  const shared = Cell.remote("shared");
  const own = Cell.options({ dedicatedThread: true }).remote("own");
  const [a, b] = await ray.get([shared.thread.remote(), own.thread.remote()]);
  assert.notEqual(a, b);
  ray.kill(own);
  // The shared thread is unaffected by the dedicated one going.
  assert.equal(await ray.get(shared.thread.remote()), a);
  ray.kill(shared);
});

test("killing one multiplexed actor fails its calls and leaves its neighbours alone", async () => {
  const keep = Cell.remote("keep");
  const doomed = Cell.remote("doomed");
  await ray.get([keep.push.remote(1), doomed.push.remote(1)]);
  const [keepThread, doomedThread] = await ray.get([keep.thread.remote(), doomed.thread.remote()]);
  assert.equal(keepThread, doomedThread);
  const hanging = doomed.hang.remote();
  ray.kill(doomed);
  await assert.rejects(ray.get(hanging), ray.ActorDiedError);
  await assert.rejects(ray.get(doomed.push.remote(2)), ray.ActorDiedError);
  assert.deepEqual(await ray.get(keep.push.remote(2)), [1, 2]);
  assert.equal(await ray.get(keep.thread.remote()), keepThread);
  ray.kill(keep);
});

test("a killed multiplexed actor's timers stop; its neighbour's keep running", async () => {
  const flags = await sharedInts();
  const doomed = Cell.remote("doomed");
  const neighbour = Cell.remote("neighbour");
  await ray.get([doomed.tick.remote(flags, 0), neighbour.tick.remote(flags, 1)]);
  await until(flags, 0, 1);
  ray.kill(doomed);
  // The kill reached the thread before this call; a live 1 ms interval would fire during any 5 ms timeout set after it.
  const before = await ray.get(neighbour.later.remote(flags, 0, 1));
  assert.equal(await ray.get(neighbour.later.remote(flags, 0, 3)), before);
  const ticks = Atomics.load(flags, 1);
  await until(flags, 1, ticks + 1);
  ray.kill(neighbour);
});

test("when the shared thread dies, each actor on it follows its own maxRestarts", { timeout: 60_000 }, async () => {
  const restarts = Cell.options({ maxRestarts: 1 }).remote("restarts");
  const dies = Cell.remote("dies");
  const crasher = Cell.remote("crasher");
  await ray.get([restarts.push.remote(7), dies.push.remote(7)]);
  const threads = new Set(await ray.get([restarts.thread.remote(), dies.thread.remote(), crasher.thread.remote()]));
  assert.equal(threads.size, 1);
  await assert.rejects(ray.get(crasher.crash.remote()), ray.RayError);
  await assert.rejects(ray.get(dies.push.remote(8)), (error: unknown) => {
    assert.ok(error instanceof ray.ActorDiedError, String(error));
    assert.match(error.message, /shared with other actors/);
    return true;
  });
  // Restarted with a fresh state, on a new thread.
  assert.deepEqual(await ray.get(restarts.push.remote(8)), [8]);
  assert.ok(!threads.has(await ray.get(restarts.thread.remote())));
  ray.kill(restarts);
});
