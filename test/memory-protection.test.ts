/**
 * Memory protection: the memory monitor (fed readings by the test, so
 * pressure comes exactly when the test says) stops the newest retriable
 * task's worker and retries the task once memory is back; a task that
 * cannot be retried fails with OutOfMemoryError; a worker past its heap
 * limit dies alone and its task fails the same way.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as ray from "../src/index.js";
import { assertPoolWhole, release, sharedInts, until } from "./support/shared.js";

/** Readings the monitor takes next, as fractions of the memory; 50% once they run out. */
const readings: number[] = [];
let reads = 0;
const reader = (): ray.MemoryReading => {
  reads++;
  return { used: (readings.shift() ?? 0.5) * 1000, total: 1000 };
};

await ray.init({ numCpus: 2, memoryMonitorRefreshMs: 5, memoryUsageReader: reader, includeDashboard: false });

after(() => ray.shutdown());

/**
 * Counts its attempts in `flags[slot]` and the starts of every task in
 * flags[1]; a first attempt holds until flags[0] is set (60 s guard).
 */
const attempt = ray.remote((flags: Int32Array, slot: number) => {
  const n = Atomics.add(flags, slot, 1) + 1;
  Atomics.add(flags, 1, 1);
  Atomics.notify(flags, 1);
  if (n === 1) Atomics.wait(flags, 0, 0, 60_000);
  return n;
});

/** Queues one reading past the threshold and waits until the monitor has taken it. */
async function pressure(): Promise<void> {
  const before = reads;
  readings.push(0.99);
  while (readings.length > 0 || reads === before) await new Promise((resolve) => setImmediate(resolve));
}

test("under pressure the newest retriable task's worker is stopped, and the task succeeds on its retry", async () => {
  const flags = await sharedInts(8);
  const older = attempt.remote(flags, 4);
  await until(flags, 1, 1);
  const newer = attempt.remote(flags, 5);
  await until(flags, 1, 2);
  await pressure();
  // Retried once memory was back under the threshold: its second attempt does not hold.
  assert.equal(await ray.get(newer), 2);
  release(flags);
  assert.equal(await ray.get(older), 1);
  assert.equal(flags[4], 1, "the older task was not stopped");
  await assertPoolWhole();
});

test("a newer task that cannot be retried is spared: the newest retriable one is stopped", async () => {
  const flags = await sharedInts(8);
  const retriable = attempt.options({ maxRetries: 2 }).remote(flags, 4);
  await until(flags, 1, 1);
  const last = attempt.options({ maxRetries: 0 }).remote(flags, 5);
  await until(flags, 1, 2);
  await pressure();
  assert.equal(await ray.get(retriable), 2);
  release(flags);
  assert.equal(await ray.get(last), 1);
  await assertPoolWhole();
});

test("a task that cannot be retried fails with OutOfMemoryError; the runtime goes on", async () => {
  const flags = await sharedInts(8);
  const doomed = attempt.options({ maxRetries: 0, name: "doomed" }).remote(flags, 4);
  await until(flags, 1, 1);
  await pressure();
  await assert.rejects(ray.get(doomed), (error: unknown) => {
    assert.ok(error instanceof ray.OutOfMemoryError, String(error));
    assert.equal(error.code, "OUT_OF_MEMORY");
    assert.match(error.message, /doomed/);
    assert.match(error.message, /memoryUsageThreshold \(0\.95\)/);
    assert.match(error.message, /990 of 1000 bytes, 99\.0%/);
    assert.match(error.message, /maxRetries: 0/);
    return true;
  });
  release(flags);
  await assertPoolWhole();
});

test("pressure with no task running stops nothing", async () => {
  const flags = await sharedInts(8);
  await pressure();
  release(flags);
  assert.equal(await ray.get(attempt.remote(flags, 4)), 1);
});

test("a task past its worker's heap limit fails with OutOfMemoryError (retried per maxRetries), not the driver", async () => {
  await ray.shutdown();
  await ray.init({ numCpus: 2, workerMaxHeapMB: 48, includeDashboard: false });
  const flags = await sharedInts(8);
  const runaway = ray.remote((flags: Int32Array) => {
    Atomics.add(flags, 2, 1);
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array<number>(100_000).fill(1.5));
  });
  await assert.rejects(ray.get(runaway.options({ maxRetries: 1, name: "runaway" }).remote(flags)), (error: unknown) => {
    assert.ok(error instanceof ray.OutOfMemoryError, String(error));
    assert.match(error.message, /runaway/);
    assert.match(error.message, /heap limit \(workerMaxHeapMB: 48\)/);
    return true;
  });
  assert.equal(flags[2], 2, "ran once and once more on retry");
  await assertPoolWhole();
});

test("an actor call past its worker's heap limit fails with OutOfMemoryError, restarted actor or not", async () => {
  await ray.shutdown();
  await ray.init({ numCpus: 2, workerMaxHeapMB: 48, includeDashboard: false });
  const Hog = ray.remote(
    class Hog {
      hoard: number[][] = [];
      grow(): number {
        for (;;) this.hoard.push(new Array<number>(100_000).fill(1.5));
      }
      ping(): string {
        return "pong";
      }
    },
  );
  for (const maxRestarts of [0, 1]) {
    const hog = Hog.options({ maxRestarts }).remote();
    await assert.rejects(ray.get(hog.grow.remote()), (error: unknown) => {
      assert.ok(error instanceof ray.OutOfMemoryError, `maxRestarts ${String(maxRestarts)}: ${String(error)}`);
      assert.match(error.message, /Hog\.grow/);
      assert.match(error.message, /heap limit \(workerMaxHeapMB: 48\)/);
      assert.match(error.message, /maxTaskRetries: 0/);
      return true;
    });
    if (maxRestarts === 1) assert.equal(await ray.get(hog.ping.remote()), "pong", "restarted as before");
    else await assert.rejects(ray.get(hog.ping.remote()), ray.ActorDiedError);
  }
  await assertPoolWhole();
});
