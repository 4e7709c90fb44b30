/**
 * The ownership table over a real object store, without threads: driver
 * refs counted until collected (collection is triggered by hand through the
 * table's registry seam), borrows by worker threads and their return,
 * submitters of nested tasks, and objects that hold refs to others.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectRef } from "../../src/core/api/object-ref.js";
import type { Encoded } from "../../src/core/protocol/protocol.js";
import { Lending, type Holder } from "../../src/core/store/lending.js";
import { ObjectStore } from "../../src/core/store/object-store.js";
import { LocalOwnershipTable, type RefRegistry } from "../../src/core/store/ownership.js";

/** A registry whose "collections" the test performs itself. */
class ManualRegistry implements RefRegistry {
  readonly #held = new Map<ObjectRef<unknown>, number>();
  readonly #release: (id: number) => void;

  constructor(release: (id: number) => void) {
    this.#release = release;
  }

  register(ref: ObjectRef<unknown>, id: number): void {
    assert.equal(this.#held.has(ref), false, "a ref instance is registered once");
    this.#held.set(ref, id);
  }

  get size(): number {
    return this.#held.size;
  }

  /** The collector dropped `ref`. */
  collect(ref: ObjectRef<unknown>): void {
    const id = this.#held.get(ref);
    assert.notEqual(id, undefined, "the ref was registered");
    this.#held.delete(ref);
    this.#release(id as number);
  }
}

/** A worker thread as the table sees it. */
function holder(): Holder {
  return { link: undefined, borrows: new Map(), blocks: new Set() };
}

function setup() {
  const freed: number[] = [];
  const store = new ObjectStore(1 << 20, () => undefined);
  store.onFreed = (id) => freed.push(id);
  const holders: Holder[] = [];
  const registries: ManualRegistry[] = [];
  const table = new LocalOwnershipTable<Holder>(store, () => holders, (release) => {
    const registry = new ManualRegistry(release);
    registries.push(registry);
    return registry;
  });
  assert.equal(registries.length, 1, "the table makes one registry");
  const lending = new Lending(store, () => undefined);
  return { store, table, registry: registries[0] as ManualRegistry, freed, holders, lending };
}

/** A value that holds refs to `ids` (as `put([ref])` encodes one). */
function holding(...ids: number[]): Encoded {
  return { t: "s", b: new Uint8Array(4), ids };
}

test("a first ref takes the count the object was created with; collecting it frees the object once", () => {
  const { store, table, registry, freed } = setup();
  store.put(1, "value", 1);
  const ref = table.firstRef<string>(1);
  assert.equal(ref.num, 1);
  assert.equal(table.count(1), 1, "firstRef adds no count of its own");
  registry.collect(ref);
  assert.equal(store.has(1), false);
  assert.deepEqual(freed, [1]);
  // A second release of the same id (say, a late finalizer) finds nothing to free.
  table.addRef(1, -1);
  assert.deepEqual(freed, [1]);
  assert.equal(table.count(1), 0);
});

test("each new ref counts once; the object lives until the last one is collected", () => {
  const { store, table, registry, freed } = setup();
  store.put(7, "value", 1);
  const first = table.firstRef(7);
  const second = table.newRef(7);
  const third = table.newRef(7);
  assert.equal(table.count(7), 3);
  assert.equal(registry.size, 3);
  registry.collect(second);
  registry.collect(first);
  assert.equal(store.has(7), true);
  assert.deepEqual(freed, []);
  registry.collect(third);
  assert.deepEqual(freed, [7]);
});

test("a tracked ref made elsewhere counts like a new one", () => {
  const { store, table, registry, freed } = setup();
  store.put(3, "value", 1);
  const first = table.firstRef(3);
  const other = table.newRef(3);
  registry.collect(other);
  const revived = new ObjectRef(3); // made outside the table, as a deserialized ref is
  table.track(revived);
  assert.equal(table.count(3), 2);
  registry.collect(first);
  assert.equal(store.has(3), true);
  registry.collect(revived);
  assert.deepEqual(freed, [3]);
});

test("a pending object whose refs are all gone is freed when it settles, not before", () => {
  const { store, table, registry, freed } = setup();
  store.expect(5, 1);
  const ref = table.firstRef(5);
  registry.collect(ref);
  assert.equal(store.has(5), true, "still pending: its task may be running");
  assert.equal(table.count(5), 0);
  store.settle(5, { ok: true, value: 42 });
  assert.deepEqual(freed, [5]);
});

test("release of an unknown id, and counts of unknown ids, change nothing", () => {
  const { store, table, freed } = setup();
  store.put(1, "kept", 1);
  table.addRef(99, -1);
  table.addRefs([98, 99], -3);
  table.addRef(99, 1);
  assert.equal(table.count(99), 0);
  assert.equal(store.has(99), false, "a count does not create an object");
  assert.equal(table.count(1), 1);
  assert.deepEqual(freed, []);
  assert.equal(store.stats().numObjects, 1);
});

test("borrows are listed per holder and given back once each: a double give-back is ignored", () => {
  const { store, table, holders, lending, freed } = setup();
  const [a, b] = [holder(), holder()];
  holders.push(a, b);
  store.put(4, "shared", 1);
  // Two borrows by a, one by b, each counted in the store as the runtime does.
  for (const who of [a, a, b]) {
    table.borrow(who, 4);
    table.addRef(4, 1);
  }
  const names = new Map([[a, "a"], [b, "b"]]);
  assert.deepEqual(table.borrowers((who) => names.get(who) ?? "?"), new Map([[4, { a: 2, b: 1 }]]));
  assert.equal(table.count(4), 4);
  lending.giveBack(a, [4, 4, 4]); // the third has no borrow behind it
  assert.equal(a.borrows.has(4), false);
  assert.equal(table.count(4), 2);
  lending.giveBack(b, [4]);
  lending.giveBack(b, [4]);
  assert.equal(table.count(4), 1, "a give-back without a borrow takes no count");
  assert.deepEqual(table.borrowers(() => "x"), new Map());
  assert.deepEqual(freed, []);
  lending.giveBack(a, [12345]); // never borrowed, never stored
  assert.equal(store.stats().numObjects, 1);
});

test("a borrower that outlives the driver's refs keeps the object until its thread dies", () => {
  const { store, table, registry, holders, lending, freed } = setup();
  const worker = holder();
  holders.push(worker);
  store.put(2, "value", 1);
  const ref = table.firstRef(2);
  // A value holding the ref was lent to the worker: one count and one borrow.
  lending.lend(worker, holding(2));
  assert.equal(table.count(2), 2);
  registry.collect(ref);
  assert.equal(store.has(2), true, "borrowed");
  lending.dropBorrows(worker);
  assert.deepEqual(freed, [2]);
  assert.equal(worker.borrows.size, 0);
  lending.dropBorrows(worker); // a second report of the same death
  assert.deepEqual(freed, [2]);
});

test("a nested task's submitter owns it until it settles; a dead submitter hands back only the unsettled ones", () => {
  const { table } = setup();
  const [parent, other] = [holder(), holder()];
  table.submitted(parent, 10);
  table.submitted(parent, 11);
  table.submitted(parent, 12);
  table.submitted(other, 20);
  table.settled(11);
  table.settled(11); // settled twice
  table.settled(999); // never submitted
  assert.deepEqual([...table.takeSubmitted(parent)].sort(), [10, 12]);
  assert.deepEqual([...table.takeSubmitted(parent)], [], "taken once");
  table.settled(10); // settles after its submitter died: nothing left to forget
  assert.deepEqual([...table.takeSubmitted(other)], [20]);
  assert.deepEqual([...table.takeSubmitted(holder())], []);
});

test("an object holding refs keeps them alive, and frees them when it goes (a chain frees in one step)", () => {
  const { store, table, registry, freed } = setup();
  store.put(1, "inner", 1);
  const inner = table.firstRef(1);
  store.put(2, holding(1), 1);
  const middle = table.firstRef(2);
  store.put(3, holding(2), 1);
  const outer = table.firstRef(3);
  assert.equal(table.count(1), 2, "the driver's ref and the middle object");
  registry.collect(inner);
  registry.collect(middle);
  assert.deepEqual(freed, [], "held by the outer object through the middle one");
  registry.collect(outer);
  assert.deepEqual(freed, [3, 2, 1]);
  assert.equal(store.stats().numObjects, 0);
  assert.equal(store.bytesUsed, 0);
});

test("a pending result that will hold refs takes its counts only when it settles", () => {
  const { store, table, registry, freed } = setup();
  store.put(1, "inner", 1);
  const inner = table.firstRef(1);
  store.expect(2, 1);
  const outer = table.firstRef(2);
  assert.equal(table.count(1), 1);
  store.settle(2, { ok: true, value: holding(1, 1) });
  assert.equal(table.count(1), 3, "one count per nested ref");
  registry.collect(inner);
  registry.collect(outer);
  assert.deepEqual(freed, [2, 1]);
});

test("a failed result holds no refs and is freed with its last ref", () => {
  const { store, table, registry, freed } = setup();
  store.expect(8, 1);
  const ref = table.firstRef(8);
  store.settle(8, { ok: false, error: { code: "RAY_ERROR", name: "RayError", message: "boom", stack: undefined } });
  store.settle(8, { ok: true, value: "late" }); // a second settle is ignored
  assert.equal(store.peek(8)?.ok, false);
  registry.collect(ref);
  assert.deepEqual(freed, [8]);
});
