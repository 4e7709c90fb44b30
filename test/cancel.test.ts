/**
 * `cancel`: a pending task never runs; a running task is abandoned, or with
 * `force` its worker is stopped and the pool heals. `get` then rejects with
 * TaskCancelledError.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { assertPoolWhole, held, release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Records that it ran in flags[2]. */
const marker = ray.remote((flags: Int32Array) => {
  Atomics.add(flags, 2, 1);
  return "ran";
});

async function assertCancelled(ref: ray.ObjectRef<unknown>): Promise<void> {
  await assert.rejects(ray.get(ref, { timeout: 60_000 }), (error: unknown) => {
    assert.ok(error instanceof ray.TaskCancelledError, `expected TaskCancelledError, got ${String(error)}`);
    assert.ok(error instanceof ray.RayError);
    assert.equal(error.code, "TASK_CANCELLED");
    return true;
  });
}

test("a pending task that is cancelled never runs", async () => {
  const flags = await sharedInts();
  const busy = [held.remote(flags, 1), held.remote(flags, 2)];
  await until(flags, 1, 2); // both workers are taken
  const queued = marker.remote(flags);
  ray.cancel(queued);
  await assertCancelled(queued);
  release(flags);
  assert.deepEqual(await ray.get(busy), [1, 2]);
  // Let the workers drain anything they were sent.
  assert.equal(await ray.get(marker.remote(flags)), "ran");
  assert.equal(Atomics.load(flags, 2), 1, "the cancelled task ran");
});

test("cancelling a queued task after a warm-up (batched short tasks) still keeps it from running", async () => {
  const flags = await sharedInts();
  // Warm up so the scheduler estimates the marker as short and may batch it.
  for (let i = 0; i < 20; i++) await ray.get(marker.remote(flags));
  Atomics.store(flags, 2, 0);
  const busy = [held.remote(flags, 1), held.remote(flags, 2)];
  await until(flags, 1, 2);
  const queued = Array.from({ length: 5 }, () => marker.remote(flags));
  for (const ref of queued) ray.cancel(ref);
  for (const ref of queued) await assertCancelled(ref);
  release(flags);
  await ray.get(busy);
  await ray.get(marker.remote(flags));
  assert.equal(Atomics.load(flags, 2), 1, "a cancelled task ran");
});

test("a task waiting on a dependency can be cancelled and never runs", async () => {
  const flags = await sharedInts();
  const upstream = held.remote(flags, 1);
  const dependent = ray.remote((_: number, f: Int32Array) => {
    Atomics.add(f, 2, 1);
    return 1;
  });
  const ref = dependent.remote(upstream, flags);
  ray.cancel(ref);
  await assertCancelled(ref);
  release(flags);
  assert.equal(await ray.get(upstream), 1);
  await ray.get(marker.remote(flags));
  assert.equal(Atomics.load(flags, 2), 1);
});

test("force-cancelling a running busy loop ends it; the pool heals and the next tasks succeed", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const spin = ray.remote((f: Int32Array) => {
    Atomics.store(f, 1, 1);
    Atomics.notify(f, 1);
    for (;;) {
      /* busy */
    }
  });
  const ref = spin.remote(flags);
  await until(flags, 1, 1);
  ray.cancel(ref, { force: true });
  await assertCancelled(ref);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(5), { timeout: 60_000 }), 25);
  await assertPoolWhole();
  assert.equal(ray.availableResources().CPU, 2);
});

test("cancelling a running task without force abandons it: get rejects at once", async () => {
  const flags = await sharedInts();
  const ref = held.remote(flags, 1);
  await until(flags, 1, 1);
  ray.cancel(ref);
  await assertCancelled(ref);
  release(flags);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(6)), 36);
  await assertPoolWhole();
});

test("force-cancelling a task queued behind a running one on the same worker does not kill the running task", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const maybeHold = ray.remote((f: Int32Array, hold: boolean) => {
    if (hold) {
      Atomics.add(f, 1, 1);
      Atomics.notify(f, 1);
      Atomics.wait(f, 0, 0, 10_000);
    }
    return hold;
  });
  // Warm up: the scheduler learns the function is short and may batch calls onto a busy worker.
  for (let i = 0; i < 30; i++) await ray.get(maybeHold.remote(flags, false));
  const other = held.remote(flags, 1);
  await until(flags, 1, 1);
  const innocent = maybeHold.options({ maxRetries: 0 }).remote(flags, true);
  await until(flags, 1, 2);
  const queued = [0, 1, 2].map(() => maybeHold.remote(flags, false));
  // Let the scheduler place them (it dispatches once per tick).
  await new Promise((resolve) => setImmediate(resolve));
  ray.cancel(queued[1] as ray.ObjectRef<boolean>, { force: true });
  await assertCancelled(queued[1] as ray.ObjectRef<boolean>);
  release(flags);
  // The running task was not the one cancelled: it must finish normally.
  assert.equal(await ray.get(innocent, { timeout: 60_000 }), true);
  assert.deepEqual(await ray.get([other, queued[0] as ray.ObjectRef<boolean>, queued[2] as ray.ObjectRef<boolean>], { timeout: 60_000 }), [1, false, false]);
  await assertPoolWhole();
});

test("a queued actor call that is cancelled never runs", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const Recorder = ray.remote(
    class Recorder {
      log: number[] = [];
      step(f: Int32Array, i: number): number {
        Atomics.add(f, 1, 1);
        Atomics.notify(f, 1);
        Atomics.wait(f, 0, 0, 10_000);
        this.log.push(i);
        return i;
      }
      read(): number[] {
        return this.log;
      }
    },
  );
  const actor = Recorder.remote();
  const first = actor.step.remote(flags, 1);
  const second = actor.step.remote(flags, 2);
  const third = actor.step.remote(flags, 3);
  await until(flags, 1, 1); // the first call is running, the others wait behind it
  ray.cancel(second);
  await assertCancelled(second);
  release(flags);
  assert.deepEqual(await ray.get([first, third]), [1, 3]);
  assert.deepEqual(await ray.get(actor.read.remote()), [1, 3], "the cancelled call ran");
  ray.kill(actor);
});

test("cancelling a finished task changes nothing", async () => {
  const square = ray.remote((x: number) => x * x);
  const ref = square.remote(3);
  assert.equal(await ray.get(ref), 9);
  ray.cancel(ref);
  ray.cancel(ref, { force: true });
  assert.equal(await ray.get(ref), 9);
  ray.cancel(ray.put(1));
});

test("cancel of a non-ref is a TypeError", () => {
  assert.throws(() => ray.cancel(5 as unknown as ray.ObjectRef<unknown>), TypeError);
});
