/**
 * `init`/`shutdown`/`isInitialized`, auto-init on first use, and scripts
 * that never call `shutdown` still exit by themselves once their work is
 * done (child processes).
 */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { after, describe, test } from "node:test";
import * as ray from "../src/index.js";
import { runScript } from "./support/child.js";

after(async () => {
  await ray.shutdown();
});

test("init, isInitialized and shutdown", async () => {
  assert.equal(ray.isInitialized(), false);
  await ray.shutdown(); // safe when not initialized
  await ray.init({ numCpus: 2 });
  assert.equal(ray.isInitialized(), true);
  assert.equal(ray.clusterResources().CPU, 2);
  await ray.shutdown();
  assert.equal(ray.isInitialized(), false);
  await ray.shutdown();
  // A new runtime after a shutdown.
  await ray.init({ numCpus: 1 });
  assert.equal(ray.clusterResources().CPU, 1);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(7)), 49);
  await ray.shutdown();
});

test("init twice is a RayError unless ignoreReinitError", async () => {
  await ray.init({ numCpus: 1 });
  await assert.rejects(ray.init({ numCpus: 1 }), (error: unknown) => error instanceof ray.RayError && /ignoreReinitError/.test(error.message));
  await ray.init({ ignoreReinitError: true });
  assert.equal(ray.clusterResources().CPU, 1, "the first runtime stays");
  await ray.shutdown();
});

test("a bad numCpus is a RangeError naming numCpus, and leaves rayts uninitialized", async () => {
  for (const numCpus of [0, 1.5, "2", -3]) {
    await assert.rejects(ray.init({ numCpus: numCpus as number }), (error: unknown) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /numCpus/);
      return true;
    });
    assert.equal(ray.isInitialized(), false);
  }
  await assert.rejects(ray.init({ address: "10.0.0.1:6379" }), /address/);
  assert.equal(ray.isInitialized(), false);
});

test("a pending get is rejected by shutdown, not left hanging", async () => {
  await ray.init({ numCpus: 1 });
  const spin = ray.remote(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return 1;
  });
  const pending = assert.rejects(ray.get(spin.remote()), ray.RayError);
  await ray.shutdown();
  await pending;
});

test("a ref from before a shutdown is refused by the next runtime", async () => {
  await ray.init({ numCpus: 1 });
  const old = ray.put(1);
  await ray.shutdown();
  await ray.init({ numCpus: 1 });
  await assert.rejects(ray.get(old, { timeout: 60_000 }), (error: unknown) => error instanceof ray.RayError && !(error instanceof ray.GetTimeoutError));
  await ray.shutdown();
});

test("the first .remote() without init initialises with defaults", async () => {
  assert.equal(ray.isInitialized(), false);
  const square = ray.remote((x: number) => x * x);
  const ref = square.remote(5);
  assert.equal(ray.isInitialized(), true);
  assert.equal(await ray.get(ref), 25);
  assert.equal(ray.clusterResources().CPU, availableParallelism());
  await ray.shutdown();
});

test("the first put() without init initialises with defaults", async () => {
  assert.equal(ray.isInitialized(), false);
  const ref = ray.put("x");
  assert.equal(ray.isInitialized(), true);
  assert.equal(await ray.get(ref), "x");
  await ray.shutdown();
});

async function assertExits(name: string, source: string, expected: string): Promise<void> {
  const result = await runScript(name, source, { timeoutMs: 200_000 });
  assert.equal(result.timedOut, false, `the script did not exit by itself\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.equal(result.code, 0, `exit code ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.match(result.stdout, new RegExp(expected));
}

// Each runs its own child process, independent of the others and of this process's runtime: they run side by side.
describe("scripts that never call shutdown exit by themselves", { concurrency: true }, () => {
  test("a script that auto-inits and never calls shutdown exits by itself", { timeout: 240_000 }, async () => {
    await assertExits(
      "auto-init-exit",
      `
  import * as ray from "RAYTS";
  const slow = ray.remote((x: number) => {
    const end = Date.now() + 50;
    while (Date.now() < end) {}
    return x * x;
  });
  console.log("initialized before:", ray.isInitialized());
  console.log("result:", JSON.stringify(await ray.get([1, 2, 3].map((x) => slow.remote(x)))));
  console.log("initialized after:", ray.isInitialized());
  `,
      "initialized before: false\\nresult: \\[1,4,9\\]\\ninitialized after: true",
    );
  });

  test("a script with init, an actor, a failed task and a crashed worker, never shut down, exits by itself", { timeout: 240_000 }, async () => {
    await assertExits(
      "actor-exit",
      `
  import * as ray from "RAYTS";
  await ray.init({ numCpus: 2 });
  const Counter = ray.remote(class Counter { n = 0; inc() { return ++this.n; } });
  const c = Counter.remote();
  c.inc.remote();
  const fail = ray.remote(() => { throw new Error("boom"); });
  const crash = ray.remote(() => process.exit(1));
  const results = await Promise.allSettled([ray.get(fail.remote()), ray.get(crash.options({ maxRetries: 1 }).remote())]);
  console.log("settled:", results.map((r) => r.status).join(","));
  console.log("count:", await ray.get(c.inc.remote()));
  `,
      "settled: rejected,rejected\\ncount: 2",
    );
  });

  test("a script whose last await is a long task stays alive until it is done, then exits", { timeout: 240_000 }, async () => {
    await assertExits(
      "keepalive-exit",
      `
  import * as ray from "RAYTS";
  await ray.init({ numCpus: 1 });
  const later = ray.remote(async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return x + 1;
  });
  ray.get(later.remote(1)).then((v) => console.log("value:", v));
  `,
      "value: 2",
    );
  });
});
