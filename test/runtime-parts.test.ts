/**
 * The driver runtime's parts behind their interfaces: an injected
 * scheduling policy places every task, and the thread pool's one use of
 * workerpool's internals (finding a thread's Worker) holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "../src/index.js";
import { resolveInitOptions } from "../src/core/options.js";
import { DriverRuntime } from "../src/core/runtime.js";
import { microBatching, type Task, type TaskWorker } from "../src/core/scheduler.js";
import type { SchedulingPolicyFactory } from "../src/core/scheduling-policy.js";
import { ThreadPool } from "../src/core/worker-pool.js";
import type { Transport } from "../src/core/transport.js";

test("an injected scheduling policy places every task the runtime runs", async () => {
  const placed: number[] = [];
  const policy: SchedulingPolicyFactory = (numCpus, assign) =>
    microBatching(numCpus, (worker: TaskWorker, task: Task) => {
      placed.push(task.id);
      assign(worker, task);
    });
  const runtime = new DriverRuntime(resolveInitOptions({ numCpus: 2 }), { policy });
  try {
    await runtime.ready();
    const square = ray.remote((x: number) => x * x);
    const refs = [1, 2, 3, 4, 5].map((x) => runtime.submitTask(square.id, [x], square.taskOptions));
    assert.deepEqual(await runtime.get(refs, undefined), [1, 4, 9, 16, 25]);
    assert.deepEqual([...placed].sort((a, b) => a - b), refs.map((ref) => ref.num).sort((a, b) => a - b));
  } finally {
    await runtime.shutdown();
  }
});

test("the thread pool finds each thread's Worker through workerpool, and terminating it reports the exit", async () => {
  const pool = new ThreadPool("actor", 1, new SharedArrayBuffer(8), new SharedArrayBuffer(8), 1024 * 1024);
  try {
    let threadId = -1;
    const exited = new Promise<unknown>((resolve) => {
      const link = pool.start(
        0,
        (peer: Transport, batch) => {
          for (const message of batch) {
            if (message.kind !== "hello") continue;
            threadId = message.threadId;
            peer.attach(message.threadId);
          }
        },
        (_peer, error) => resolve(error ?? "exited"),
      );
      link.onHello = () => {
        const worker = pool.findThread(threadId);
        assert.equal(worker?.threadId, threadId, "workerpool's handlers no longer expose the thread's Worker");
        assert.equal(pool.threadCount(), 1);
        link.terminate();
      };
    });
    assert.notEqual(await exited, undefined);
  } finally {
    await pool.close();
  }
});
