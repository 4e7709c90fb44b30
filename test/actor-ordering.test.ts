/** Actor calls run one at a time, in submission order, even when they are async or wait for arguments. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { release, sharedInts, until } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const Log = ray.remote(
  class Log {
    entries: string[] = [];
    async append(item: number): Promise<number> {
      this.entries.push(`start ${item}`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
      this.entries.push(`end ${item}`);
      return item;
    }
    appendSync(item: number): number {
      this.entries.push(`sync ${item}`);
      return item;
    }
    read(): string[] {
      return this.entries;
    }
  },
);

test("async methods with random delays run one at a time in submission order", async () => {
  const log = Log.remote();
  const refs = Array.from({ length: 30 }, (_, i) => log.append.remote(i));
  assert.deepEqual(await ray.get(refs), Array.from({ length: 30 }, (_, i) => i));
  const expected = Array.from({ length: 30 }, (_, i) => [`start ${i}`, `end ${i}`]).flat();
  assert.deepEqual(await ray.get(log.read.remote()), expected);
  ray.kill(log);
});

test("sync and async calls interleave in submission order", async () => {
  const log = Log.remote();
  const refs: ray.ObjectRef<number>[] = [];
  for (let i = 0; i < 10; i++) refs.push(i % 2 === 0 ? log.append.remote(i) : log.appendSync.remote(i));
  await ray.get(refs);
  const expected = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? [`start ${i}`, `end ${i}`] : [`sync ${i}`])).flat();
  assert.deepEqual(await ray.get(log.read.remote()), expected);
  ray.kill(log);
});

test("a call waiting for a ref argument holds back the calls submitted after it", async () => {
  const flags = await sharedInts();
  const held = ray.remote((f: Int32Array, value: number) => {
    Atomics.wait(f, 0, 0, 60_000); // a guard: released below
    return value;
  });
  const log = Log.remote();
  const first = log.appendSync.remote(0);
  const second = log.appendSync.remote(held.remote(flags, 1));
  const third = log.appendSync.remote(2);
  release(flags);
  // The log shows the order the calls ran in: a later call that overtook the held one would come first.
  assert.deepEqual(await ray.get([first, second, third]), [0, 1, 2]);
  assert.deepEqual(await ray.get(log.read.remote()), ["sync 0", "sync 1", "sync 2"]);
  ray.kill(log);
});

test("calls from the driver and from a task each keep their own order", async () => {
  const log = Log.remote();
  const caller = ray.remote(async (handle: ray.ActorHandle<{ appendSync(item: number): number }>, base: number) => {
    const refs = [0, 1, 2, 3, 4].map((i) => handle.appendSync.remote(base + i));
    return ray.get(refs);
  });
  const fromTask = caller.remote(log, 100);
  const fromDriver = [0, 1, 2, 3, 4].map((i) => log.appendSync.remote(i));
  assert.deepEqual(await ray.get(fromTask), [100, 101, 102, 103, 104]);
  await ray.get(fromDriver);
  const entries = await ray.get(log.read.remote());
  const driverPart = entries.filter((e) => Number(e.split(" ")[1]) < 100);
  const taskPart = entries.filter((e) => Number(e.split(" ")[1]) >= 100);
  assert.deepEqual(driverPart, [0, 1, 2, 3, 4].map((i) => `sync ${i}`));
  assert.deepEqual(taskPart, [100, 101, 102, 103, 104].map((i) => `sync ${i}`));
  ray.kill(log);
});

test("a call arriving while a long synchronous call runs waits for the calls sent before it", async () => {
  const Blocking = ray.remote(
    class Blocking {
      entries: string[] = [];
      /** Marks flags[1], then blocks its thread until flags[0] is set. */
      hold(flags: Int32Array): void {
        Atomics.add(flags, 1, 1);
        Atomics.notify(flags, 1);
        Atomics.wait(flags, 0, 0, 10_000);
        this.entries.push("hold");
      }
      push(entry: string): string[] {
        this.entries.push(entry);
        return this.entries;
      }
    },
    { dedicatedThread: true },
  );
  const actor = Blocking.remote();
  const flags = await sharedInts();
  // One message batch: hold, then a2.
  actor.hold.remote(flags);
  actor.push.remote("a2");
  await until(flags, 1, 1);
  // A later batch, posted while hold blocks the thread, so it is waiting on the port when hold returns.
  const last = actor.push.remote("a3");
  await new Promise((resolve) => setImmediate(resolve));
  release(flags);
  assert.deepEqual(await ray.get(last), ["hold", "a2", "a3"]);
  ray.kill(actor);
});
