/**
 * A throw outside any task's promise (a timer that outlives its task) ends
 * the worker, as in Ray, but never in silence: the task's own output comes
 * first, then the error with the worker's prefix. (Child process, to read
 * its stdout and stderr.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = `
import * as ray from "RAYTS";
await ray.init({ numCpus: 1 });
const stray = ray.remote(function stray(x: number) {
  console.log("task output before the stray error", x);
  // Thrown in the same tick as the log, before the worker's outbox is posted.
  queueMicrotask(() => { throw new Error("stray error after the task returned"); });
  return new Promise<number>(() => undefined);
});
const outcome = await ray.get(stray.options({ maxRetries: 0 }).remote(7)).then(String, (e: Error) => e.name);
console.log("outcome:", outcome);
const square = ray.remote((x: number) => x * x);
console.log("next:", await ray.get(square.remote(3)));
await ray.shutdown();
`;

test("a stray async error is logged with the worker's prefix, after the task's own output", { timeout: 240_000 }, async () => {
  const result = await runScript("stray-error", SCRIPT, { timeoutMs: 200_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^\(stray pid=\d+ worker=0\) task output before the stray error 7$/m);
  assert.match(result.stdout, /^outcome: WorkerCrashedError$/m);
  assert.match(result.stdout, /^next: 9$/m);
  assert.match(result.stderr, /^\(stray pid=\d+ worker=0\) uncaught error outside any task's promise .*\nError: stray error after the task returned\n\s+at /m);
});
