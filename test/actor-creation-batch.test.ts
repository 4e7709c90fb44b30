/**
 * Actors created by the thousand: constructor messages leave after the
 * creating turn, in one batch per thread, and handles share a prototype
 * per class. What that must not change: calls made in the creating turn
 * run after their actor's constructor and in submission order, a handle
 * passed to a task works before its actor has started, an actor killed
 * before its constructor left never starts, and methods named like a
 * handle's own parts stay reachable.
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

const Log = ray.remote(
  class Log {
    readonly entries: number[];
    constructor(first: number) {
      this.entries = [first];
    }
    add(value: number): number {
      this.entries.push(value);
      return this.entries.length;
    }
    read(): number[] {
      return this.entries;
    }
  },
);

test("2,000 actors created in one synchronous loop, each called three times in that loop, answer in submission order", async () => {
  const count = 2000;
  const handles = [];
  const lengths: ray.ObjectRef<number>[] = [];
  for (let index = 0; index < count; index++) {
    const log = Log.remote(index);
    for (let step = 1; step <= 3; step++) lengths.push(log.add.remote(index * 10 + step));
    handles.push(log);
  }
  assert.deepEqual(await ray.get(lengths), Array.from({ length: count * 3 }, (_, at) => (at % 3) + 2));
  const entries = await ray.get(handles.map((log) => log.read.remote()));
  for (let index = 0; index < count; index++) assert.deepEqual(entries[index], [index, index * 10 + 1, index * 10 + 2, index * 10 + 3]);
  assert.equal(new Set(handles.map((log) => log.actorId)).size, count, "every handle names its own actor");
  for (const log of handles) ray.kill(log);
});

test("a handle made in the same turn as a task it is passed to works inside the task, and its calls keep their order", async () => {
  const useLog = ray.remote(async (log: ray.ActorHandle<{ add(value: number): number; read(): number[] }>, values: number[]) => {
    const lengths: number[] = [];
    for (const value of values) lengths.push(await ray.get(log.add.remote(value)));
    return { lengths, entries: await ray.get(log.read.remote()) };
  });
  const logs = Array.from({ length: 50 }, (_, index) => Log.remote(index));
  const results = await ray.get(logs.map((log, index) => useLog.remote(log, [index + 100, index + 200])));
  results.forEach((result, index) => {
    assert.deepEqual(result.lengths, [2, 3]);
    assert.deepEqual(result.entries, [index, index + 100, index + 200]);
  });
  for (const log of logs) ray.kill(log);
});

test("an actor killed in the turn that created it never runs its constructor, and its calls fail with ActorDiedError", async () => {
  const Marker = ray.remote(
    class Marker {
      constructor(flags: Int32Array) {
        Atomics.add(flags, 0, 1);
      }
      ping(): string {
        return "pong";
      }
    },
  );
  const flags = new Int32Array(new SharedArrayBuffer(4));
  const killed = Array.from({ length: 20 }, () => Marker.remote(flags));
  const calls = killed.map((marker) => marker.ping.remote());
  for (const marker of killed) ray.kill(marker);
  for (const call of calls) await assert.rejects(ray.get(call), ray.ActorDiedError);
  // One actor made afterwards runs: the kills left the thread working, and the flag counts only it.
  const alive = Marker.remote(flags);
  assert.equal(await ray.get(alive.ping.remote()), "pong");
  assert.equal(Atomics.load(flags, 0), 1);
  ray.kill(alive);
});

test("methods named like the parts of a handle or a method stub are reachable, and a handle's own fields are only its markers", async () => {
  const Odd = ray.remote(
    class Odd {
      actorId(): string {
        return "mine";
      }
      remote(): string {
        return "remote";
      }
      options(): string {
        return "options";
      }
      handle(): string {
        return "handle";
      }
      toString(): string {
        return "text";
      }
      methods(): string {
        return "methods";
      }
    },
  );
  const odd = Odd.remote();
  const answers = await ray.get([odd.actorId.remote(), odd.remote.remote(), odd.options.remote(), odd.handle.remote(), odd.toString.remote(), odd.methods.remote()]);
  assert.deepEqual(answers, ["mine", "remote", "options", "handle", "text", "methods"]);
  assert.equal(odd.remote, odd.remote, "a method's stub is made once per handle");
  assert.equal(odd.actorName, "Odd");
  assert.equal(Object.keys(odd).length, 2, "only the two markers are own enumerable fields");
  // Another handle of the same class has its own stubs, bound to its own actor.
  const other = Odd.remote();
  assert.notEqual(other.remote, odd.remote);
  assert.equal(await ray.get(other.remote.remote()), "remote");
  ray.kill(odd);
  await assert.rejects(ray.get(odd.handle.remote()), ray.ActorDiedError);
  assert.equal(await ray.get(other.handle.remote()), "handle", "killing one actor leaves the other of its class alive");
  ray.kill(other);
});

test("a handle stored in the object store comes back as a working handle of the same actor", async () => {
  const log = Log.remote(7);
  const [copy] = await ray.get(ray.put([log]));
  assert.ok(copy !== undefined);
  assert.equal(copy.actorId, log.actorId);
  assert.equal(await ray.get(copy.add.remote(8)), 2);
  assert.deepEqual(await ray.get(log.read.remote()), [7, 8]);
  ray.kill(log);
});
