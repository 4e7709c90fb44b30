/**
 * `ray.state` on real workloads: tasks that finish, fail, retry, crash their
 * worker, get cancelled or run nested; actors that are killed; objects held
 * by the driver and pinned by pending tasks; log lines tied to their task.
 * Every record must follow the task and actor state machines.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import { DriverRuntime } from "../../src/core/runtime/runtime.js";
import { LocalObservation } from "../../src/dashboard/observation.js";
import { held, release, sharedInts, until } from "../support/shared.js";
import { double, fails, flaky } from "./workload.js";

before(async () => {
  await ray.init({ numCpus: 2, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
});

function recorder() {
  const backend = threadState.backend;
  assert.ok(backend instanceof DriverRuntime);
  assert.ok(backend.observation instanceof LocalObservation);
  return backend.observation.recorder;
}

const crashes = ray.remote(() => {
  process.exit(1);
});
const talks = ray.remote(
  (x: number) => {
    console.log(`talking about ${x}`);
    return x;
  },
  { name: "talks" },
);

test("finished and failed tasks are listed with state, worker, times and error", async () => {
  const refs = Array.from({ length: 20 }, (_, i) => double.remote(i));
  assert.deepEqual(await ray.get(refs), Array.from({ length: 20 }, (_, i) => i * 2));
  const failing = fails.remote(7);
  await assert.rejects(ray.get(failing), ray.RayTaskError);

  const failed = await ray.state.listTasks({ filter: { taskId: failing.id } });
  assert.equal(failed.total, 1);
  const task = failed.items[0];
  assert.ok(task !== undefined);
  assert.equal(task.state, "failed");
  assert.equal(task.name, "fails");
  assert.equal(task.error?.code, "RAY_TASK_ERROR");
  assert.match(task.error?.message ?? "", /bad input 7/);
  assert.match(task.worker ?? "", /^task-\d$/);
  assert.ok(task.submittedAt <= (task.assignedAt ?? 0) && (task.assignedAt ?? 0) <= (task.endedAt ?? 0));

  const doubled = await ray.state.listTasks({ filter: { name: "double", state: "finished" }, limit: 5 });
  assert.equal(doubled.total, 20);
  assert.equal(doubled.items.length, 5);
  const ids = new Set(refs.map((ref) => ref.id));
  for (const item of doubled.items) {
    assert.ok(ids.has(item.taskId));
    assert.ok(item.startedAt !== undefined && item.endedAt !== undefined && item.startedAt <= item.endedAt);
  }
  // Newest first, and offset pages through the rest.
  const next = await ray.state.listTasks({ filter: { name: "double" }, limit: 5, offset: 5 });
  assert.ok((next.items[0]?.submittedAt ?? Infinity) <= (doubled.items[4]?.submittedAt ?? 0));

  const summary = await ray.state.summarizeTasks();
  const byName = new Map(summary.byFunction.map((entry) => [entry.name, entry]));
  assert.equal(byName.get("double")?.states.finished, 20);
  assert.equal(byName.get("fails")?.states.failed, 1);
  assert.ok((byName.get("double")?.meanRunMs ?? -1) >= 0);
  assert.equal(recorder().invalidTransitions, 0);
});

test("a task retried after an exception shows its retry; a crash retry shows the worker's death", { timeout: 60_000 }, async () => {
  const flags = await sharedInts();
  const ref = flaky.options({ retryExceptions: true, maxRetries: 1 }).remote(flags);
  assert.equal(await ray.get(ref), "second attempt");
  const [task] = (await ray.state.listTasks({ filter: { taskId: ref.id } })).items;
  assert.equal(task?.state, "finished");
  assert.equal(task?.attempts, 1);
  const summary = await ray.state.summarizeTasks();
  assert.equal(summary.byFunction.find((entry) => entry.name === "flaky")?.retries, 1);

  const crash = crashes.options({ maxRetries: 1 }).remote();
  await assert.rejects(ray.get(crash, { timeout: 30_000 }), ray.WorkerCrashedError);
  const [crashed] = (await ray.state.listTasks({ filter: { taskId: crash.id } })).items;
  assert.equal(crashed?.state, "failed");
  assert.equal(crashed?.attempts, 1);
  assert.equal(crashed?.error?.code, "WORKER_CRASHED");
  const workers = await ray.state.listWorkers();
  assert.ok(workers.items.filter((worker) => worker.type === "task" && worker.alive).length === 2, "the pool healed");
  assert.equal(recorder().invalidTransitions, 0);
});

test("running, queued and cancelled tasks, and the objects they pin", { timeout: 60_000 }, async () => {
  const flags = await sharedInts();
  const busy = [held.remote(flags, 1), held.remote(flags, 2)];
  await until(flags, 1, 2);
  const running = await ray.state.listTasks({ filter: { state: "running" } });
  assert.deepEqual(new Set(running.items.map((task) => task.taskId)), new Set(busy.map((ref) => ref.id)));
  const nodes = await ray.state.listNodes();
  assert.equal(nodes.items[0]?.cpusUsed, 2);
  assert.equal(nodes.items[0]?.cpus, 2);

  const big = ray.put(new Float64Array(1 << 17)); // 1 MiB
  const waiting = double.remote(big as unknown as number);
  const [queued] = (await ray.state.listTasks({ filter: { taskId: waiting.id } })).items;
  assert.equal(queued?.state, "queued");
  const memory = await ray.state.memorySummary();
  const object = memory.objects.find((entry) => entry.objectId === big.id);
  assert.ok(object !== undefined, "the put object is listed");
  assert.equal(object.owner, "driver");
  assert.ok(object.bytes >= 1 << 20);
  assert.deepEqual(object.pinnedBy, [waiting.id]);
  assert.equal(object.referenceType, "usedByPendingTask");
  assert.equal(memory.objects[0]?.objectId, big.id, "largest first");

  ray.cancel(waiting);
  await assert.rejects(ray.get(waiting), ray.TaskCancelledError);
  const [cancelled] = (await ray.state.listTasks({ filter: { taskId: waiting.id } })).items;
  assert.equal(cancelled?.state, "cancelled");

  release(flags);
  assert.deepEqual(await ray.get(busy), [1, 2]);
  const after = (await ray.state.listObjects({ filter: { objectId: big.id } })).items[0];
  assert.equal(after?.referenceType, "localReference");
  assert.equal(recorder().invalidTransitions, 0);
});

test("a task submitted inside a task names its parent; logs carry their task", async () => {
  const parent = ray.remote(async (x: number) => {
    const child = ray.remote((y: number) => y + 1, { name: "child" });
    return (await ray.get(child.remote(x))) * 10;
  });
  const ref = parent.remote(4);
  assert.equal(await ray.get(ref), 50);
  const children = await ray.state.listTasks({ filter: { parentTaskId: ref.id } });
  assert.equal(children.total, 1);
  assert.equal(children.items[0]?.state, "finished");
  const detail = await ray.state.getTask(ref.id);
  assert.equal(detail?.children.length, 1);

  const talking = [talks.remote(1), talks.remote(2), talks.remote(3)];
  await ray.get(talking);
  for (const [index, talk] of talking.entries()) {
    const logs = (await ray.state.getTask(talk.id))?.logs ?? [];
    assert.equal(logs.length, 1);
    assert.match(logs[0]?.text ?? "", new RegExp(`talking about ${index + 1}$`));
  }
  const lines = await ray.state.listLogs({ limit: 3 });
  assert.equal(lines.items.length, 3);
});

test("actors: alive, then dead with the cause; their calls are listed", async () => {
  const Counter = ray.remote(
    class Counter {
      n = 0;
      inc(): number {
        return ++this.n;
      }
    },
  );
  const counter = Counter.remote();
  assert.equal(await ray.get(counter.inc.remote()), 1);
  const [alive] = (await ray.state.listActors({ filter: { className: "Counter" } })).items;
  assert.equal(alive?.state, "alive");
  assert.equal(alive?.actorId, counter.actorId, "the state API names an actor by its handle's id");
  const calls = await ray.state.listTasks({ filter: { actorId: counter.actorId } });
  assert.equal(calls.total, 1);
  assert.equal(calls.items[0]?.type, "actorCall");
  assert.equal(calls.items[0]?.name, "Counter.inc");
  ray.kill(counter);
  await assert.rejects(ray.get(counter.inc.remote()), ray.ActorDiedError);
  const [dead] = (await ray.state.listActors({ filter: { actorId: counter.actorId } })).items;
  assert.equal(dead?.state, "dead");
  assert.match(dead?.deathCause ?? "", /kill/);
  assert.equal(recorder().invalidTransitions, 0);
});

test("bad options name the option", async () => {
  await assert.rejects(async () => ray.state.listTasks({ limit: 0 }), /`limit`.*got 0/);
  await assert.rejects(async () => ray.state.listTasks({ filter: { state: [] as unknown as string } }), /`filter.state`/);
  await assert.rejects(async () => ray.state.listTasks({ colour: 1 } as never), /Unknown option `colour`/);
});

test("a filter on a field the list does not have is refused instead of matching nothing", async () => {
  await assert.rejects(async () => ray.state.listTasks({ filter: { nmae: "double" } }), {
    name: "TypeError",
    message: /^Unknown filter field `nmae` of tasks; expected one of `taskId`, `name`, /,
  });
  await assert.rejects(async () => ray.state.listActors({ filter: { classname: "A" } }), /Unknown filter field `classname` of actors/);
  await assert.rejects(async () => ray.state.listLogs({ filter: { line: "x" } }), /Unknown filter field `line` of logs/);
  // A value a field never takes (Ray's upper-case task states, say) is refused too, with the values it takes.
  await assert.rejects(async () => ray.state.listTasks({ filter: { state: "FINISHED" } }), {
    name: "TypeError",
    message: /^Expected filter `state` of tasks to be one of `pendingArgs`, `queued`, `assigned`, `running`, `finished`, `failed`, `cancelled`, got "FINISHED"$/,
  });
  await assert.rejects(async () => ray.state.listActors({ filter: { state: "running" } }), /Expected filter `state` of actors to be one of `pending`, `alive`, `restarting`, `dead`, got "running"/);
  await assert.rejects(async () => ray.state.listObjects({ filter: { status: "done" } }), /Expected filter `status` of objects to be one of `pending`, `ready`, `error`, got "done"/);
  await assert.rejects(async () => ray.state.listNodes({ filter: { alive: "yes" } }), /Expected filter `alive` of nodes to be one of `true`, `false`, got "yes"/);
  assert.equal((await ray.state.listTasks({ filter: { state: "finished", type: "task" } })).items.every((task) => task.state === "finished"), true);
  await assert.rejects(async () => ray.state.listTasks({ filter: { taskId: Number.NaN } }), /Expected `filter.taskId` to be a string, a finite number or a boolean, got NaN/);
  const ref = double.remote(21);
  await ray.get(ref);
  const listed = await ray.state.listTasks({ filter: { taskId: String(ref.id), type: "task" } });
  assert.deepEqual(listed.items.map((task) => [task.taskId, task.state]), [[ref.id, "finished"]]);
});
