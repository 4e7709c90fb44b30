/**
 * The object store against a model, with fast-check's `fc.commands`: puts
 * (some too big for the room left), objects expected and settled later, refs
 * added and dropped, waiters on pending objects. After every command the
 * store holds exactly the objects the model says are alive (a count above
 * zero, or still pending), its bytes are the sum of their sizes, every
 * object freed is counted once, and every waiter has fired exactly once
 * when its object settled.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ObjectStoreFullError } from "../src/core/api/errors.js";
import { ObjectStore } from "../src/core/store/object-store.js";
import { params } from "./fc-config.js";

/** Small enough that puts run out of room. */
const CAPACITY = 600;

interface ModelObject {
  count: number;
  settled: boolean;
  size: number;
  /** Waiters registered, and how many of them fired. */
  waiters: number;
  fired: number;
}

interface Model {
  nextId: number;
  readonly live: Map<number, ModelObject>;
  readonly ever: number[];
  bytes: number;
  freed: number;
  puts: number;
}

interface Real {
  readonly store: ObjectStore;
  /** Fire counts of the waiters registered on each object. */
  readonly fired: Map<number, number>;
}

type StoreCommand = fc.Command<Model, Real>;

/** Drops a settled object whose count reached zero, as the store must. */
function collect(model: Model, id: number): void {
  const object = model.live.get(id);
  if (object === undefined || object.count > 0 || !object.settled) return;
  model.live.delete(id);
  model.bytes -= object.size;
  model.freed++;
}

function check(model: Model, real: Real): void {
  const { store } = real;
  for (const id of model.ever) assert.equal(store.has(id), model.live.has(id), `object ${id} is ${model.live.has(id) ? "alive" : "freed"}`);
  const stats = store.stats();
  assert.equal(stats.numObjects, model.live.size, "objects held");
  assert.equal(stats.bytesUsed, model.bytes, "bytes used");
  assert.equal(stats.freedCount, model.freed, "objects freed");
  assert.equal(stats.putCount, model.puts, "puts");
  for (const [id, object] of model.live) {
    assert.equal(real.fired.get(id) ?? 0, object.fired, `waiters of object ${id} fired`);
    assert.equal(store.isReady(id), object.settled, `object ${id} ready`);
  }
}

class Put implements StoreCommand {
  constructor(
    readonly length: number,
    readonly count: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const id = model.nextId++;
    model.ever.push(id);
    const size = this.length * 2;
    if (model.bytes + size > CAPACITY) {
      assert.throws(() => real.store.put(id, "x".repeat(this.length), this.count), ObjectStoreFullError);
    } else {
      real.store.put(id, "x".repeat(this.length), this.count);
      model.puts++;
      model.live.set(id, { count: this.count, settled: true, size, waiters: 0, fired: 0 });
      model.bytes += size;
    }
    check(model, real);
  }
  toString(): string {
    return `put(${this.length * 2} bytes, count ${this.count})`;
  }
}

class Expect implements StoreCommand {
  constructor(readonly count: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const id = model.nextId++;
    model.ever.push(id);
    real.store.expect(id, this.count);
    model.live.set(id, { count: this.count, settled: false, size: 0, waiters: 0, fired: 0 });
    check(model, real);
  }
  toString(): string {
    return `expect(count ${this.count})`;
  }
}

/** Picks the `pick`-th object (modulo) of those that match. */
function choose(model: Model, pick: number, matches: (object: ModelObject) => boolean): number | undefined {
  const ids = [...model.live].filter(([, object]) => matches(object)).map(([id]) => id);
  return ids.length === 0 ? undefined : ids[pick % ids.length];
}

class Settle implements StoreCommand {
  constructor(
    readonly pick: number,
    readonly length: number,
    readonly failed: boolean,
  ) {}
  check(model: Readonly<Model>): boolean {
    return [...model.live.values()].some((object) => !object.settled);
  }
  run(model: Model, real: Real): void {
    const id = choose(model, this.pick, (object) => !object.settled) as number;
    const object = model.live.get(id) as ModelObject;
    const size = this.failed ? 0 : this.length * 2;
    real.store.settle(
      id,
      this.failed ? { ok: false, error: { code: "RAY_ERROR", name: "RayError", message: "failed", stack: undefined } } : { ok: true, value: "y".repeat(this.length) },
    );
    object.settled = true;
    object.size = size;
    object.fired = object.waiters;
    model.bytes += size;
    collect(model, id);
    check(model, real);
  }
  toString(): string {
    return `settle(#${this.pick}, ${this.failed ? "error" : `${this.length * 2} bytes`})`;
  }
}

class AddRef implements StoreCommand {
  constructor(
    readonly pick: number,
    readonly delta: 1 | -1,
  ) {}
  check(model: Readonly<Model>): boolean {
    return model.live.size > 0;
  }
  run(model: Model, real: Real): void {
    const id = choose(model, this.pick, () => true) as number;
    real.store.addRef(id, this.delta);
    (model.live.get(id) as ModelObject).count += this.delta;
    collect(model, id);
    check(model, real);
  }
  toString(): string {
    return `addRef(#${this.pick}, ${this.delta})`;
  }
}

class Wait implements StoreCommand {
  constructor(readonly pick: number) {}
  check(model: Readonly<Model>): boolean {
    return [...model.live.values()].some((object) => !object.settled);
  }
  run(model: Model, real: Real): void {
    const id = choose(model, this.pick, (object) => !object.settled) as number;
    const waiting = real.store.onSettled(id, () => real.fired.set(id, (real.fired.get(id) ?? 0) + 1));
    assert.equal(waiting, true, "a pending object takes a waiter");
    (model.live.get(id) as ModelObject).waiters++;
    check(model, real);
  }
  toString(): string {
    return `wait(#${this.pick})`;
  }
}

const commands = [
  fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 3 })).map(([length, count]) => new Put(length, count)),
  fc.integer({ min: 1, max: 3 }).map((count) => new Expect(count)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 120 }), fc.boolean()).map(([pick, length, failed]) => new Settle(pick, length, failed)),
  fc.tuple(fc.nat(), fc.constantFrom(1 as const, -1 as const, -1 as const)).map(([pick, delta]) => new AddRef(pick, delta)),
  fc.nat().map((pick) => new Wait(pick)),
];

test("the object store keeps exactly what is referenced or pending, and counts bytes and frees (model-based)", () => {
  fc.assert(
    fc.property(fc.commands(commands, { maxCommands: 80 }), (sequence) => {
      const model: Model = { nextId: 1, live: new Map(), ever: [], bytes: 0, freed: 0, puts: 0 };
      const real: Real = { store: new ObjectStore(CAPACITY, () => undefined), fired: new Map() };
      fc.modelRun(() => ({ model, real }), sequence);
    }),
    params(300),
  );
});
