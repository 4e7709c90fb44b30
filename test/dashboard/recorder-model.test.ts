/**
 * Model-based tests of the state recorder and its ring buffer: random event
 * sequences that follow the task state machine drive a real Recorder beside
 * a plain model; the recorder must agree on every task's state, keep at most
 * `maxTasks` ended records, count exactly what it dropped, and keep exact
 * per-function counts whatever it dropped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canTransition, isTerminal, type TaskState, type TaskView } from "../../src/core/runtime/events.js";
import { Recorder } from "../../src/dashboard/recorder.js";
import { Ring } from "../../src/dashboard/ring.js";
import { params } from "../../property-tests/fc-config.js";

test("Ring keeps the newest `capacity` items and counts the rest as dropped", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.integer(), { maxLength: 40 }), (capacity, items) => {
      const ring = new Ring<number>(capacity);
      for (const item of items) ring.push(item);
      const kept = capacity === 0 ? [] : items.slice(-capacity);
      assert.deepEqual(ring.newestFirst(), kept.reverse());
      assert.equal(ring.dropped, items.length - Math.min(items.length, capacity));
      assert.equal(ring.size, Math.min(items.length, capacity));
    }),
    params(200),
  );
});

type Step = "queued" | "assigned" | "retried" | "finished" | "failed" | "cancelled";
const STEPS: readonly Step[] = ["queued", "assigned", "retried", "finished", "failed", "cancelled"];
/** The state a step leads to. */
const TARGET: Record<Step, TaskState> = { queued: "queued", assigned: "assigned", retried: "queued", finished: "finished", failed: "failed", cancelled: "cancelled" };

test("the recorder follows the task state machine and stays bounded", () => {
  const command = fc.record({ task: fc.integer({ min: 0, max: 11 }), step: fc.constantFrom(...STEPS), fn: fc.constantFrom("a", "b", "c") });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(command, { maxLength: 120 }), (maxTasks, commands) => {
      const recorder = new Recorder({ maxTasks, maxLogs: 4, maxDeadActors: 2, maxObjects: 4 });
      const tasks = new Map<number, TaskView & { attempts: number }>();
      const model = new Map<number, TaskState>();
      const ended = new Map<string, { finished: number; failed: number; cancelled: number; retries: number }>();
      let endedCount = 0;
      let nextId = 1;
      for (const { task: slot, step, fn } of commands) {
        let task = tasks.get(slot);
        if (task === undefined || isTerminal(model.get(task.id) as TaskState)) {
          // A fresh task in this slot, submitted ready to run.
          task = { id: nextId++, fn: 1, name: fn, attempts: 0, options: { numCpus: 1, maxRetries: 3 }, actor: undefined, method: undefined, deps: 0, observed: undefined };
          tasks.set(slot, task);
          model.set(task.id, "queued");
          recorder.emit({ kind: "taskSubmitted", task, parent: undefined });
        }
        const from = model.get(task.id) as TaskState;
        const to = TARGET[step];
        // Only steps the runtime can take: the model is the state machine.
        if (from === to || !canTransition(from, to) || (step === "retried" && from === "queued")) continue;
        model.set(task.id, to);
        const counts = ended.get(task.name) ?? { finished: 0, failed: 0, cancelled: 0, retries: 0 };
        ended.set(task.name, counts);
        if (step === "queued") recorder.emit({ kind: "taskQueued", task });
        else if (step === "assigned") recorder.emit({ kind: "taskAssigned", task, worker: "task-0" });
        else if (step === "retried") {
          task.attempts++;
          counts.retries++;
          recorder.emit({ kind: "taskRetried", task, reason: "test" });
        } else {
          endedCount++;
          counts[step]++;
          if (step === "finished") recorder.emit({ kind: "taskFinished", task, runUs: 5 });
          else if (step === "failed") recorder.emit({ kind: "taskFailed", task, error: { code: "USER", name: "Error", message: "x", stack: undefined }, runUs: undefined });
          else recorder.emit({ kind: "taskCancelled", task, force: false });
        }
      }
      assert.equal(recorder.invalidTransitions, 0);
      const live = [...tasks.values()].filter((task) => !isTerminal(model.get(task.id) as TaskState));
      const records = recorder.tasks(live);
      for (const record of records) assert.equal(record.state, model.get(record.id), `task ${record.id}`);
      assert.equal(recorder.ended.size, Math.min(endedCount, maxTasks));
      assert.equal(recorder.ended.dropped, Math.max(0, endedCount - maxTasks));
      assert.equal(records.length, live.length + recorder.ended.size);
      for (const [name, counts] of ended) {
        const counters = recorder.functions.get(name);
        assert.equal(counters?.finished ?? 0, counts.finished);
        assert.equal(counters?.failed ?? 0, counts.failed);
        assert.equal(counters?.cancelled ?? 0, counts.cancelled);
        assert.equal(counters?.retries ?? 0, counts.retries);
      }
    }),
    params(200),
  );
});
