/**
 * The driver runtime's parts behind their interfaces: an injected
 * scheduling policy places every task, and the thread pool's one use of
 * workerpool's internals (finding a thread's Worker) holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "../src/index.js";
import { resolveInitOptions } from "../src/core/api/options.js";
import { DriverRuntime } from "../src/core/runtime/runtime.js";
import { microBatching, type Task, type TaskWorker } from "../src/core/scheduling/scheduler.js";
import type { SchedulingPolicyFactory } from "../src/core/scheduling/scheduling-policy.js";
import { ThreadPool } from "../src/core/transport/worker-pool.js";
import type { Transport } from "../src/core/transport/transport.js";
import { LocalObjectDirectory, type AsyncObjectDirectory } from "../src/core/store/object-directory.js";
import { LocalOwnershipTable } from "../src/core/store/ownership.js";
import type { Holder } from "../src/core/store/lending.js";
import type { ControlPlane as RedisControlPlane } from "../src/cluster/control-plane.js";

// The cluster's Redis control plane answers the directory's questions, asynchronously (checked by the compiler).
export const redisIsADirectory = (plane: RedisControlPlane): AsyncObjectDirectory<string, string> => plane;

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
            if (Array.isArray(message) || message.kind !== "hello") continue;
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

test("the in-memory object directory lists an object's locations in order until it is dropped", () => {
  const directory = new LocalObjectDirectory<number, string>();
  directory.addLocation(1, "task-0");
  directory.addLocation(1, "actor-3");
  directory.addLocation(2, "task-1");
  assert.deepEqual(directory.locations(1), ["task-0", "actor-3"]);
  directory.dropLocations([1]);
  assert.deepEqual(directory.locations(1), []);
  assert.deepEqual(directory.locations(2), ["task-1"]);
});

test("the ownership table counts borrows and hands back a dead holder's unsettled submissions once", () => {
  const counts = new Map<number, number>();
  const store = {
    addRef: (id: number, delta: number) => void counts.set(id, (counts.get(id) ?? 0) + delta),
    addRefs: (ids: readonly number[], delta: number) => ids.forEach((id) => store.addRef(id, delta)),
    count: (id: number) => counts.get(id) ?? 0,
  };
  const holder = (): Holder => ({ link: undefined, borrows: new Map(), blocks: new Set() });
  const a = holder();
  const b = holder();
  const table = new LocalOwnershipTable<Holder>(store, () => [a, b]);
  table.borrow(a, 7);
  table.borrow(a, 7);
  table.borrow(b, 8);
  const names = new Map([[a, "task-0"], [b, "actor-1"]]);
  assert.deepEqual(table.borrowers((h) => names.get(h) ?? "?"), new Map([[7, { "task-0": 2 }], [8, { "actor-1": 1 }]]));
  table.submitted(a, 10);
  table.submitted(a, 11);
  table.submitted(b, 12);
  table.settled(11);
  assert.deepEqual([...table.takeSubmitted(a)], [10]);
  assert.deepEqual([...table.takeSubmitted(a)], []);
  table.addRefs([10, 10], 1);
  assert.equal(table.count(10), 2);
});
