/**
 * A task or actor whose thread exits (`process.exit(3)` in the task) fails
 * with WorkerCrashedError saying the thread exited and with which code, in
 * rayts's words rather than the thread pool's ("Workerpool Worker
 * terminated Unexpectedly").
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";

before(async () => {
  await ray.init({ numCpus: 1, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
});

test("a task or actor call that exits its thread names the exit code", async () => {
  const quit = ray.remote((code: number) => {
    process.exit(code);
  });
  const Quitter = ray.remote(
    class Quitter {
      quit(code: number): void {
        process.exit(code);
      }
    },
  );
  const check = (code: number) => (error: unknown) => {
    assert.ok(error instanceof ray.WorkerCrashedError, String(error));
    assert.match(error.message, new RegExp(`its thread exited with code ${String(code)}`));
    assert.doesNotMatch(error.message, /Workerpool/);
    return true;
  };
  await assert.rejects(ray.get(quit.options({ maxRetries: 0 }).remote(3)), check(3));
  await assert.rejects(ray.get(Quitter.options({ maxRestarts: 1 }).remote().quit.remote(4)), check(4));
  assert.equal(await ray.get(ray.remote(() => "alive").remote()), "alive");
});
