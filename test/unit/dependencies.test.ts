/**
 * Task records, dependency tracking and the ready queue, without threads: a
 * task waits for its top-level ref arguments, becomes ready once (when the
 * last one settles) with the values swapped in, carries the first failure
 * of a dependency, and fails at once on a ref whose object is gone.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ErrorData } from "../../src/core/api/errors.js";
import type { Encoded, ResolvedTaskOptions } from "../../src/core/protocol/protocol.js";
import { Dependencies, newTask } from "../../src/core/scheduling/dependencies.js";
import type { Task } from "../../src/core/scheduling/scheduler.js";
import { FifoQueue } from "../../src/core/scheduling/task-queue.js";
import { ObjectStore, type Settled } from "../../src/core/store/object-store.js";

const OPTIONS: ResolvedTaskOptions = { numCpus: 1, maxRetries: 0, retryExceptions: false, name: "f" };

/** A store that counts the subscriptions made to it. */
class CountingStore extends ObjectStore {
  subscriptions = 0;
  override onSettled(id: number, waiter: (settled: Settled) => void): boolean {
    this.subscriptions++;
    return super.onSettled(id, waiter);
  }
}

function setup() {
  const store = new CountingStore(1 << 20, () => undefined);
  const ready: Task[] = [];
  const dependencies = new Dependencies(store, (task) => ready.push(task));
  let nextId = 1000;
  /** Admits a task the way the runtime does: returns it and whether it can run now. */
  const submit = (...args: Encoded[]): { task: Task; now: boolean } => {
    const task = newTask(nextId++, 1, args, OPTIONS);
    dependencies.resolve(task, task.args);
    return { task, now: task.deps === 0 };
  };
  return { store, ready, submit };
}

const ref = (id: number): Encoded => ({ t: "r", id });
const error = (message: string): ErrorData => ({ code: "RAY_TASK_ERROR", name: "RayTaskError", message, stack: undefined });

test("a task record pins its ref arguments and the refs nested in its other arguments", () => {
  const plain = newTask(1, 1, [1, "x"], OPTIONS);
  assert.deepEqual(plain.pins, []);
  const task = newTask(2, 1, [ref(5), 3, { t: "s", b: new Uint8Array(1), ids: [6, 7] }, { t: "s", b: new Uint8Array(1), ids: undefined }], OPTIONS);
  assert.deepEqual(task.pins, [5, 6, 7]);
  assert.equal(task.deps, 0);
  assert.equal(task.cancelled, "no");
  assert.equal(task.worker, undefined);
  assert.notEqual(plain.pins, task.pins);
});

test("a task without refs, or whose refs have settled, can run at once with the values swapped in", () => {
  const { store, ready, submit } = setup();
  assert.equal(submit(1, "two").now, true);
  store.put(1, "value", 1);
  const { task, now } = submit(ref(1), 2);
  assert.equal(now, true);
  assert.deepEqual(task.args, ["value", 2]);
  assert.equal(task.depError, undefined);
  assert.equal(ready.length, 0, "a task ready at submit is not reported again");
  assert.equal(store.subscriptions, 0);
});

test("a task waits for every pending ref and is ready once, when the last one settles", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  store.expect(2, 1);
  store.put(3, "three", 1);
  const { task, now } = submit(ref(1), ref(2), ref(3));
  assert.equal(now, false);
  assert.equal(task.deps, 2);
  assert.deepEqual(task.args, [ref(1), ref(2), "three"]);
  store.settle(2, { ok: true, value: "two" });
  assert.deepEqual(ready, [], "one dependency left");
  assert.deepEqual(task.args, [ref(1), "two", "three"]);
  store.settle(1, { ok: true, value: "one" });
  assert.deepEqual(ready, [task]);
  assert.deepEqual(task.args, ["one", "two", "three"]);
  assert.equal(task.deps, 0);
});

test("the same pending ref twice in one task: both swapped, ready once", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  const { task } = submit(ref(1), ref(1));
  assert.equal(task.deps, 2);
  store.settle(1, { ok: true, value: 9 });
  assert.deepEqual(task.args, [9, 9]);
  assert.deepEqual(ready, [task]);
});

test("many tasks on one pending object subscribe once and all become ready, in submit order", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  const tasks = [submit(ref(1)).task, submit(0, ref(1)).task, submit(ref(1)).task];
  assert.equal(store.subscriptions, 1);
  store.settle(1, { ok: true, value: "v" });
  assert.deepEqual(ready, tasks);
  assert.deepEqual(tasks[1]?.args, [0, "v"]);
  // A later task on the same, now settled, object needs no subscription.
  assert.equal(submit(ref(1)).now, true);
  assert.equal(store.subscriptions, 1);
});

test("a failed dependency makes the task ready with the first failure as its error", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  store.expect(2, 1);
  const { task } = submit(ref(1), ref(2));
  store.settle(2, { ok: false, error: error("second failed first") });
  assert.deepEqual(ready, [], "still waiting for the other one");
  store.settle(1, { ok: false, error: error("first failed later") });
  assert.deepEqual(ready, [task]);
  assert.equal(task.depError?.message, "second failed first");
  assert.deepEqual(task.args[1], ref(2), "a failed ref is not swapped for a value");
});

test("a dependency that already failed, or whose object is gone, fails the task at submit", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  store.settle(1, { ok: false, error: error("boom") });
  const failed = submit(5, ref(1));
  assert.equal(failed.now, true);
  assert.equal(failed.task.depError?.message, "boom");
  const gone = submit(1, 2, ref(77));
  assert.equal(gone.now, true);
  assert.match(gone.task.depError?.message ?? "", /argument 2 of f refers to object 77, which no longer exists/);
  assert.equal(ready.length, 0);
});

test("an object freed while a task waits on another dependency does not stir the waiting task", () => {
  const { store, ready, submit } = setup();
  store.expect(1, 1);
  store.expect(2, 1);
  const { task } = submit(ref(1));
  store.settle(2, { ok: true, value: "unrelated" });
  store.addRef(2, -1);
  assert.deepEqual(ready, []);
  assert.equal(task.deps, 1);
  store.settle(1, { ok: true, value: "mine" });
  assert.deepEqual(ready, [task]);
});

test("the ready queue is FIFO, takes retried tasks at its front, and grows past its first ring", () => {
  const queue = new FifoQueue<number>();
  assert.equal(queue.peek(), undefined);
  assert.equal(queue.shift(), undefined);
  const expected: number[] = [];
  // Interleaved pushes, shifts and front insertions across several growths.
  for (let i = 0; i < 200; i++) {
    queue.push(i);
    expected.push(i);
    if (i % 3 === 0) {
      assert.equal(queue.shift(), expected.shift());
    }
    if (i % 7 === 0) {
      queue.unshift(-i);
      expected.unshift(-i);
    }
    assert.equal(queue.size, expected.length);
    assert.equal(queue.peek(), expected[0]);
  }
  const drained: number[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) drained.push(item);
  assert.deepEqual(drained, expected);
  assert.equal(queue.size, 0);
  queue.unshift(1);
  queue.unshift(2);
  assert.deepEqual([queue.shift(), queue.shift(), queue.shift()], [2, 1, undefined]);
});
