/**
 * Local mode: `getRuntimeContext()` names the running task and actor as the
 * state API lists them, and a dropped ref's object is reported freed
 * (`objectFreed`) to the recorder, the object list and the memory view.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import { DriverRuntime } from "../../src/core/runtime/runtime.js";
import type { RuntimeEvent } from "../../src/core/runtime/events.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

before(async () => {
  await ray.init({ numCpus: 2, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
});

const context = ray.remote(() => ray.getRuntimeContext(), { name: "context" });

class Where {
  here(): ray.RuntimeContext {
    return ray.getRuntimeContext();
  }

  async later(): Promise<ray.RuntimeContext> {
    await ray.get(ray.put(1));
    return ray.getRuntimeContext();
  }
}
const WhereActor = ray.remote(Where);

test("getRuntimeContext: a task gets its task id, no actor; the driver gets neither", async () => {
  const ref = context.remote();
  const inside = await ray.get(ref);
  assert.equal(inside.taskId, String(ref.id));
  assert.equal(inside.actorId, undefined);
  const listed = await ray.state.listTasks({ filter: { taskId: ref.id } });
  assert.equal(listed.items[0]?.nodeId, inside.nodeId);
  assert.equal(listed.items[0]?.worker !== undefined && inside.workerId.startsWith(`${process.pid}:`), true);
  const driver = ray.getRuntimeContext();
  assert.equal(driver.taskId, undefined);
  assert.equal(driver.actorId, undefined);
  assert.equal(driver.nodeId, inside.nodeId);
});

test("getRuntimeContext: an actor method gets the actor's id and its call's task id, also after an await", async () => {
  const actor = WhereActor.remote();
  const call = actor.here.remote();
  const here = await ray.get(call);
  const later = await ray.get(actor.later.remote());
  const actors = await ray.state.listActors({ filter: { className: "Where" } });
  const actorId = actors.items[0]?.actorId;
  assert.ok(actorId !== undefined);
  assert.equal(here.actorId, String(actorId));
  assert.equal(later.actorId, String(actorId));
  assert.equal(here.taskId, String(call.id));
  const listed = await ray.state.listTasks({ filter: { taskId: call.id } });
  assert.equal(listed.items[0]?.actorId, actorId);
});

test("objectFreed: a dropped ref's object is reported freed and leaves the object list", async () => {
  const backend = threadState.backend;
  assert.ok(backend instanceof DriverRuntime);
  let ref: ray.ObjectRef<Float64Array> | undefined = ray.put(new Float64Array(2048));
  const id = ref.id;
  const num = ref.num;
  assert.ok((await ray.state.listObjects({ filter: { objectId: id } })).total === 1);
  const before = await ray.state.memorySummary();
  let resolveFreed: (event: RuntimeEvent) => void = () => undefined;
  const freed = new Promise<RuntimeEvent>((resolve) => (resolveFreed = resolve));
  const stop = backend.observe({ emit: (event) => event.kind === "objectFreed" && event.id === num && resolveFreed(event) });
  ref = undefined;
  let seen: RuntimeEvent | undefined;
  void freed.then((event) => (seen = event));
  // Collections let the ref's finalizer run; the event ends the loop.
  for (let round = 0; seen === undefined && round < 500; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  stop();
  assert.deepEqual(seen, { kind: "objectFreed", id: num, bytes: before.objects.find((object) => object.objectId === id)?.bytes });
  assert.equal((await ray.state.listObjects({ filter: { objectId: id } })).total, 0);
  const afterwards = await ray.state.memorySummary();
  assert.ok(afterwards.freed.count > before.freed.count, `freed ${before.freed.count} -> ${afterwards.freed.count}`);
  assert.ok(afterwards.freed.bytes >= before.freed.bytes + 2048 * 8);
});
