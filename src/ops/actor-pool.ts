/**
 * `ActorPool`: work spread over a fixed set of actors, each given one item
 * at a time (Ray's `ray.util.ActorPool`). Built only on the public core API.
 */
import { get, wait, GetTimeoutError, type ObjectRef } from "../core/index.js";
import { show } from "../core/internal.js";

/** Submits one item to one actor: typically `(actor, value) => actor.method.remote(value)`. */
export type PoolTask<A, V, R> = (actor: A, value: V) => ObjectRef<R>;

/** Options of {@link ActorPool.getNext} and {@link ActorPool.getNextUnordered}. */
export interface GetNextOptions {
  /** Milliseconds to wait for the result; then GetTimeoutError (the result stays pending). */
  timeout?: number;
}

interface InFlight<A> {
  readonly ref: ObjectRef<unknown>;
  readonly actor: A;
  readonly index: number;
}

/**
 * A pool of actors that each take one item at a time. Items submitted while
 * every actor is busy wait in the pool and go to the first actor that frees.
 *
 * @example
 * const pool = new ray.ActorPool([Worker.remote(), Worker.remote()]);
 * for await (const y of pool.map((w, x) => w.double.remote(x), [1, 2, 3, 4])) console.log(y); // 2 4 6 8
 */
export class ActorPool<A> {
  readonly #idle: A[];
  /** Results not yet returned, by submission index. */
  readonly #byIndex = new Map<number, InFlight<A>>();
  /** Submitted while no actor was free, in order. */
  readonly #pending: { readonly fn: PoolTask<A, unknown, unknown>; readonly value: unknown; readonly index: number }[] = [];
  #nextIndex = 0;
  #nextReturn = 0;

  constructor(actors: Iterable<A>) {
    const input: unknown = actors; // callers may be untyped JavaScript
    if (input === null || typeof input !== "object" || typeof (input as Partial<Iterable<A>>)[Symbol.iterator] !== "function") {
      throw new TypeError(`Expected \`actors\` to be an iterable of actor handles, got ${show(input)}`);
    }
    this.#idle = [...actors];
  }

  /**
   * Results in input order, submitting each item as an actor frees; inputs
   * are read lazily, so `values` may be long or endless.
   */
  async *map<V, R>(fn: PoolTask<A, V, R>, values: Iterable<V>): AsyncGenerator<R, void, undefined> {
    yield* this.#mapWith(fn, values, () => this.getNext<R>());
  }

  /** Results as they finish, submitting each item as an actor frees. */
  async *mapUnordered<V, R>(fn: PoolTask<A, V, R>, values: Iterable<V>): AsyncGenerator<R, void, undefined> {
    yield* this.#mapWith(fn, values, () => this.getNextUnordered<R>());
  }

  async *#mapWith<V, R>(fn: PoolTask<A, V, R>, values: Iterable<V>, next: () => Promise<R>): AsyncGenerator<R, void, undefined> {
    checkFunction(fn);
    // Results submitted before the map are not part of it: the map returns only its own.
    if (this.hasNext()) throw new RangeError("ActorPool.map: the pool has results pending from submit(); take them with getNext() first");
    const items = values[Symbol.iterator]();
    const mine = new Set<number>();
    let done = false;
    const feed = (): void => {
      while (!done && this.hasFree() && this.#pending.length === 0) {
        const item = items.next();
        if (item.done === true) done = true;
        else mine.add(this.#submit(fn, item.value));
      }
    };
    try {
      feed();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by feed()
      if (!done && this.#idle.length === 0 && this.#byIndex.size === 0) throw new RangeError("ActorPool.map: the pool has no actors");
      while (this.hasNext()) {
        const value = await next();
        feed();
        yield value;
      }
    } finally {
      // A map that failed or was left early drops the rest of its items, so the pool serves the next map.
      this.#drop(mine);
    }
  }

  /** Schedules `fn(actor, value)` on a free actor, or queues it until one frees. */
  submit<V, R>(fn: PoolTask<A, V, R>, value: V): void {
    this.#submit(fn, value);
  }

  #submit<V, R>(fn: PoolTask<A, V, R>, value: V): number {
    checkFunction(fn);
    const index = this.#nextIndex++;
    const actor = this.#idle.pop();
    if (actor === undefined) this.#pending.push({ fn: fn as PoolTask<A, unknown, unknown>, value, index });
    else this.#start(fn as PoolTask<A, unknown, unknown>, actor, value, index);
    return index;
  }

  /**
   * Forgets the given items: queued ones never start, and an actor running a
   * dropped one goes back to the pool at once (its result is discarded; an
   * actor runs its calls in order, so the next item simply waits behind it).
   */
  #drop(indices: ReadonlySet<number>): void {
    for (let i = this.#pending.length - 1; i >= 0; i--) if (indices.has((this.#pending[i] as { index: number }).index)) this.#pending.splice(i, 1);
    for (const index of indices) {
      const entry = this.#byIndex.get(index);
      if (entry === undefined) continue;
      this.#byIndex.delete(index);
      this.#returnActor(entry.actor);
    }
  }

  #start(fn: PoolTask<A, unknown, unknown>, actor: A, value: unknown, index: number): void {
    let ref: ObjectRef<unknown>;
    try {
      ref = fn(actor, value);
    } catch (error) {
      this.#idle.push(actor);
      throw error;
    }
    this.#byIndex.set(index, { ref, actor, index });
  }

  /** True while a submitted item has a result not yet returned. */
  hasNext(): boolean {
    return this.#byIndex.size > 0 || this.#pending.length > 0;
  }

  /** True when an actor is idle (a submit would start at once). */
  hasFree(): boolean {
    return this.#idle.length > 0 && this.#pending.length === 0;
  }

  /** The next result in submission order; rejects with the item's error (the pool stays usable). */
  async getNext<R = unknown>(options?: GetNextOptions): Promise<R> {
    if (!this.hasNext()) throw new RangeError("ActorPool.getNext: no result is pending; submit() first");
    while (!this.#byIndex.has(this.#nextReturn)) {
      // Items start in submission order, so the next one waits for an actor only when the pool has none.
      if (this.#pending.some((item) => item.index === this.#nextReturn)) throw noActor("getNext");
      this.#nextReturn++; // taken by getNextUnordered already
    }
    const entry = this.#byIndex.get(this.#nextReturn) as InFlight<A>;
    const [ready] = await wait([entry.ref], { numReturns: 1, ...(options?.timeout === undefined ? {} : { timeout: options.timeout }) });
    if (ready.length === 0) throw new GetTimeoutError(`ActorPool.getNext: no result within ${options?.timeout} ms`);
    this.#nextReturn++;
    return this.#finish(entry) as Promise<R>;
  }

  /** The next result to finish, whatever its order; rejects with the item's error (the pool stays usable). */
  async getNextUnordered<R = unknown>(options?: GetNextOptions): Promise<R> {
    if (!this.hasNext()) throw new RangeError("ActorPool.getNextUnordered: no result is pending; submit() first");
    if (this.#byIndex.size === 0) throw noActor("getNextUnordered");
    const entry = await this.#waitAny(options?.timeout);
    return this.#finish(entry) as Promise<R>;
  }

  /** Waits for any in-flight result to be ready. */
  async #waitAny(timeout: number | undefined): Promise<InFlight<A>> {
    const entries = [...this.#byIndex.values()];
    const [ready] = await wait(
      entries.map((entry) => entry.ref),
      { numReturns: 1, ...(timeout === undefined ? {} : { timeout }) },
    );
    const first = ready[0];
    if (first === undefined) throw new GetTimeoutError(`ActorPool: no result within ${timeout} ms`);
    return entries.find((entry) => entry.ref === first) as InFlight<A>;
  }

  /** Frees the entry's actor (starting a queued item on it) and returns the entry's value. */
  #finish(entry: InFlight<A>): Promise<unknown> {
    if (this.#byIndex.get(entry.index) === entry) {
      this.#byIndex.delete(entry.index);
      this.#returnActor(entry.actor);
    }
    return get(entry.ref);
  }

  #returnActor(actor: A): void {
    const next = this.#pending.shift();
    if (next === undefined) this.#idle.push(actor);
    else this.#start(next.fn, actor, next.value, next.index);
  }

  /** Adds an actor; it takes a queued item at once if there is one. */
  push(actor: A): void {
    this.#returnActor(actor);
  }

  /** Removes and returns an idle actor, or undefined when all are busy (Ray's `pop_idle`). */
  pop(): A | undefined {
    return this.#idle.pop();
  }
}

function noActor(method: string): RangeError {
  return new RangeError(`ActorPool.${method}: the pending items wait for an actor and the pool has none; push() one`);
}

function checkFunction(fn: unknown): void {
  if (typeof fn !== "function") throw new TypeError(`Expected \`fn\` to be a function (actor, value) => ObjectRef, got ${show(fn)}`);
}
