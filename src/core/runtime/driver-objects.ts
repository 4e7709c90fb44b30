/**
 * `put`, `get` and `wait` in the driver, for its own code and for the
 * worker threads that ask it: values are stored in the local object store,
 * waits are answered when objects settle, and a value that does not fit
 * waits for a collection to make room.
 */
import { ActorClass, makeActorHandle } from "../api/actor.js";
import type { WaitResult } from "./backend.js";
import type { DriverParts, Owner } from "./driver-parts.js";
import type { WorkerName } from "./events.js";
import { errorFromData, errorToData, GetTimeoutError, type ErrorData } from "../api/errors.js";
import { nextId } from "./global-state.js";
import type { ObjectRef } from "../api/object-ref.js";
import type { Settled } from "../store/object-store.js";
import { HANDLE_KEY, type Encoded, type HandleData } from "../protocol/protocol.js";
import { RemoteFunction } from "../api/remote-function.js";
import { decode, encode, encodeStored, needsArrow, preloadArrow, sizeOf } from "../codec/serialization.js";
import type { Transport } from "../transport/transport.js";

/** The driver's object API over its local store. */
export class DriverObjects {
  readonly #parts: DriverParts;
  /** Values waiting for a collection to make room for them, and their bytes. */
  #roomBytes = 0;

  constructor(parts: DriverParts) {
    this.#parts = parts;
  }

  /** Turns a handle found in a decoded value back into a live object of this driver. */
  readonly #revive = (data: HandleData): unknown => {
    switch (data[HANDLE_KEY]) {
      case "ref":
        return this.#parts.ownership.newRef(data.num);
      case "fn":
        return new RemoteFunction(data.id, data.taskOptions);
      case "cls":
        return new ActorClass(data.classId, data.name, data.methods, data.actorOptions, data.streaming);
      case "actor":
        return makeActorHandle(data.__rayts$actor.id, data.__rayts$actor.name, data.__rayts$actor.methods, data.__rayts$actor.streaming);
    }
  };

  put(value: unknown): ObjectRef<unknown> {
    const id = nextId();
    if (needsArrow(value)) {
      this.putArrow(id, value);
      return this.#parts.ownership.firstRef(id);
    }
    const { value: encoded, block } = encodeStored(value, "the value given to put()", this.#parts.store.blocks);
    this.putValue(id, encoded, block);
    this.#parts.events?.emit({ kind: "objectCreated", id, bytes: sizeOf(encoded), owner: "driver" });
    return this.#parts.ownership.firstRef(id);
  }

  /**
   * Stores a put value. One that does not fit now but could once dead
   * objects are freed is kept pending while the runtime collects; if it
   * still does not fit then, the object holds an ObjectStoreFullError. A
   * value larger than the whole store (or than the room pending puts leave)
   * throws at once. `block`: as for the store's `put`.
   */
  putValue(id: number, value: Encoded, block?: SharedArrayBuffer): void {
    const store = this.#parts.store;
    const bytes = sizeOf(value);
    if (store.fits(bytes) || bytes > store.capacity || this.#roomBytes + bytes > store.capacity + store.spillRoom) {
      store.put(id, value, 1, block);
      return;
    }
    store.expect(id, 1);
    this.#roomBytes += bytes;
    this.afterReclaim(bytes, () => {
      this.#roomBytes -= bytes;
      try {
        store.fill(id, value, block);
      } catch (error) {
        store.settle(id, { ok: false, error: errorToData(error) });
      }
    });
  }

  /** A worker put a value: stored with one count, which the worker borrows. */
  putFromWorker(owner: Owner, worker: WorkerName, id: number, value: Encoded): void {
    const parts = this.#parts;
    try {
      this.putValue(id, value);
      parts.events?.emit({ kind: "objectCreated", id, bytes: sizeOf(value), owner: worker });
      parts.ownership.borrow(owner, id);
    } catch (error) {
      parts.store.expect(id, 1);
      parts.ownership.borrow(owner, id);
      parts.store.settle(id, { ok: false, error: errorToData(error) });
    }
  }

  /**
   * Runs `then` once `bytes` more fit (after a full collection and the turn
   * that lets finalizers release what it found dead, then after spilling),
   * or when nothing more can make room. Callers queue in order.
   */
  afterReclaim(bytes: number, then: () => void): void {
    this.#parts.store.whenRoom(bytes, () => {
      then();
      this.#parts.loop.scheduleTick();
    });
  }

  /**
   * Arrow values are encoded with the user's own instance of apache-arrow,
   * reached through `import()` (a second copy of the library misreads
   * tables). The library is loaded only once an Arrow value is seen: loading
   * it slows `Array.prototype.concat` in the whole thread, because Arrow sets
   * `Symbol.isConcatSpreadable`. Until it is loaded the object is pending,
   * like a task result; tables are immutable, so nothing is lost by waiting.
   */
  putArrow(id: number, value: unknown): void {
    const store = this.#parts.store;
    store.expect(id, 1);
    void preloadArrow().then(() => {
      try {
        store.fill(id, encode(value, "the value given to put()"));
      } catch (error) {
        store.settle(id, { ok: false, error: errorToData(error) });
      }
    });
  }

  get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    const { store, loop, turns } = this.#parts;
    const ids = refs.map((ref) => ref.num);
    store.checkKnown(ids);
    loop.waitStarted();
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        const values: unknown[] = [];
        try {
          for (const ref of refs) {
            const settled = store.read(ref.num) as Settled;
            if (!settled.ok) {
              reject(errorFromData(settled.error));
              return;
            }
            values.push(decode(settled.value, this.#revive));
          }
        } catch (error) {
          // A value that cannot be decoded fails this get, not the runtime.
          reject(error);
          return;
        }
        resolve(values);
      };
      store.whenSettled(ids, refs.length, timeout, (count) => {
        loop.waitEnded();
        if (count < refs.length) {
          reject(new GetTimeoutError(`get() timed out after ${timeout} ms with ${refs.length - count} of ${refs.length} objects not ready`));
        } else if (refs.some((ref) => {
          const settled = store.peek(ref.num);
          return settled?.ok === true && needsArrow(settled.value);
        })) {
          void preloadArrow().then(finish);
        } else turns.run(finish);
      });
    });
  }

  /**
   * `get` of one ref: the same outcome as `get([ref])`, with no arrays and,
   * without a timeout, the store's own waiter rather than a count of many.
   */
  getOne(ref: ObjectRef<unknown>, timeout: number | undefined): Promise<unknown> {
    const { store, loop, turns } = this.#parts;
    if (timeout !== undefined) return this.get([ref], timeout).then((values) => values[0]);
    store.checkKnown([ref.num]);
    loop.waitStarted();
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        // Read through `ref`, not its number: the waiter holding this closure keeps the ref, and so its object, alive until then.
        const settled = store.read(ref.num) as Settled;
        if (!settled.ok) { reject(errorFromData(settled.error)); return; }
        try {
          resolve(decode(settled.value, this.#revive));
        } catch (error) {
          // A value that cannot be decoded fails this get, not the runtime.
          reject(error);
        }
      };
      store.onSettled(ref.num, (settled) => {
        loop.waitEnded();
        if (settled.ok && needsArrow(settled.value)) void preloadArrow().then(finish);
        else turns.run(finish);
      });
    });
  }

  wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    const { store, loop, turns } = this.#parts;
    const ids = refs.map((ref) => ref.num);
    store.checkKnown(ids);
    loop.waitStarted();
    return new Promise((resolve) => {
      store.whenSettled(ids, numReturns, timeout, () => {
        loop.waitEnded();
        const result: WaitResult<unknown> = [[], []];
        let ready = 0;
        for (const ref of refs) {
          const isReady = ready < numReturns && store.isReady(ref.num);
          if (isReady) ready++;
          result[isReady ? 0 : 1].push(ref);
        }
        turns.run(() => resolve(result));
      }, false);
    });
  }

  /** A worker's `get`: answered with the values (lent to it) once all are settled, or a timeout. */
  getForWorker(peer: Transport, owner: Owner, req: number, ids: readonly number[], timeout: number | undefined): void {
    const { store, loop, lending } = this.#parts;
    try {
      store.whenSettled(ids, ids.length, timeout, (count) => {
        if (peer.dead) return;
        if (count < ids.length) {
          loop.send(peer, { kind: "timeout", req });
          return;
        }
        const values: (Encoded | ErrorData)[] = [];
        const errors: boolean[] = [];
        for (const id of ids) {
          const settled = store.read(id) as Settled;
          values.push(settled.ok ? lending.lend(owner, settled.value) : settled.error);
          errors.push(!settled.ok);
        }
        loop.send(peer, { kind: "values", req, values, errors });
      });
    } catch (error) {
      loop.send(peer, { kind: "values", req, values: [errorToData(error)], errors: [true] });
    }
  }

  /** A worker's `wait`: answered with the ids ready once enough are, or at the timeout. */
  waitForWorker(peer: Transport, req: number, ids: readonly number[], numReturns: number, timeout: number | undefined): void {
    const { store, loop } = this.#parts;
    store.whenSettled(ids, numReturns, timeout, () => {
      const ready: number[] = [];
      for (const id of ids) if (ready.length < numReturns && store.isReady(id)) ready.push(id);
      if (!peer.dead) loop.send(peer, { kind: "waited", req, ready });
    }, false);
  }
}
