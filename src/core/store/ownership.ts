/**
 * Who keeps each object alive: the driver's ObjectRef instances (counted
 * until the garbage collector drops them), the worker threads that borrow
 * a ref (counted until they give it back or die), and the thread that
 * submitted each nested task (its owner: the task's result shares the
 * submitter's fate if nothing else holds it). The in-process table keeps the
 * counts in the object store's entries, so a count costs no second lookup;
 * a cluster keeps them with the owning driver (src/cluster/objects.ts).
 */
import { ObjectRef } from "../api/object-ref.js";
import type { Holder } from "./lending.js";

/** Reference counts, where the store keeps them. */
export interface RefCounts {
  addRef(id: number, delta: number): void;
  addRefs(ids: readonly number[], delta: number): void;
  count(id: number): number;
}

/** Reference counts, borrowers and owners of the objects this runtime created. */
export interface OwnershipTable<H extends Holder = Holder> extends RefCounts {
  /** The first driver ref of an object created with one count for it. */
  firstRef<T>(id: number): ObjectRef<T>;
  /** A new driver ref to an existing object: one more count. */
  newRef<T>(id: number): ObjectRef<T>;
  /** Counts an ObjectRef instance made elsewhere until it is collected. */
  track(ref: ObjectRef<unknown>): void;
  /** `holder` borrows one more count of `id`. */
  borrow(holder: H, id: number): void;
  /** Records the thread that submitted task `id` (and holds its result's first count). */
  submitted(holder: H, id: number): void;
  /** Task `id` settled: its submitter no longer owns it. */
  settled(id: number): void;
  /** Takes the tasks `holder` submitted that have not settled (the holder died). */
  takeSubmitted(holder: H): Iterable<number>;
  /** For each object, the borrowing holders and their counts. */
  borrowers(name: (holder: H) => string): Map<number, Record<string, number>>;
}

/** What the table asks of a FinalizationRegistry: to call back with an id once its ref is collected. */
export interface RefRegistry {
  register(ref: ObjectRef<unknown>, id: number): void;
}

/** Makes the registry that calls `release` with the id of each collected ref (a test passes one it triggers itself). */
export type RefRegistryFactory = (release: (id: number) => void) => RefRegistry;

const collectorRegistry: RefRegistryFactory = (release) => new FinalizationRegistry<number>(release);

/** The in-process ownership table. */
export class LocalOwnershipTable<H extends Holder> implements OwnershipTable<H> {
  readonly #counts: RefCounts;
  readonly #holders: () => Iterable<H>;
  readonly #registry: RefRegistry;
  /** Pending tasks submitted from inside a task or call, by the thread that submitted them. */
  readonly #submitted = new Map<H, Set<number>>();
  readonly #submitter = new Map<number, H>();

  /** `holders` lists the live threads, for the state API; `registry` hears of collected refs (the garbage collector's by default). */
  constructor(counts: RefCounts, holders: () => Iterable<H>, registry: RefRegistryFactory = collectorRegistry) {
    this.#counts = counts;
    this.#holders = holders;
    this.#registry = registry((id) => counts.addRef(id, -1));
  }

  addRef(id: number, delta: number): void {
    this.#counts.addRef(id, delta);
  }

  addRefs(ids: readonly number[], delta: number): void {
    this.#counts.addRefs(ids, delta);
  }

  count(id: number): number {
    return this.#counts.count(id);
  }

  firstRef<T>(id: number): ObjectRef<T> {
    const ref = new ObjectRef<T>(id);
    this.#registry.register(ref, id);
    return ref;
  }

  newRef<T>(id: number): ObjectRef<T> {
    const ref = new ObjectRef<T>(id);
    this.track(ref);
    return ref;
  }

  track(ref: ObjectRef<unknown>): void {
    this.#counts.addRef(ref.num, 1);
    this.#registry.register(ref, ref.num);
  }

  borrow(holder: H, id: number): void {
    holder.borrows.set(id, (holder.borrows.get(id) ?? 0) + 1);
  }

  submitted(holder: H, id: number): void {
    this.#submitter.set(id, holder);
    const submitted = this.#submitted.get(holder);
    if (submitted === undefined) this.#submitted.set(holder, new Set([id]));
    else submitted.add(id);
  }

  settled(id: number): void {
    const submitter = this.#submitter.get(id);
    if (submitter === undefined) return;
    this.#submitter.delete(id);
    this.#submitted.get(submitter)?.delete(id);
  }

  takeSubmitted(holder: H): Iterable<number> {
    const submitted = this.#submitted.get(holder);
    if (submitted === undefined) return [];
    this.#submitted.delete(holder);
    for (const id of submitted) this.#submitter.delete(id);
    return submitted;
  }

  borrowers(name: (holder: H) => string): Map<number, Record<string, number>> {
    const borrowedBy = new Map<number, Record<string, number>>();
    for (const holder of this.#holders()) {
      for (const [id, count] of holder.borrows) {
        let holders = borrowedBy.get(id);
        if (holders === undefined) borrowedBy.set(id, (holders = {}));
        holders[name(holder)] = count;
      }
    }
    return borrowedBy;
  }
}
