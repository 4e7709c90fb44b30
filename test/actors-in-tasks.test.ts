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
