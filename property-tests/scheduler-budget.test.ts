/**
 * The scheduler against a model, with fake workers (no threads): tasks of
 * 0, fractional, one or several CPUs arrive and finish in random order. After
 * every step the scheduler never holds more than `numCpus` slots, never gives
 * a worker side tasks worth more than one CPU, and leaves nothing queued that
 * the budget would let it place (no stall).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { newTask } from "../src/core/scheduling/dependencies.js";
import { Scheduler, TaskWorker, isSideTask, type Task } from "../src/core/scheduling/scheduler.js";
import type { WorkerLink } from "../src/core/transport/worker-pool.js";
import { params } from "./fc-config.js";

const CPUS = [0, 0.25, 0.5, 0.3333, 1, 2] as const;

function task(id: number, numCpus: number): Task {
  return newTask(id, 1, [], { numCpus, maxRetries: 0, retryExceptions: false, name: "t" });
}

type Step = { kind: "submit"; cpus: number } | { kind: "finish"; pick: number };

const steps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("submit" as const), cpus: fc.constantFrom(...CPUS) }),
    fc.record({ kind: fc.constant("finish" as const), pick: fc.nat() }),
  ),
  { maxLength: 60 },
);

test("the budget holds with 0, fractional and multi-CPU tasks, and nothing placeable stays queued", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), steps, (numCpus, script: Step[]) => {
      const running = new Map<number, Task>();
      const scheduler = new Scheduler(numCpus, (_worker, placed) => running.set(placed.id, placed));
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- a stand-in link: the scheduler reads only `dead`
      for (let i = 0; i < numCpus; i++) scheduler.workers.push(new TaskWorker({ dead: false } as WorkerLink));
      let next = 1;
      for (const step of script) {
        if (step.kind === "submit") {
          if (step.cpus > numCpus) continue; // refused at submit by the runtime
          scheduler.queue.push(task(next++, step.cpus));
        } else if (running.size > 0) {
          const done = [...running.values()][step.pick % running.size] as Task;
          running.delete(done.id);
          scheduler.release(done);
        }
        scheduler.dispatch();

        // The model's count of slots: one per worker with a task of one CPU or more (plus its extra), plus every side task's fraction.
        let used = 0;
        for (const worker of scheduler.workers) {
          const whole = [...worker.assigned.values()].filter((t) => !isSideTask(t));
          if (whole.length > 0) used += Math.max(...whole.map((t) => t.options.numCpus));
          const side = [...worker.assigned.values()].filter(isSideTask).reduce((sum, t) => sum + t.options.numCpus, 0);
          assert.ok(side <= 1 + 1e-9, `a worker holds side tasks worth ${side} CPUs`);
          used += side;
        }
        assert.ok(used <= numCpus + 1e-9, `${used} slots used of ${numCpus}`);
        assert.ok(Math.abs(scheduler.usedSlots() - used) < 1e-3, `the scheduler counts ${scheduler.usedSlots()}, the model ${used}`);

        // No stall: a queued head that fits the free budget has nowhere to go.
        const head = scheduler.queue.peek();
        if (head !== undefined) {
          const free = numCpus - used;
          if (head.options.numCpus <= free + 1e-9) {
            const room = isSideTask(head)
              ? scheduler.workers.some((w) => w.sideUnits + Math.round(head.options.numCpus * 10_000) <= 10_000)
              : scheduler.workers.some((w) => w.load === 0);
            assert.equal(room, false, `task of ${head.options.numCpus} CPUs stays queued with ${free} free`);
          }
        }
      }
    }),
    params(200),
  );
});
