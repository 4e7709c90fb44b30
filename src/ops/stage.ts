/**
 * One stage of a pipelined map: the engine under `mapPipelined` and each
 * `pipeline(...).map(...)`. It pulls items from its upstream, submits one
 * task per item, keeps at most `concurrency` of them in flight, and hands out
 * results as they finish (or in input order).
 *
 * Flow control. The stage only does work inside `next()`, so a consumer that
 * stops asking stops the stage from pulling input. Items taken from upstream
 * and not yet handed out are bounded:
 *
 * ```
 *   upstream ──pull──▶ [ in flight ≤ c ] ──settle──▶ [ ready / reorder ] ──next()──▶ consumer
 *   unordered: in flight + ready + pulling ≤ c
 *   ordered:   in flight + pulling ≤ c, and in flight + reorder + pulling ≤ 2c
 * ```
 *
 * so a fast stage cannot flood memory, and an early stop (`return()`) has at
 * most `c` tasks to cancel.
 */
import { cancel, get, wait, type ObjectRef, type RemoteFunction } from "../core/index.js";
import { MapItemError } from "./item-error.js";

/** An item with its position in the original input. */
export interface Indexed<T> {
  readonly index: number;
  readonly value: T;
}

/** Where a stage takes its items from: a sync source is pulled in a loop, an async one once at a time. */
export type Upstream<T> =
  | { readonly sync: true; next(): IteratorResult<Indexed<T>, undefined>; close(): void }
  | { readonly sync: false; next(): Promise<IteratorResult<Indexed<T>, undefined>>; close(): void };

type Settled<O> = { readonly seq: number; readonly index: number } & ({ readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown });

/** Numbers a user's iterable or async iterable. */
export function fromInputs<T>(inputs: Iterable<T> | AsyncIterable<T>): Upstream<T> {
  let index = 0;
  const asyncSource = (inputs as Partial<AsyncIterable<T>>)[Symbol.asyncIterator];
  if (typeof asyncSource === "function") {
    const iterator = asyncSource.call(inputs);
    return {
      sync: false,
      async next() {
        const result = await iterator.next();
        return result.done === true ? { done: true, value: undefined } : { done: false, value: { index: index++, value: result.value } };
      },
      close() {
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      },
    };
  }
  const iterator = (inputs as Iterable<T>)[Symbol.iterator]();
  return {
    sync: true,
    next() {
      const result = iterator.next();
      return result.done === true ? { done: true, value: undefined } : { done: false, value: { index: index++, value: result.value } };
    },
    close() {
      try {
        iterator.return?.();
      } catch {
        // the source failed while closing; the consumer already stopped
      }
    },
  };
}

/** How a stage runs: its task, its limits, and whether it fetches values or passes refs on. */
export interface StageConfig<I> {
  readonly task: RemoteFunction<[I], unknown>;
  readonly concurrency: number;
  readonly ordered: boolean;
  /**
   * `true`: hand out values (`get`), failures as MapItemError.
   * `false`: hand out refs once ready (`wait`); the value stays in the store
   * and a failure travels with the ref to the next stage, whose task then
   * fails with the same error.
   */
  readonly fetch: boolean;
}

/** A running stage; an async iterator of indexed results, closed by `return()`. */
export class Stage<I, O> implements AsyncIterator<Indexed<O>, undefined> {
  readonly #config: StageConfig<I>;
  readonly #upstream: Upstream<I>;
  readonly #inFlight = new Map<number, ObjectRef<unknown>>();
  readonly #ready: Settled<O>[] = [];
  readonly #reorder = new Map<number, Settled<O>>();
  #taken = 0;
  #nextOut = 0;
  #pulling = false;
  #exhausted = false;
  #closed = false;
  #upstreamError: { readonly error: unknown } | undefined;
  /** Callers of `next()` waiting for something to happen (one, unless next() is called without awaiting). */
  readonly #waiters: (() => void)[] = [];

  constructor(upstream: Upstream<I>, config: StageConfig<I>) {
    this.#upstream = upstream;
    this.#config = config;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Indexed<O>, undefined>> {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      this.#fill();
      const settled = this.#takeSettled();
      if (settled !== undefined) {
        if (settled.ok) return { done: false, value: { index: settled.index, value: settled.value } };
        this.#close();
        throw settled.error instanceof MapItemError ? settled.error : new MapItemError(settled.index, settled.error);
      }
      if (this.#exhausted && !this.#pulling && this.#inFlight.size === 0) {
        const failed = this.#upstreamError;
        this.#close();
        if (failed !== undefined) throw failed.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
      });
    }
  }

  /** Stops the stage: cancels the tasks in flight and closes the upstream. */
  async return(): Promise<IteratorResult<Indexed<O>, undefined>> {
    this.#close();
    return { done: true, value: undefined };
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ref of this.#inFlight.values()) {
      try {
        cancel(ref);
      } catch {
        // finished or gone in the meantime
      }
    }
    this.#inFlight.clear();
    this.#ready.length = 0;
    this.#reorder.clear();
    this.#upstream.close();
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #hasRoom(): boolean {
    const c = this.#config.concurrency;
    const busy = this.#inFlight.size + (this.#pulling ? 1 : 0);
    if (!this.#config.ordered) return busy + this.#ready.length < c;
    return busy < c && busy + this.#reorder.size < 2 * c;
  }

  /** Pulls and submits while there is room. */
  #fill(): void {
    while (!this.#closed && !this.#exhausted && !this.#pulling && this.#hasRoom()) {
      const upstream = this.#upstream;
      if (upstream.sync) {
        let result: IteratorResult<Indexed<I>, undefined>;
        try {
          result = upstream.next();
        } catch (error) {
          this.#endInput({ error });
          return;
        }
        if (result.done === true) this.#endInput(undefined);
        else this.#submit(result.value);
      } else {
        this.#pulling = true;
        upstream.next().then(
          (result) => {
            this.#pulling = false;
            if (this.#closed) return;
            if (result.done === true) this.#endInput(undefined);
            else this.#submit(result.value);
            this.#notify();
          },
          (error: unknown) => {
            this.#pulling = false;
            if (!this.#closed) this.#endInput({ error });
            this.#notify();
          },
        );
      }
    }
  }

  /** The input ended (or failed): what is in flight still finishes and is handed out first. */
  #endInput(failure: { readonly error: unknown } | undefined): void {
    this.#exhausted = true;
    this.#upstreamError = failure;
  }

  #submit(item: Indexed<I>): void {
    const seq = this.#taken++;
    const { index } = item;
    let ref: ObjectRef<unknown>;
    try {
      ref = this.#config.task.remote(item.value as never); // generic: whether it can be sent is checked at run time
    } catch (error) {
      // The item cannot be sent (SerializationError...): it fails at its own position.
      this.#settle({ seq, index, ok: false, error });
      return;
    }
    this.#inFlight.set(seq, ref);
    const onError = (error: unknown): void => this.#settle({ seq, index, ok: false, error });
    if (this.#config.fetch) {
      get(ref).then((value) => this.#settle({ seq, index, ok: true, value: value as O }), onError);
    } else {
      wait([ref]).then(() => this.#settle({ seq, index, ok: true, value: ref as O }), onError);
    }
  }

  #settle(settled: Settled<O>): void {
    if (this.#closed) return;
    this.#inFlight.delete(settled.seq);
    if (this.#config.ordered) this.#reorder.set(settled.seq, settled);
    else this.#ready.push(settled);
    this.#notify();
  }

  #takeSettled(): Settled<O> | undefined {
    if (!this.#config.ordered) return this.#ready.shift();
    const next = this.#reorder.get(this.#nextOut);
    if (next === undefined) return undefined;
    this.#reorder.delete(this.#nextOut);
    this.#nextOut++;
    return next;
  }
}

/** The values of an iterator of indexed items; `return` stops it (and so its tasks). */
export function valuesOf<T>(
  items: AsyncIterator<Indexed<T>, undefined> & { return(): Promise<IteratorResult<Indexed<T>, undefined>> },
): AsyncIterator<T, undefined> {
  return {
    async next() {
      const result = await items.next();
      return result.done === true ? result : { done: false, value: result.value.value };
    },
    async return() {
      await items.return();
      return { done: true, value: undefined };
    },
  };
}
