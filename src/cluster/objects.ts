/**
 * The driver's ownership table: every object this driver owns (results of
 * the tasks it submitted, values it put) or borrows (nothing yet), with its
 * state, who holds its bytes, and how many refs and pending tasks keep it.
 * Owner-based reference counting, as in Ray: once no ref and no pending
 * task needs an object, the owner frees it everywhere.
 */
import type { ErrorData } from "../core/api/errors.js";
import type { Demand, NodeView } from "./scheduling.js";

/** Where an object stands. */
export type ObjectState =
  | { readonly ok: true; readonly inline: true; readonly value: unknown }
  | { readonly ok: true; readonly inline: false; readonly size: number; readonly holders: string[] }
  | { readonly ok: false; readonly error: ErrorData };

/** One owned object. */
export interface OwnedObject {
  readonly num: number;
  readonly gid: string;
  state: ObjectState | undefined;
  /** Live ObjectRef instances in this driver. */
  refs: number;
  /** Pending tasks that take it as an argument. */
  pins: number;
  waiters: (() => void)[];
  /** For a task result: where it runs and what it holds there. */
  node: NodeView | undefined;
  demand: Demand | undefined;
  /** Arguments this task pins until it settles. */
  deps: OwnedObject[];
  /** A large value this driver holds itself (put), or the value pulled once. */
  local: unknown;
  pulled: Promise<unknown> | undefined;
  /** Set once the task message left; cancel then goes to the node. */
  sent: boolean;
  /** Cancelled after it was sent: a large result its node still returns is freed there. */
  cancelled: boolean;
  /** Places the task again (after its node died), while `retriesLeft` lasts. */
  retry: (() => void) | undefined;
  retriesLeft: number;
}

export class OwnershipTable {
  readonly #byNum = new Map<number, OwnedObject>();
  readonly #byGid = new Map<string, OwnedObject>();
  readonly #prefix: string;
  readonly #onFree: (object: OwnedObject) => void;
  puts = 0;
  freed = 0;

  constructor(prefix: string, onFree: (object: OwnedObject) => void) {
    this.#prefix = prefix;
    this.#onFree = onFree;
  }

  /** A new object with one ref (the first ObjectRef the caller makes); `gid` names one a node made for this owner. */
  create(num: number, gid = `${this.#prefix}${num.toString(36)}`): OwnedObject {
    const object: OwnedObject = {
      num,
      gid,
      state: undefined,
      refs: 1,
      pins: 0,
      waiters: [],
      node: undefined,
      demand: undefined,
      deps: [],
      local: undefined,
      pulled: undefined,
      sent: false,
      cancelled: false,
      retry: undefined,
      retriesLeft: 0,
    };
    this.#byNum.set(num, object);
    this.#byGid.set(object.gid, object);
    return object;
  }

  byNum(num: number): OwnedObject | undefined {
    return this.#byNum.get(num);
  }

  byGid(gid: string): OwnedObject | undefined {
    return this.#byGid.get(gid);
  }

  get size(): number {
    return this.#byNum.size;
  }

  /** Values held in this process, in bytes (inline values counted roughly). */
  bytesHeld(): number {
    let bytes = 0;
    for (const object of this.#byNum.values()) {
      if (object.state?.ok === true && !object.state.inline && object.local !== undefined) bytes += object.state.size;
    }
    return bytes;
  }

  settle(object: OwnedObject, state: ObjectState): void {
    if (object.state !== undefined) return;
    object.state = state;
    const waiters = object.waiters;
    object.waiters = [];
    for (const wake of waiters) wake();
    for (const dep of object.deps) this.unpin(dep);
    object.deps = [];
    this.maybeFree(object);
  }

  /** Brings back an object freed here, to rebuild it from its lineage; true when it had been freed. */
  revive(object: OwnedObject): boolean {
    if (this.#byNum.has(object.num)) return false;
    this.#byNum.set(object.num, object);
    this.#byGid.set(object.gid, object);
    return true;
  }

  addRef(object: OwnedObject, delta: number): void {
    object.refs += delta;
    if (delta < 0) this.maybeFree(object);
  }

  pin(object: OwnedObject): void {
    object.pins++;
  }

  unpin(object: OwnedObject): void {
    object.pins--;
    this.maybeFree(object);
  }

  maybeFree(object: OwnedObject): void {
    if (object.refs > 0 || object.pins > 0 || object.state === undefined) return;
    if (!this.#byNum.delete(object.num)) return;
    this.#byGid.delete(object.gid);
    this.freed++;
    this.#onFree(object);
  }

  /** Resolves with how many of `objects` settled, once `count` have or `timeout` ms passed. */
  whenSettled(objects: readonly OwnedObject[], count: number, timeout: number | undefined): Promise<number> {
    let settled = 0;
    for (const object of objects) if (object.state !== undefined) settled++;
    if (settled >= count) return Promise.resolve(settled);
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      // One counter for the whole call: each settle is O(1), not a rescan of every object.
      const onSettle = (): void => {
        settled++;
        if (done || settled < count) return;
        done = true;
        clearTimeout(timer);
        resolve(settled);
      };
      for (const object of objects) if (object.state === undefined) object.waiters.push(onSettle);
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          if (done) return;
          done = true;
          resolve(settled);
        }, timeout);
      }
    });
  }

  all(): IterableIterator<OwnedObject> {
    return this.#byNum.values();
  }
}
