/**
 * Actors on the driver side: each actor owns a dedicated worker thread; its
 * calls are sent in submission order, one queue per actor, and the worker
 * runs them one at a time. A call whose arguments are not ready holds back
 * the calls behind it, so order is kept.
 */
import { ActorDiedError, errorToData, type ErrorData } from "./errors.js";
import type { ResolvedActorOptions } from "./options.js";
import type { Encoded } from "./protocol.js";
import type { Task } from "./scheduler.js";
import type { WorkerLink } from "./worker-pool.js";

export class ActorState {
  readonly id: number;
  readonly cls: number;
  readonly name: string;
  readonly options: ResolvedActorOptions;
  readonly methods: readonly string[];
  /** Constructor arguments; `r` entries are replaced as dependencies settle. */
  readonly args: Encoded[];
  /** Objects the constructor arguments keep alive while the actor lives. */
  initPins: number[] = [];
  link: WorkerLink | undefined;
  restarts = 0;
  /** The constructor message went to the current thread. */
  initSent = false;
  /** Calls not yet sent, in submission order. */
  readonly queue: Task[] = [];
  /** Calls sent to the current thread and not settled, in order. */
  readonly inFlight = new Map<number, Task>();
  /** Why the actor is dead, once it is. */
  dead: ErrorData | undefined;
  killed = false;
  defined = new Set<number>();
  borrows = new Map<number, number>();
  /** Shared blocks the current thread holds in its cache. */
  blocks = new Set<number>();

  constructor(id: number, cls: number, name: string, options: ResolvedActorOptions, methods: readonly string[], args: Encoded[]) {
    this.id = id;
    this.cls = cls;
    this.name = name;
    this.options = options;
    this.methods = methods;
    this.args = args;
  }

  /** Marks the actor dead; returns the error its pending calls settle with. */
  die(reason: string): ErrorData {
    this.dead ??= errorToData(new ActorDiedError(`actor ${this.name} (${this.id}) is dead: ${reason}`));
    return this.dead;
  }

  /** Calls to fail or retry after the thread died: in flight first, then queued, in order. */
  drain(): Task[] {
    const tasks = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue.length = 0;
    return tasks;
  }
}
