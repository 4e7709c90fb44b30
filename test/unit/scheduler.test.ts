/**
 * The default scheduling policy without threads: which worker gets a ready
 * task, under the CPU budget (whole, multi-CPU, fractional and 0-CPU tasks),
 * micro-batches of short tasks, a second task queued behind moderate ones,
 * blocked tasks giving their slot back, and cancelled tasks never placed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Scheduler, TaskWorker, type Task } from "../../src/core/scheduling/scheduler.js";
import { fakeTask, FakeLink } from "../support/fake-peers.js";

/** Work of one micro-batch, in microseconds (BATCH_US in scheduler.ts). */
const BATCH_US = 400;

function setup(numCpus: number, numWorkers = numCpus) {
  const placed: { worker: number; task: number }[] = [];
  const scheduler = new Scheduler(numCpus, (worker, task) => {
    placed.push({ worker: scheduler.workers.indexOf(worker), task: task.id });
  });
  const links: FakeLink[] = [];
  for (let i = 0; i < numWorkers; i++) {
    const link = new FakeLink(i);
    links.push(link);
    scheduler.workers.push(new TaskWorker(link));
  }
  let nextId = 1;
  const tasks = new Map<number, Task>();
  /** Queues `count` ready tasks and returns them. */
  const submit = (count: number, numCpus = 1, fn = 1): Task[] => {
    const made: Task[] = [];
    for (let i = 0; i < count; i++) {
      const task = fakeTask(nextId++, numCpus, fn);
      tasks.set(task.id, task);
      scheduler.queue.push(task);
      made.push(task);
    }
    return made;
  };
  const onWorker = (worker: number): number[] => placed.filter((p) => p.worker === worker).map((p) => p.task);
  return { scheduler, placed, links, submit, tasks, onWorker };
}

test("one task per free CPU, in submit order; the rest wait for a release", () => {
  const { scheduler, placed, submit } = setup(2);
  const [a, b, c, d] = submit(4);
  scheduler.dispatch();
  assert.deepEqual(placed, [{ worker: 0, task: 1 }, { worker: 1, task: 2 }]);
  assert.equal(a?.worker, scheduler.workers[0]);
  assert.equal(scheduler.usedSlots(), 2);
  assert.equal(scheduler.queue.size, 2);
  scheduler.dispatch();
  assert.equal(placed.length, 2, "no slot is free");
  scheduler.release(b as Task);
  assert.equal(b?.worker, undefined);
  assert.equal(scheduler.usedSlots(), 1);
  scheduler.dispatch();
  assert.deepEqual(placed.slice(2), [{ worker: 1, task: 3 }]);
  assert.equal(c?.worker, scheduler.workers[1]);
  assert.equal(d?.worker, undefined);
});

test("a dead worker gets nothing; a live one picks up its share", () => {
  const { scheduler, links, submit, onWorker } = setup(2);
  (links[0] as FakeLink).terminate();
  submit(3);
  scheduler.dispatch();
  assert.deepEqual(onWorker(0), []);
  assert.deepEqual(onWorker(1), [1]);
  assert.equal(scheduler.usedSlots(), 1);
});

test("a multi-CPU task takes its CPUs; one that does not fit holds back the tasks behind it (FIFO)", () => {
  const { scheduler, placed, submit } = setup(4);
  const [big] = submit(1, 3);
  const [two] = submit(1, 2);
  submit(1, 1);
  scheduler.dispatch();
  assert.deepEqual(placed, [{ worker: 0, task: 1 }]);
  assert.equal(scheduler.usedSlots(), 3);
  assert.equal(scheduler.workers[0]?.extra, 2);
  scheduler.release(big as Task);
  assert.equal(scheduler.workers[0]?.extra, 0);
  assert.equal(scheduler.usedSlots(), 0);
  scheduler.dispatch();
  assert.deepEqual(placed.slice(1), [{ worker: 0, task: 2 }, { worker: 1, task: 3 }]);
  assert.equal(scheduler.usedSlots(), 3);
  assert.equal(two?.worker?.extra, 1);
});

test("a task blocked in get gives its slot back to the next task", () => {
  const { scheduler, placed, submit } = setup(1, 2);
  const [a] = submit(2);
  scheduler.dispatch();
  assert.equal(placed.length, 1);
  const worker = a?.worker as TaskWorker;
  worker.blocked++;
  assert.equal(scheduler.usedSlots(), 0);
  scheduler.dispatch();
  assert.equal(placed.length, 2);
  assert.equal(scheduler.usedSlots(), 1);
});

test("fractional tasks share the budget exactly, spread over workers, at most one CPU's worth per worker", () => {
  const halves = setup(1, 2);
  const [first, second] = halves.submit(3, 0.5);
  halves.scheduler.dispatch();
  assert.deepEqual(halves.placed, [{ worker: 0, task: 1 }, { worker: 1, task: 2 }]);
  assert.equal(halves.scheduler.usedSlots(), 1);
  halves.scheduler.release(second as Task);
  halves.scheduler.dispatch();
  assert.deepEqual(halves.placed.slice(2), [{ worker: 1, task: 3 }]);
  assert.equal(first?.worker?.side, 1);

  // Ten tenths make one CPU exactly (no floating-point drift); the eleventh waits.
  const tenths = setup(1, 1);
  tenths.submit(11, 0.1);
  tenths.scheduler.dispatch();
  assert.equal(tenths.placed.length, 10);
  assert.equal(tenths.scheduler.usedSlots(), 1);

  // Budget left, but one worker holds side tasks worth one CPU at most.
  const capped = setup(4, 1);
  capped.submit(3, 0.5);
  capped.scheduler.dispatch();
  assert.equal(capped.placed.length, 2);
  assert.equal(capped.scheduler.workers[0]?.sideUnits, 10_000);
});

test("0-CPU tasks are never held back by the budget and are spread by how many tasks each worker holds", () => {
  const { scheduler, placed, submit, onWorker } = setup(1, 2);
  submit(1, 1);
  submit(6, 0);
  scheduler.dispatch();
  assert.equal(placed.length, 7);
  assert.equal(scheduler.usedSlots(), 1);
  const held = [onWorker(0).length, onWorker(1).length];
  assert.deepEqual(held.sort(), [3, 4], `spread evenly: ${held.join(", ")}`);
});

test("short tasks go in batches of about BATCH_US of work, two batches in flight per worker; FIFO holds", () => {
  const { scheduler, placed, submit, onWorker } = setup(2);
  const estimate = 10;
  scheduler.record(1, estimate);
  submit(500);
  scheduler.dispatch();
  const perBatch = BATCH_US / estimate;
  for (const worker of [0, 1]) {
    const count = onWorker(worker).length;
    assert.ok(count > perBatch / 2 && count <= 2 * perBatch, `worker ${String(worker)} holds ${String(count)} short tasks`);
  }
  assert.ok(scheduler.queue.size > 0, "no worker takes the whole queue");
  assert.deepEqual(placed.map((p) => p.task), placed.map((_, i) => i + 1), "placed in submit order");
  assert.equal(scheduler.usedSlots(), 2, "a batch holds one slot");
});

test("tasks of unknown or long duration, and multi-CPU ones, are never batched", () => {
  const unknown = setup(2);
  unknown.submit(20);
  unknown.scheduler.dispatch();
  assert.equal(unknown.placed.length, 2);

  const long = setup(2);
  long.scheduler.record(1, 50_000);
  long.submit(20);
  long.scheduler.dispatch();
  assert.equal(long.placed.length, 2);

  const wide = setup(4);
  wide.scheduler.record(1, 10);
  wide.submit(20, 2);
  wide.scheduler.dispatch();
  assert.deepEqual(wide.placed.map((p) => p.worker), [0, 1]);
});

test("a task of known, moderate length gets one more queued behind it when the queue is long", () => {
  const { scheduler, submit, onWorker } = setup(2);
  scheduler.record(1, 5_000);
  submit(10);
  scheduler.dispatch();
  assert.equal(onWorker(0).length, 2);
  assert.equal(onWorker(1).length, 2);
  assert.equal(scheduler.usedSlots(), 2, "the one behind takes no slot of its own");

  const few = setup(2);
  few.scheduler.record(1, 5_000);
  few.submit(3);
  few.scheduler.dispatch();
  assert.equal(few.placed.length, 2, "not when there is less than two tasks per worker");
});

test("cancelled tasks are dropped from the queue and never placed", () => {
  const { scheduler, placed, submit } = setup(2);
  const tasks = submit(6);
  for (const index of [0, 2, 3]) (tasks[index] as Task).cancelled = "soft";
  scheduler.dispatch();
  assert.deepEqual(placed.map((p) => p.task), [2, 5]);
  assert.equal(scheduler.queue.size, 1);
  scheduler.release(tasks[1] as Task);
  (tasks[5] as Task).cancelled = "force";
  scheduler.dispatch();
  assert.equal(placed.length, 2);
  assert.equal(scheduler.queue.size, 0);
});

test("a second release, or the release of a task never placed, changes nothing", () => {
  const { scheduler, submit } = setup(1, 1);
  const [a, b] = submit(2, 0.5);
  const [c] = submit(1, 1);
  scheduler.dispatch();
  const worker = scheduler.workers[0] as TaskWorker;
  assert.equal(worker.side, 2);
  scheduler.release(a as Task);
  scheduler.release(a as Task);
  assert.equal(worker.side, 1);
  assert.equal(worker.sideUnits, 5_000);
  scheduler.release(c as Task); // still queued
  assert.equal(scheduler.queue.size, 1);
  scheduler.release(b as Task);
  assert.equal(worker.assigned.size, 0);
  assert.equal(worker.side, 0);
  assert.equal(worker.sideUnits, 0);
  assert.equal(worker.shortOnly, true);
  assert.equal(scheduler.usedSlots(), 0);
});

test("a worker reset after its thread died forgets every task", () => {
  const { scheduler, submit } = setup(2, 1);
  submit(1, 2);
  submit(1, 0.5);
  scheduler.dispatch();
  const worker = scheduler.workers[0] as TaskWorker;
  assert.equal(worker.assigned.size, 1);
  assert.equal(worker.extra, 1);
  worker.reset();
  assert.deepEqual([worker.assigned.size, worker.extra, worker.side, worker.sideUnits, worker.blocked], [0, 0, 0, 0, 0]);
  assert.equal(scheduler.usedSlots(), 0);
});

test("a multi-CPU task at the head is never sent behind a busy worker's batch of short tasks", () => {
  const { scheduler, submit, onWorker } = setup(2);
  scheduler.record(1, 10);
  submit(2);
  scheduler.dispatch();
  assert.deepEqual([onWorker(0), onWorker(1)], [[1], [2]]);
  // A queue long enough for second batches, headed by a task that needs both CPUs.
  const [wide] = submit(1, 2);
  submit(4);
  scheduler.dispatch();
  assert.equal(wide?.worker, undefined, "it waits for both CPUs");
  assert.equal(scheduler.usedSlots(), 2);
  for (const worker of scheduler.workers) assert.equal(worker.extra, 0);
});
