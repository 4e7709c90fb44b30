/**
 * The recorder's columnar task table against a plain reference model: random
 * task lifecycles (plain tasks, actor calls, tasks waiting on arguments,
 * nested tasks, retries, failures, cancellations), with explicit event times,
 * must give the same records field by field, the same ended records in the
 * same eviction order, the same per-function counters, and the same answers
 * through the state API's listings, filters and summaries. The calls of
 * `TaskEventCalls` must record what the matching events record.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canTransition, isTerminal, taskEventCalls, type EventSink, type RuntimeEvent, type RuntimeProbe, type TaskState, type TaskView, type WorkerName } from "../../src/core/runtime/events.js";
import type { ErrorData } from "../../src/core/api/errors.js";
import { Recorder, type TaskRecord } from "../../src/dashboard/recorder.js";
import { LocalState } from "../../src/dashboard/local-state.js";
import { params } from "../../property-tests/fc-config.js";

type Step = "queued" | "assigned" | "retried" | "finished" | "failed" | "cancelled";
const STEPS: readonly Step[] = ["queued", "assigned", "retried", "finished", "failed", "cancelled"];
const TARGET: Record<Step, TaskState> = { queued: "queued", assigned: "assigned", retried: "queued", finished: "finished", failed: "failed", cancelled: "cancelled" };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Task = Mutable<TaskView>;

/** The task an event is about, if any. */
function taskOf(event: RuntimeEvent): TaskView | undefined {
  return "task" in event && typeof event.task === "object" ? event.task : undefined;
}

/** The recorder's semantics, written as plainly as possible. */
class Model {
  readonly live = new Map<number, Mutable<TaskRecord>>();
  readonly ended: Mutable<TaskRecord>[] = [];
  dropped = 0;
  readonly counters = new Map<string, { actorCall: boolean; finished: number; failed: number; cancelled: number; retries: number; runMs: number }>();
  constructor(readonly maxTasks: number) {}

  #count(record: TaskRecord) {
    let found = this.counters.get(record.name);
    if (found === undefined) this.counters.set(record.name, (found = { actorCall: record.actor !== undefined, finished: 0, failed: 0, cancelled: 0, retries: 0, runMs: 0 }));
    return found;
  }

  #end(record: Mutable<TaskRecord>, at: number) {
    record.ended = at;
    this.live.delete(record.id);
    this.ended.push(record);
    if (this.ended.length > this.maxTasks) {
      this.ended.shift();
      this.dropped++;
    }
    return this.#count(record);
  }

  apply(event: RuntimeEvent, at: number): void {
    if (event.kind === "taskSubmitted") {
      const { task } = event;
      const pending = task.deps > 0;
      this.live.set(task.id, {
        ...{ id: task.id, name: task.name, actor: task.actor, state: pending ? "pendingArgs" : "queued", attempts: task.attempts, worker: undefined, parent: event.parent },
        ...{ submitted: at, queued: pending ? undefined : at, assigned: undefined, started: undefined, ended: undefined, error: undefined },
      });
      return;
    }
    const task = taskOf(event);
    if (task === undefined) return;
    const record = this.live.get(task.id);
    if (record === undefined) throw new Error(`the model has no live task ${task.id}`);
    if (event.kind === "taskQueued") Object.assign(record, { state: "queued", queued: at });
    else if (event.kind === "taskAssigned") Object.assign(record, { state: "assigned", assigned: at, worker: event.worker });
    else if (event.kind === "taskRetried") {
      Object.assign(record, { state: "queued", attempts: task.attempts, queued: at, worker: undefined, started: undefined });
      this.#count(record).retries++;
    } else if (event.kind === "taskFinished") {
      Object.assign(record, { state: "finished", started: at - event.runUs / 1000 });
      const counts = this.#end(record, at);
      counts.finished++;
      counts.runMs += event.runUs / 1000;
    } else if (event.kind === "taskFailed") {
      Object.assign(record, { state: "failed", error: event.error, started: record.started ?? record.assigned });
      this.#end(record, at).failed++;
    } else if (event.kind === "taskCancelled") {
      record.state = "cancelled";
      this.#end(record, at).cancelled++;
    }
  }

  /** Every kept record, newest submitted first (the recorder's order). */
  tasks(): TaskRecord[] {
    return [...this.live.values(), ...this.ended].sort((a, b) => b.submitted - a.submitted || b.id - a.id);
  }
}

const error = (message: string): ErrorData => ({ code: "USER", name: "Error", message, stack: undefined });

const command = fc.record({
  slot: fc.integer({ min: 0, max: 9 }),
  step: fc.constantFrom(...STEPS),
  fn: fc.constantFrom("a", "b", "c"),
  actor: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  deps: fc.constantFrom(0, 0, 1),
  parent: fc.boolean(),
  runUs: fc.integer({ min: 0, max: 5000 }),
  worker: fc.integer({ min: 0, max: 2 }),
  dt: fc.integer({ min: 0, max: 3 }),
});

type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

/** Runs random lifecycles; `deliver` hands each event (with its time) to the recorder. */
function drive(commands: Command[], model: Model, deliver: (event: RuntimeEvent, at: number) => void): Task[] {
  const tasks = new Map<number, Task>();
  const states = new Map<number, TaskState>();
  let nextId = 1;
  let now = 1000;
  for (const c of commands) {
    now += c.dt;
    let task = tasks.get(c.slot);
    if (task === undefined || isTerminal(states.get(task.id) as TaskState)) {
      const parent = c.parent && nextId > 1 ? nextId - 1 : undefined;
      task = { id: nextId++, fn: 1, name: c.fn, attempts: 0, options: { numCpus: 1, maxRetries: 3 }, actor: c.actor, method: c.actor === undefined ? undefined : "m", deps: c.deps, observed: undefined };
      tasks.set(c.slot, task);
      states.set(task.id, c.deps > 0 ? "pendingArgs" : "queued");
      const event: RuntimeEvent = { kind: "taskSubmitted", task, parent };
      model.apply(event, now);
      deliver(event, now);
      continue;
    }
    const from = states.get(task.id) as TaskState;
    const to = TARGET[c.step];
    if (from === to || !canTransition(from, to) || (c.step === "retried" && (from === "queued" || from === "pendingArgs"))) continue;
    states.set(task.id, to);
    if (c.step === "retried") task.attempts++;
    const worker: WorkerName = c.actor === undefined ? `task-${c.worker}` : `actor-${c.worker}`;
    const event: RuntimeEvent =
      c.step === "queued"
        ? { kind: "taskQueued", task }
        : c.step === "assigned"
          ? { kind: "taskAssigned", task, worker }
          : c.step === "retried"
            ? { kind: "taskRetried", task, reason: "test" }
            : c.step === "finished"
              ? { kind: "taskFinished", task, runUs: c.runUs }
              : c.step === "failed"
                ? { kind: "taskFailed", task, error: error(`task ${task.id} failed`), runUs: undefined }
                : { kind: "taskCancelled", task, force: false };
    model.apply(event, now);
    deliver(event, now);
  }
  return [...tasks.values()].filter((task) => !isTerminal(states.get(task.id) as TaskState));
}

function probeOf(live: TaskView[]): RuntimeProbe {
  return {
    liveTasks: () => live,
    runningTasks: () => new Map(),
    objects: () => [],
    slots: () => ({ used: 0, total: 2 }),
    store: () => ({ bytesUsed: 0, capacity: 0, numObjects: 0 }),
    node: () => ({ nodeId: "node", address: "127.0.0.1" }),
  };
}

test("the columnar task table answers records, eviction, counters, listings and summaries like a plain model", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.array(command, { maxLength: 150 }), async (maxTasks, commands) => {
      const recorder = new Recorder({ maxTasks, maxLogs: 4, maxDeadActors: 2, maxObjects: 4 });
      const model = new Model(maxTasks);
      const live = drive(commands, model, (event, at) => recorder.emit(event, at));
      assert.equal(recorder.invalidTransitions, 0);
      assert.deepEqual(recorder.tasks(live), model.tasks());
      assert.deepEqual(recorder.ended.newestFirst(), [...model.ended].reverse());
      assert.deepEqual(recorder.ended.newestFirst("failed", 2), [...model.ended].reverse().filter((record) => record.state === "failed").slice(0, 2));
      assert.equal(recorder.ended.dropped, model.dropped);
      assert.deepEqual(new Map([...recorder.functions].map(([name, { actorCall, finished, failed, cancelled, retries, runMs }]) => [name, { actorCall, finished, failed, cancelled, retries, runMs }])), model.counters);
      // Through the state API: listings, a filter, and the summary.
      const state = new LocalState(recorder, probeOf(live), () => "t");
      const listed = await state.listTasks({ limit: 1000 });
      assert.deepEqual(
        listed.items.map((info) => [info.name, info.state, info.attempts, info.worker, info.error?.message]),
        model.tasks().map((record) => [record.name, record.state, record.attempts, record.worker, record.error?.message]),
      );
      const failed = await state.listTasks({ filter: { state: "failed" }, limit: 1000 });
      assert.equal(failed.items.length, model.tasks().filter((record) => record.state === "failed").length);
      const summary = await state.summarizeTasks();
      const totals: Partial<Record<TaskState, number>> = {};
      for (const counts of model.counters.values()) {
        for (const key of ["finished", "failed", "cancelled"] as const) if (counts[key] > 0) totals[key] = (totals[key] ?? 0) + counts[key];
      }
      for (const record of model.live.values()) totals[record.state] = (totals[record.state] ?? 0) + 1;
      assert.deepEqual(summary.totals, totals);
      assert.equal(summary.dropped, model.dropped);
    }),
    params(150),
  );
});

test("the calls every task makes record what the matching events record", () => {
  const strip = (records: TaskRecord[]) => records.map(({ id, name, actor, state, attempts, worker, parent, error }) => ({ id, name, actor, state, attempts, worker, parent, error }));
  fc.assert(
    fc.property(fc.array(command, { maxLength: 100 }), (commands) => {
      const byEvents = new Recorder({ maxTasks: 5, maxLogs: 4, maxDeadActors: 2, maxObjects: 4 });
      const byCalls = new Recorder({ maxTasks: 5, maxLogs: 4, maxDeadActors: 2, maxObjects: 4 });
      const calls = taskEventCalls(byCalls);
      assert.equal(calls, byCalls, "the recorder takes the calls itself");
      // The same lifecycles on two sets of task objects (each recorder keeps its slot in the task).
      const twins = new Map<TaskView, Task>();
      const twin = (task: TaskView): Task => twins.get(task) ?? (twins.set(task, { ...task, observed: undefined }).get(task) as Task);
      const live = drive(commands, new Model(Infinity), (event) => {
        byEvents.emit(event);
        const original = taskOf(event);
        if (original === undefined) return;
        const task = twin(original);
        task.attempts = original.attempts;
        if (event.kind === "taskSubmitted") calls?.taskSubmitted(task, event.parent);
        else if (event.kind === "taskQueued") calls?.taskQueued(task);
        else if (event.kind === "taskAssigned") calls?.taskAssigned(task, event.worker);
        else if (event.kind === "taskFinished") calls?.taskFinished(task, event.runUs);
        else byCalls.emit({ ...event, task } as RuntimeEvent);
      });
      assert.deepEqual(strip(byCalls.tasks(live.map(twin))), strip(byEvents.tasks(live)));
      calls?.objectFreed(7, 100);
      assert.deepEqual([byCalls.freedObjects, byCalls.freedBytes], [1, 100]);
    }),
    params(100),
  );
});

test("a sink that only takes events gets the calls every task makes as events", () => {
  const seen: RuntimeEvent[] = [];
  const sink: EventSink = { emit: (event) => seen.push(event) };
  const calls = taskEventCalls(sink);
  const task: Task = { id: 1, fn: 1, name: "f", attempts: 0, options: { numCpus: 1, maxRetries: 0 }, actor: undefined, method: undefined, deps: 0, observed: undefined };
  calls?.taskSubmitted(task, 3);
  calls?.taskQueued(task);
  calls?.taskAssigned(task, "task-0");
  calls?.taskFinished(task, 12);
  calls?.objectFreed(9, 64);
  assert.deepEqual(seen, [
    { kind: "taskSubmitted", task, parent: 3 },
    { kind: "taskQueued", task },
    { kind: "taskAssigned", task, worker: "task-0" },
    { kind: "taskFinished", task, runUs: 12 },
    { kind: "objectFreed", id: 9, bytes: 64 },
  ]);
  assert.equal(taskEventCalls(undefined), undefined);
});

test("slots freed by evicted tasks are reused without mixing up records", () => {
  const recorder = new Recorder({ maxTasks: 2, maxLogs: 1, maxDeadActors: 1, maxObjects: 1 });
  const tasks: Task[] = [];
  for (let id = 1; id <= 3000; id++) {
    const task: Task = { id, fn: 1, name: `f${id % 7}`, attempts: 0, options: { numCpus: 1, maxRetries: 0 }, actor: undefined, method: undefined, deps: 0, observed: undefined };
    recorder.taskSubmitted(task, undefined);
    tasks.push(task);
    // Keep ten live; end the oldest.
    if (tasks.length > 10) {
      const oldest = tasks.shift() as Task;
      recorder.taskAssigned(oldest, "task-0");
      recorder.taskFinished(oldest, 1);
    }
  }
  assert.equal(recorder.invalidTransitions, 0);
  const records = recorder.tasks(tasks);
  assert.deepEqual(
    records.map((record) => [record.id, record.name, record.state]),
    [...Array.from({ length: 10 }, (_, index) => 3000 - index), 2990, 2989].map((id) => [id, `f${id % 7}`, id > 2990 ? "queued" : "finished"]),
  );
  assert.equal(recorder.ended.dropped, 2990 - 2);
});
