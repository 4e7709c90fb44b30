/**
 * The scheduling parts together (dependency tracking, the ready queue and
 * the micro-batching policy, over a real object store, with fake workers)
 * against a model, with fast-check's `fc.commands`. Commands: submit a task
 * (ref arguments, CPUs, a function of short, moderate or long duration),
 * make an object, resolve or fail it, let a worker finish what it holds,
 * cancel a task, kill a worker (its tasks are retried first). After every
 * command:
 * - tasks are placed exactly in the order they became ready, retried ones
 *   first (FIFO), and only once every argument has a value; cancelled tasks
 *   and tasks whose argument failed are never placed;
 * - the CPUs held never exceed the total, a worker holds side tasks worth
 *   one CPU at most, and a multi-CPU task has its worker to itself;
 * - when every worker is idle, no ready task waits;
 * - every object is pending, a value or an error exactly as the model says.
 * At the end, with every object resolved and the workers left to finish,
 * every task that was not cancelled has run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { ErrorData } from "../src/core/api/errors.js";
import { refId, type Encoded } from "../src/core/protocol/protocol.js";
import { Dependencies } from "../src/core/scheduling/dependencies.js";
import { Scheduler, TaskWorker, type Task } from "../src/core/scheduling/scheduler.js";
import { ObjectStore } from "../src/core/store/object-store.js";
import { fakeTask, FakeLink } from "../test/support/fake-peers.js";
import { commandSettings, params } from "./fc-config.js";

/** Budget units per CPU, as the scheduler counts them. */
const UNITS = 10_000;
/** Durations (us) the workers report for functions 1 (batched), 2 (queued behind another) and 3 (one at a time). */
const DURATION_US = [0, 10, 5_000, 50_000] as const;
const FAILED: ErrorData = { code: "RAY_ERROR", name: "RayError", message: "failed", stack: undefined };

type ObjectState = "pending" | "ok" | "failed";

interface ModelTask {
  readonly id: number;
  readonly units: number;
  /** Distinct ids of its ref arguments. */
  readonly deps: readonly number[];
  state: "waiting" | "queued" | "placed" | "done";
  cancelled: boolean;
}

interface Model {
  readonly numCpus: number;
  nextId: number;
  readonly objects: Map<number, ObjectState>;
  /** Objects made by `makeObject`: only these are resolved or failed by hand. */
  readonly external: number[];
  readonly tasks: Map<number, ModelTask>;
  /** Ready tasks not yet placed, in the order they must be placed. */
  queue: number[];
  /** Task ids each worker holds, in the order they were placed. */
  readonly workers: number[][];
}

/** The runtime's side: the real parts and the glue the driver puts around them. */
class Real {
  readonly store = new ObjectStore(1 << 24, () => undefined);
  readonly scheduler: Scheduler;
  readonly dependencies: Dependencies;
  readonly tasks = new Map<number, Task>();
  /** Placements since the last check: [worker slot, task id]. */
  placed: [number, number][] = [];

  constructor(numCpus: number) {
    this.scheduler = new Scheduler(numCpus, (worker, task) => {
      assert.ok(task.args.every((arg) => refId(arg) === undefined), `task ${String(task.id)} placed with an argument still a ref`);
      this.placed.push([this.scheduler.workers.indexOf(worker), task.id]);
    });
    for (let i = 0; i < numCpus; i++) this.scheduler.workers.push(new TaskWorker(new FakeLink(i)));
    this.dependencies = new Dependencies(this.store, (task) => this.ready(task));
  }

  /** As TaskLifecycle.ready: a cancelled task is dropped, a failed argument fails it, else it is queued. */
  ready(task: Task): void {
    if (task.cancelled !== "no") return;
    if (task.depError !== undefined) this.store.settle(task.id, { ok: false, error: task.depError });
    else this.scheduler.queue.push(task);
  }
}

type SchedulerCommand = fc.Command<Model, Real>;

function settleModel(model: Model, id: number, outcome: "ok" | "failed"): void {
  model.objects.set(id, outcome);
  for (const task of [...model.tasks.values()].sort((a, b) => a.id - b.id)) {
    if (task.state === "waiting" && !task.cancelled && task.deps.includes(id)) readyIfSettled(model, task);
  }
}

function readyIfSettled(model: Model, task: ModelTask): void {
  const states = task.deps.map((dep) => model.objects.get(dep));
  if (states.includes("pending")) return;
  if (states.includes("failed")) {
    task.state = "done";
    settleModel(model, task.id, "failed");
  } else {
    task.state = "queued";
    model.queue.push(task.id);
  }
}

/** Dispatches, then checks the placements and every invariant against the model. */
function dispatchAndCheck(model: Model, real: Real): void {
  real.scheduler.dispatch();
  const placed = real.placed;
  real.placed = [];
  assert.deepEqual(
    placed.map(([, id]) => id),
    model.queue.slice(0, placed.length),
    "tasks are placed in the order they became ready",
  );
  model.queue = model.queue.slice(placed.length);
  for (const [worker, id] of placed) {
    (model.tasks.get(id) as ModelTask).state = "placed";
    (model.workers[worker] as number[]).push(id);
  }

  let used = 0;
  for (const held of model.workers) {
    const tasks = held.map((id) => model.tasks.get(id) as ModelTask);
    const whole = tasks.filter((task) => task.units >= UNITS);
    const side = tasks.filter((task) => task.units < UNITS).reduce((sum, task) => sum + task.units, 0);
    if (whole.some((task) => task.units > UNITS)) assert.equal(whole.length, 1, "a multi-CPU task has its worker to itself");
    assert.ok(side <= UNITS, `a worker holds side tasks worth ${String(side / UNITS)} CPUs`);
    used += Math.max(0, ...whole.map((task) => task.units)) + side;
  }
  assert.ok(used <= model.numCpus * UNITS, `${String(used / UNITS)} CPUs held of ${String(model.numCpus)}`);
  assert.equal(real.scheduler.usedSlots(), used / UNITS, "the policy counts the CPUs the model does");

  // Workers with nothing to do leave nothing ready waiting. (A task placeable
  // now may wait for the next dispatch: one placed behind a busy worker's
  // batch can uncover a head that fits, and the next finished task places it.)
  if (model.workers.every((held) => held.length === 0)) assert.deepEqual(model.queue, [], "every worker is idle, yet ready tasks wait");

  for (const [id, state] of model.objects) {
    const settled = real.store.peek(id);
    assert.equal(settled === undefined ? "pending" : settled.ok ? "ok" : "failed", state, `object ${String(id)}`);
  }
}

class Submit implements SchedulerCommand {
  constructor(
    readonly picks: readonly number[],
    readonly cpus: number,
    readonly fn: 1 | 2 | 3,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const ids = [...model.objects.keys()];
    const args = ids.length === 0 ? [] : this.picks.map((pick) => ids[pick % ids.length] as number);
    const cpus = Math.min(this.cpus, model.numCpus);
    const id = model.nextId++;
    const encoded: Encoded[] = args.map((dep) => ({ t: "r", id: dep }));
    const task = fakeTask(id, cpus, this.fn, encoded);
    real.tasks.set(id, task);
    real.store.expect(id, 1);
    real.dependencies.resolve(task, task.args);
    if (task.deps === 0) real.ready(task);
    const modelTask: ModelTask = { id, units: Math.round(cpus * UNITS), deps: [...new Set(args)], state: "waiting", cancelled: false };
    model.tasks.set(id, modelTask);
    model.objects.set(id, "pending");
    readyIfSettled(model, modelTask);
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return `submit(fn ${String(this.fn)}, ${String(this.cpus)} CPUs, args #${this.picks.join(" #")})`;
  }
}

class MakeObject implements SchedulerCommand {
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const id = model.nextId++;
    real.store.expect(id, 1);
    model.objects.set(id, "pending");
    model.external.push(id);
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return "makeObject";
  }
}

class SettleObject implements SchedulerCommand {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check(model: Readonly<Model>): boolean {
    return model.external.some((id) => model.objects.get(id) === "pending");
  }
  run(model: Model, real: Real): void {
    const pending = model.external.filter((id) => model.objects.get(id) === "pending");
    const id = pending[this.pick % pending.length] as number;
    real.store.settle(id, this.ok ? { ok: true, value: `value ${String(id)}` } : { ok: false, error: FAILED });
    settleModel(model, id, this.ok ? "ok" : "failed");
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return `${this.ok ? "resolve" : "fail"}(#${String(this.pick)})`;
  }
}

/** A worker reports every task it holds finished. */
class WorkerFree implements SchedulerCommand {
  constructor(readonly worker: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const slot = this.worker % model.numCpus;
    const worker = real.scheduler.workers[slot] as TaskWorker;
    for (const task of [...worker.assigned.values()]) {
      real.scheduler.release(task);
      real.scheduler.record(task.fn, DURATION_US[task.fn as 1 | 2 | 3]);
      if (task.cancelled === "no") real.store.settle(task.id, { ok: true, value: task.id });
    }
    const held = model.workers[slot] as number[];
    model.workers[slot] = [];
    for (const id of held) {
      const task = model.tasks.get(id) as ModelTask;
      task.state = "done";
      if (!task.cancelled) settleModel(model, id, "ok");
    }
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return `workerFree(${String(this.worker)})`;
  }
}

/** As TaskLifecycle.cancel: the result fails at once; a placed task stays on its worker until it reports. */
class Cancel implements SchedulerCommand {
  constructor(readonly pick: number) {}
  check(model: Readonly<Model>): boolean {
    return [...model.tasks.values()].some((task) => task.state !== "done" && !task.cancelled);
  }
  run(model: Model, real: Real): void {
    const live = [...model.tasks.values()].filter((task) => task.state !== "done" && !task.cancelled);
    const task = live[this.pick % live.length] as ModelTask;
    (real.tasks.get(task.id) as Task).cancelled = "soft";
    real.store.settle(task.id, { ok: false, error: FAILED });
    task.cancelled = true;
    if (task.state === "queued") model.queue = model.queue.filter((id) => id !== task.id);
    if (task.state !== "placed") task.state = "done";
    settleModel(model, task.id, "failed");
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return `cancel(#${String(this.pick)})`;
  }
}

/** As the driver's worker-failure path: a fresh thread takes the slot and the dead one's live tasks go back to the front of the queue. */
class WorkerDies implements SchedulerCommand {
  constructor(readonly worker: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const slot = this.worker % model.numCpus;
    const worker = real.scheduler.workers[slot] as TaskWorker;
    worker.link.terminate();
    const tasks = [...worker.assigned.values()];
    worker.reset();
    worker.link = new FakeLink(slot);
    for (const task of tasks.reverse()) {
      task.worker = undefined;
      if (task.cancelled === "no") real.scheduler.queue.unshift(task);
    }
    const retried: number[] = [];
    for (const id of model.workers[slot] as number[]) {
      const task = model.tasks.get(id) as ModelTask;
      if (task.cancelled) task.state = "done";
      else {
        task.state = "queued";
        retried.push(id);
      }
    }
    model.workers[slot] = [];
    model.queue = [...retried, ...model.queue];
    dispatchAndCheck(model, real);
  }
  toString(): string {
    return `workerDies(${String(this.worker)})`;
  }
}

const submit = fc
  .tuple(fc.array(fc.nat(), { maxLength: 3 }), fc.constantFrom(0, 0.25, 0.5, 1, 1, 1, 2, 3), fc.constantFrom(1 as const, 1 as const, 2 as const, 3 as const))
  .map(([picks, cpus, fn]) => new Submit(picks, cpus, fn));

// Listed more than once: submits (to build queues), and finishing workers (which teaches the policy durations).
const commands = [
  submit,
  submit,
  submit,
  fc.constant(new MakeObject()),
  fc.tuple(fc.nat(), fc.boolean()).map(([pick, ok]) => new SettleObject(pick, ok || pick % 3 !== 0)),
  fc.nat(3).map((worker) => new WorkerFree(worker)),
  fc.nat(3).map((worker) => new WorkerFree(worker)),
  fc.nat().map((pick) => new Cancel(pick)),
  fc.nat(3).map((worker) => new WorkerDies(worker)),
];

test("dependencies, queue and policy place ready tasks in order, within the budget, never a cancelled or failed one (model-based)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.commands(commands, commandSettings(80)), (numCpus, sequence) => {
      const model: Model = { numCpus, nextId: 1, objects: new Map(), external: [], tasks: new Map(), queue: [], workers: Array.from({ length: numCpus }, () => []) };
      const real = new Real(numCpus);
      fc.modelRun(() => ({ model, real }), sequence);

      // Drain: every object resolved, then the workers finish until nothing is left to place.
      while (model.external.some((id) => model.objects.get(id) === "pending")) new SettleObject(0, true).run(model, real);
      for (let round = 0; round < 10 * model.tasks.size + 1 && model.workers.some((held) => held.length > 0); round++) {
        for (let worker = 0; worker < numCpus; worker++) new WorkerFree(worker).run(model, real);
      }
      assert.deepEqual(model.queue, [], "nothing is left queued");
      for (const task of model.tasks.values()) {
        assert.equal(task.state, "done", `task ${String(task.id)} ran or was dropped`);
        const outcome = model.objects.get(task.id);
        if (!task.cancelled && !task.deps.some((dep) => model.objects.get(dep) === "failed")) assert.equal(outcome, "ok", `task ${String(task.id)} ran`);
      }
    }),
    params(300),
  );
});
