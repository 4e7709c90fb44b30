/**
 * Actors: `remote(class)`, state on a dedicated worker, handles passed to
 * tasks and to other actors, `kill`, `getActor(name)`, `maxRestarts`,
 * `maxTaskRetries`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { sharedInts } from "./support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const Counter = ray.remote(
  class Counter {
    n: number;
    constructor(start = 0) {
      this.n = start;
    }
    increment(by = 1): number {
      this.n += by;
      return this.n;
    }
    read(): number {
      return this.n;
    }
    fail(): never {
      throw new RangeError("counter refused");
    }
    crash(flags: Int32Array): number {
      Atomics.add(flags, 0, 1);
      process.exit(1);
    }
    crashOnce(flags: Int32Array): number {
      if (Atomics.add(flags, 0, 1) === 0) process.exit(1);
      return this.n;
    }
  },
);

type CounterHandle = ray.ActorHandle<InstanceType<typeof CounterClass>>;
declare const CounterClass: new (start?: number) => { increment(by?: number): number; read(): number };

async function assertDied(ref: ray.ObjectRef<unknown>): Promise<void> {
  await assert.rejects(ray.get(ref, { timeout: 60_000 }), (error: unknown) => {
    assert.ok(error instanceof ray.ActorDiedError, `expected ActorDiedError, got ${String(error)}`);
    assert.equal(error.code, "ACTOR_DIED");
    return true;
  });
}

test("an actor keeps its state between calls; constructor arguments work, also as refs", async () => {
  const c = Counter.remote(5);
  c.increment.remote();
  c.increment.remote(2);
  assert.equal(await ray.get(c.read.remote()), 8);
  const fromRef = Counter.remote(ray.put(100));
  assert.equal(await ray.get(fromRef.increment.remote(1)), 101);
  const square = ray.remote((x: number) => x * x);
  const fromTask = Counter.remote(square.remote(4));
  assert.equal(await ray.get(fromTask.read.remote()), 16);
  for (const a of [c, fromRef, fromTask]) ray.kill(a);
});

test("method arguments can be refs, resolved before the call", async () => {
  const c = Counter.remote();
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(c.increment.remote(square.remote(3))), 9);
  assert.equal(await ray.get(c.increment.remote(ray.put(1))), 10);
  ray.kill(c);
});

test("each actor has its own state", async () => {
  const a = Counter.remote();
  const b = Counter.remote();
  a.increment.remote(1);
  b.increment.remote(10);
  assert.deepEqual(await ray.get([a.read.remote(), b.read.remote()]), [1, 10]);
  ray.kill(a);
  ray.kill(b);
});

test("a method that throws rejects with RayTaskError; the actor keeps working", async () => {
  const c = Counter.remote(1);
  await assert.rejects(ray.get(c.fail.remote()), (error: unknown) => {
    assert.ok(error instanceof ray.RayTaskError);
    assert.ok(error.cause instanceof RangeError);
    assert.match(error.message, /counter refused/);
    assert.match(error.taskName, /fail/);
    return true;
  });
  assert.equal(await ray.get(c.increment.remote()), 2);
  ray.kill(c);
});

test("a handle can be passed to a task, which calls the actor", async () => {
  const c = Counter.remote();
  const bump = ray.remote(async (counter: CounterHandle, times: number) => {
    for (let i = 0; i < times; i++) counter.increment.remote();
    return ray.get(counter.read.remote());
  });
  assert.equal(await ray.get(bump.remote(c as unknown as CounterHandle, 3)), 3);
  assert.equal(await ray.get(c.read.remote()), 3);
  ray.kill(c);
});

test("a handle can be passed to another actor, in its constructor or a method", async () => {
  const c = Counter.remote();
  const Forwarder = ray.remote(
    class Forwarder {
      target: CounterHandle | undefined;
      constructor(target?: CounterHandle) {
        this.target = target;
      }
      setTarget(target: CounterHandle): void {
        this.target = target;
      }
      async forward(by: number): Promise<number> {
        if (this.target === undefined) throw new Error("no target");
        return ray.get(this.target.increment.remote(by));
      }
    },
  );
  const viaCtor = Forwarder.remote(c);
  assert.equal(await ray.get(viaCtor.forward.remote(5)), 5);
  const viaMethod = Forwarder.remote();
  await ray.get(viaMethod.setTarget.remote(c as unknown as CounterHandle));
  assert.equal(await ray.get(viaMethod.forward.remote(2)), 7);
  assert.equal(await ray.get(c.read.remote()), 7);
  for (const a of [c, viaCtor, viaMethod]) ray.kill(a);
});

test("kill: pending and later calls reject with ActorDiedError", async () => {
  // Its own thread: a multiplexed actor blocked in a synchronous call cannot be stopped without stopping its neighbours.
  const Slow = ray.remote(
    class Slow {
      wait(flags: Int32Array): number {
        Atomics.wait(flags, 0, 0, 10_000);
        return 1;
      }
      ping(): string {
        return "pong";
      }
    },
    { dedicatedThread: true },
  );
  const flags = await sharedInts();
  const s = Slow.remote();
  assert.equal(await ray.get(s.ping.remote()), "pong");
  const running = s.wait.remote(flags);
  const queued = s.ping.remote();
  ray.kill(s);
  await assertDied(running);
  await assertDied(queued);
  await assertDied(s.ping.remote());
  ray.kill(s); // killing twice is harmless
  assert.throws(() => ray.kill(42 as unknown as ray.ActorHandle<unknown>), TypeError);
  const square = ray.remote((x: number) => x * x);
  assert.equal(await ray.get(square.remote(3)), 9);
});

test("getActor(name) finds a named actor; unknown names throw; names are unique", async () => {
  const named = Counter.options({ name: "the-counter" }).remote(3);
  const found = ray.getActor<InstanceType<typeof CounterClass>>("the-counter");
  found.increment.remote(1);
  assert.equal(await ray.get(named.read.remote()), 4);
  assert.equal(await ray.get(found.read.remote()), 4);
  assert.throws(() => ray.getActor("no-such-actor"), (error: unknown) => error instanceof ray.RayError && /no-such-actor/.test(error.message));
  assert.throws(() => Counter.options({ name: "the-counter" }).remote(), /the-counter/);
  ray.kill(named);
  assert.throws(() => ray.getActor("the-counter"), ray.RayError);
  // The name is free again once the actor is dead.
  const again = Counter.options({ name: "the-counter" }).remote(9);
  assert.equal(await ray.get(ray.getActor<InstanceType<typeof CounterClass>>("the-counter").read.remote()), 9);
  ray.kill(again);
});

test("a constructor that throws makes the actor dead", async () => {
  const Broken = ray.remote(
    class Broken {
      constructor() {
        throw new Error("cannot build");
      }
      ping(): string {
        return "pong";
      }
    },
  );
  const b = Broken.remote();
  await assert.rejects(ray.get(b.ping.remote(), { timeout: 60_000 }), (error: unknown) => {
    assert.ok(error instanceof ray.ActorDiedError, String(error));
    assert.match(error.message, /cannot build/);
    return true;
  });
});

test("without maxRestarts, an actor whose worker dies is dead", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const c = Counter.remote();
  await ray.get(c.increment.remote());
  const crash = c.crash.remote(flags);
  await assert.rejects(ray.get(crash, { timeout: 60_000 }), ray.RayError);
  await assertDied(c.read.remote());
});

test("maxRestarts: the actor restarts on a fresh worker with fresh state", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const c = Counter.options({ maxRestarts: 1 }).remote(10);
  assert.equal(await ray.get(c.increment.remote(5)), 15);
  const crash = c.crash.remote(flags);
  await assert.rejects(ray.get(crash, { timeout: 60_000 }), (error: unknown) => error instanceof ray.WorkerCrashedError || error instanceof ray.ActorDiedError);
  // Restarted: the constructor ran again, state is fresh.
  assert.equal(await ray.get(c.read.remote(), { timeout: 60_000 }), 10);
  assert.equal(await ray.get(c.increment.remote(1)), 11);
  // The second crash exceeds maxRestarts: dead for good.
  await assert.rejects(ray.get(c.crash.remote(flags), { timeout: 60_000 }), ray.RayError);
  await assertDied(c.read.remote());
  assert.equal(Atomics.load(flags, 0), 2);
});

test("maxTaskRetries: a call interrupted by a crash is retried on the restarted actor", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const c = Counter.options({ maxRestarts: 1, maxTaskRetries: 1 }).remote(7);
  assert.equal(await ray.get(c.crashOnce.remote(flags), { timeout: 60_000 }), 7);
  assert.equal(Atomics.load(flags, 0), 2);
  ray.kill(c);
});

test("without maxTaskRetries the interrupted call fails but later calls run on the restarted actor", { timeout: 240_000 }, async () => {
  const flags = await sharedInts();
  const c = Counter.options({ maxRestarts: 1 }).remote(7);
  const crash = c.crashOnce.remote(flags);
  const after = c.read.remote();
  await assert.rejects(ray.get(crash, { timeout: 60_000 }), ray.RayError);
  assert.equal(await ray.get(after, { timeout: 60_000 }), 7);
  assert.equal(Atomics.load(flags, 0), 1);
  ray.kill(c);
});

test("actor options are validated", () => {
  assert.throws(() => Counter.options({ maxRestarts: -2 }), /maxRestarts/);
  assert.throws(() => Counter.options({ maxTaskRetries: 0.5 }), /maxTaskRetries/);
  assert.throws(() => Counter.options({ name: "" }), /name/);
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- an actor class with no methods on purpose
  assert.throws(() => ray.remote(class {}, { numCpus: 1 } as unknown as ray.ActorOptions), /numCpus/);
});

test("tasks still run after all the actor work", async () => {
  const square = ray.remote((x: number) => x * x);
  assert.deepEqual(await ray.get([2, 3].map((x) => square.remote(x))), [4, 9]);
});
