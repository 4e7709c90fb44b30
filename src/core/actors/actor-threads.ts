/**
 * Where actors live: a bounded set of shared threads, each hosting many
 * actors, plus a thread of its own for each actor that asks for one
 * (`dedicatedThread: true`).
 *
 * Sharing is what makes thousands of actors affordable: an idle actor is an
 * object on some thread's heap, not a thread. The price is failure
 * isolation: when a shared thread dies (a `process.exit`, an uncaught error,
 * running out of memory), every actor on it dies with it, and each is then
 * restarted or failed on its own terms (`maxRestarts`). A synchronous call
 * that never returns also stalls the other actors of its thread. Actors that
 * crash on purpose, spin, or must not be disturbed by others take a
 * dedicated thread.
 */
import type { Holder } from "../store/lending.js";
import type { Transport } from "../transport/transport.js";

/** One actor thread as the driver sees it: what it holds of the store and which actors live on it. */
export class ActorThread implements Holder {
  link: Transport;
  readonly dedicated: boolean;
  /** Its name in events and the state API. */
  readonly name: `actor-${number}`;
  /** Functions (actor classes) already defined on the thread. */
  defined = new Set<number>();
  /** Object ids this thread borrows, with counts. */
  borrows = new Map<number, number>();
  /** Shared blocks the thread holds in its cache. */
  blocks = new Set<number>();
  /** Ids of the actors placed here and not yet gone. */
  readonly actors = new Set<number>();
  /** Calls queued on the link since it was last flushed by a run of calls (see ActorManager.pump). */
  unflushed = 0;

  constructor(link: Transport, dedicated: boolean) {
    this.link = link;
    this.dedicated = dedicated;
    this.name = `actor-${link.index}`;
  }
}

/** Starts the thread of an `ActorThread` in a slot of the shared "running" table. */
export type StartThread = (slot: number, thread: (link: Transport) => ActorThread) => ActorThread;

/** Places actors on threads and retires threads. */
export class ActorThreads {
  readonly #start: StartThread;
  readonly #sharedLimit: number;
  readonly #firstSlot: number;
  readonly #slots: number;
  readonly #shared: ActorThread[] = [];
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;

  /**
   * `sharedLimit` bounds the shared threads; every thread takes one of `slots`
   * entries of the "running" table from `firstSlot` on.
   */
  constructor(start: StartThread, sharedLimit: number, firstSlot: number, slots: number) {
    this.#start = start;
    this.#sharedLimit = Math.max(1, sharedLimit);
    this.#firstSlot = firstSlot;
    this.#slots = slots;
  }

  /** The thread an actor starts on: its own, a new shared one while under the limit and all are busy, else the least loaded. */
  place(actor: number, dedicated: boolean): ActorThread {
    let thread: ActorThread | undefined;
    if (!dedicated) {
      for (const candidate of this.#shared) if (thread === undefined || candidate.actors.size < thread.actors.size) thread = candidate;
      if (thread !== undefined && thread.actors.size > 0 && this.#shared.length < this.#sharedLimit) thread = undefined;
    }
    if (thread === undefined) {
      thread = this.#open(dedicated);
      if (!dedicated) this.#shared.push(thread);
    }
    thread.actors.add(actor);
    return thread;
  }

  /** An actor left its thread (killed or retired); a dedicated thread is stopped with it. */
  leave(thread: ActorThread, actor: number): void {
    thread.actors.delete(actor);
    if (thread.dedicated) thread.link.terminate();
  }

  /** A thread ended: its slot is free again and it takes no more actors. */
  ended(thread: ActorThread): void {
    const index = this.#shared.indexOf(thread);
    if (index >= 0) this.#shared.splice(index, 1);
    this.#freeSlots.push(thread.link.index);
  }

  #open(dedicated: boolean): ActorThread {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      if (this.#nextSlot >= this.#slots) {
        throw new RangeError(`too many actor threads: at most ${this.#slots} (shared and dedicated) may run at once`);
      }
      slot = this.#firstSlot + this.#nextSlot++;
    }
    return this.#start(slot, (link) => new ActorThread(link, dedicated));
  }
}
