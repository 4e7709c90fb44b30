/**
 * Actor classes travel like any handle: a task can start an actor of a class
 * it was given, use it, and hand the actor back to the driver.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

class Tally {
  n = 0;
  add(by: number): number {
    this.n += by;
    return this.n;
  }
}
const RemoteTally = ray.remote(Tally);

test("a task starts an actor of a class passed to it and returns its handle", async () => {
  const starter = ray.remote(async (Cls: ray.ActorClass<typeof Tally>, by: number) => {
    const tally = Cls.remote();
    await ray.get(tally.add.remote(by));
    return tally;
  });
  const tally = await ray.get(starter.remote(RemoteTally, 5));
  assert.equal(await ray.get(tally.add.remote(1)), 6, "the driver sees the state the task left");
  ray.kill(tally);
  await assert.rejects(ray.get(tally.add.remote(1)), ray.ActorDiedError);
});

test("an actor named inside a task is found by getActor in the driver", async () => {
  const starter = ray.remote((Cls: ray.ActorClass<typeof Tally>) => {
    Cls.options({ name: "tally-from-task" }).remote();
    return true;
  });
  await ray.get(starter.remote(RemoteTally));
  // The creation message precedes the task's result, so the name is registered by now.
  const found = ray.getActor<Tally>("tally-from-task");
  assert.equal(await ray.get(found.add.remote(2)), 2);
  ray.kill(found);
});

test("getActor works inside tasks, for actors named in the driver and in tasks", async () => {
  const named = RemoteTally.options({ name: "tally-for-tasks" }).remote();
  await ray.get(named.add.remote(1));
  const bump = ray.remote(async (name: string, by: number) => {
    const tally = ray.getActor<{ add(by: number): number }>(name);
    return ray.get(tally.add.remote(by));
  });
  assert.equal(await ray.get(bump.remote("tally-for-tasks", 10)), 11);

  const makeNamed = ray.remote(async (Cls: ray.ActorClass<typeof Tally>) => {
    const tally = Cls.options({ name: "tally-made-in-task" }).remote();
    // The name is known in this thread at once.
    return ray.get(ray.getActor<Tally>("tally-made-in-task").add.remote(3)).then(() => tally.actorId);
  });
  const id = await ray.get(makeNamed.remote(RemoteTally));
  assert.equal(ray.getActor("tally-made-in-task").actorId, id);
  assert.equal(await ray.get(bump.remote("tally-made-in-task", 4)), 7, "another task finds it too");

  ray.kill(named);
  await assert.rejects(ray.get(bump.remote("tally-for-tasks", 1)), (error: unknown) => error instanceof ray.RayError && /no live actor/.test(error.message));
  ray.kill(ray.getActor("tally-made-in-task"));
});
