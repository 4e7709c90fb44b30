/**
 * The driver's per-tick rhythm: messages to workers are queued during a
 * tick and posted once at its end, one batch per worker, after the
 * scheduling policy has placed what became ready. Also the handle that keeps
 * the process alive while the driver awaits a `get` or `wait`: workers and
 * their channels are unref'd, so a script exits after its last await, as a
 * Ray driver does; tasks nobody waits for do not hold it.
 */
import { MessageChannel } from "node:worker_threads";
import type { ToWorker } from "../protocol/protocol.js";
import type { Transport } from "../transport/transport.js";
import { microtask } from "./microtask.js";

/** Batches messages per tick and keeps the process alive while the driver waits. */
export class DriverLoop {
  readonly #dirty = new Set<Transport>();
  readonly #dispatch: () => void;
  readonly #keepAlive = new MessageChannel();
  #waiting = 0;
  #tickScheduled = false;
  #closed = false;

  /** `dispatch` places ready tasks; it runs first in every tick. */
  constructor(dispatch: () => void) {
    this.#dispatch = dispatch;
    this.#keepAlive.port1.on("message", () => undefined);
    this.#keepAlive.port1.unref();
  }

  /** Queues a message for a peer, posted at the end of the tick. */
  send(peer: Transport, message: ToWorker): void {
    peer.send(message);
    this.#dirty.add(peer);
    this.scheduleTick();
  }

  /** Something was queued on `peer` directly (a run): post it at the end of the tick. */
  touch(peer: Transport): void {
    this.#dirty.add(peer);
    this.scheduleTick();
  }

  /** A peer ended: nothing more is posted to it. */
  forget(peer: Transport): void {
    this.#dirty.delete(peer);
  }

  scheduleTick(): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    microtask(this.tick);
  }

  /** Places ready tasks, then posts each worker's messages as one batch. */
  readonly tick = (): void => {
    // First: a throw below must not leave every later tick unscheduled.
    this.#tickScheduled = false;
    if (this.#closed) return;
    this.#dispatch();
    for (const peer of this.#dirty) peer.flush();
    this.#dirty.clear();
  };

  /** The driver starts awaiting a result: keep the process alive. */
  waitStarted(): void {
    if (this.#waiting++ === 0) this.#keepAlive.port1.ref();
  }

  waitEnded(): void {
    if (--this.#waiting === 0) this.#keepAlive.port1.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.#keepAlive.port1.close();
  }
}
