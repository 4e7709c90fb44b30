/**
 * Actors on the driver side: each actor owns a dedicated worker thread; its
 * calls are sent in submission order, one queue per actor, and the worker
 * runs them one at a time. A call whose arguments are not ready holds back
 * the calls behind it, so order is kept.
 */
import { ActorDiedError, errorToData, RayError, WorkerCrashedError, type ErrorData } from "./errors.js";
import type { EventSink } from "./events.js";
import { nextId, state } from "./global-state.js";
import type { Settled } from "./object-store.js";
import type { ResolvedActorOptions } from "./options.js";
import type { Encoded, NamedActor, ResolvedTaskOptions, ToWorker } from "./protocol.js";
import type { Task, TaskWorker } from "./scheduler.js";
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
  /** No driver handle is left: stop once idle. */
  orphaned = false;
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

/** What the actor manager needs from the runtime that hosts it. */
export interface ActorHost {
  newTask(id: number, fn: number, args: Encoded[], options: ResolvedTaskOptions, actor?: number, method?: string): Task;
  admit(task: Task, owner?: ActorOwner): boolean;
  /** The runtime's event sink, when something records (see events.ts). */
  events(): EventSink | undefined;
  resolveArgs(task: Task, args: Encoded[]): void;
  settle(task: Task, settled: Settled): void;
  encodeArgs(args: readonly unknown[], name: string): Encoded[];
  lend(owner: ActorOwner, value: Encoded): Encoded;
  /** Returns the error of a capture that cannot be sent. */
  define(owner: ActorOwner, link: WorkerLink, fn: number): ErrorData | undefined;
  send(link: WorkerLink, message: ToWorker): void;
  addRefs(ids: readonly number[], delta: number): void;
  /** Starts a thread for an actor in the given slot of the "running" table. */
  startLink(slot: number, actor: ActorState): WorkerLink;
  /** The task or call the thread was running when it died. */
  running(link: WorkerLink): number | undefined;
  /** Tells every thread that a name now refers to an actor, or to none. */
  announceName(name: string, actor: NamedActor | undefined): void;
}

/** Any thread owner the host lends to: a task worker or an actor. */
export type ActorOwner = TaskWorker | ActorState;
type Owner = ActorOwner;

/** The actors of one runtime: creation, ordered calls, kills and restarts. */
export class ActorManager {
  readonly #host: ActorHost;
  readonly #actors = new Map<number, ActorState>();
  readonly #actorNames = new Map<string, number>();
  /** Constructor pseudo-tasks still waiting for their arguments. */
  readonly #pendingInits = new Map<number, Task>();
  readonly #firstSlot: number;
  readonly #slots: number;
  #nextSlot = 0;
  /** Live driver handles per unnamed actor. */
  readonly #handles = new Map<number, number>();
  /** Actors whose handles reached a worker or the store: their lifetime is no longer known. */
  readonly #exported = new Set<number>();

  /** Actor threads use `slots` entries of the "running" table from `firstSlot` on. */
  constructor(host: ActorHost, firstSlot: number, slots: number) {
    this.#host = host;
    this.#firstSlot = firstSlot;
    this.#slots = slots;
  }

  /** A driver handle to the actor was made. */
  handleMade(id: number): void {
    this.#handles.set(id, (this.#handles.get(id) ?? 0) + 1);
  }

  /**
   * A driver handle was collected. As in Ray, an actor that no handle can
   * reach any more is stopped, once the calls it was given have finished;
   * named actors and actors whose handle left the driver are kept.
   */
  handleDropped(id: number): void {
    const count = (this.#handles.get(id) ?? 1) - 1;
    if (count > 0) {
      this.#handles.set(id, count);
      return;
    }
    this.#handles.delete(id);
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined || actor.options.name !== undefined || this.#exported.has(id)) return;
    actor.orphaned = true;
    this.retireIfIdle(actor);
  }

  /** A handle to the actor was encoded for a worker or the store. */
  exported(id: number): void {
    this.#exported.add(id);
    const actor = this.#actors.get(id);
    if (actor !== undefined) actor.orphaned = false;
  }

  /** Stops an actor no handle can reach once it has no call left. */
  retireIfIdle(actor: ActorState): void {
    if (!actor.orphaned || actor.dead !== undefined || actor.queue.length > 0 || actor.inFlight.size > 0) return;
    this.killActor(actor, "no handle to it is left");
    this.#actors.delete(actor.id);
    this.#exported.delete(actor.id);
  }

  /** Every live named actor, for a thread that starts now. */
  named(): NamedActor[] {
    const named: NamedActor[] = [];
    for (const [name, id] of this.#actorNames) {
      const actor = this.#actors.get(id);
      if (actor !== undefined && actor.dead === undefined) named.push({ name, id, actorName: actor.name, methods: actor.methods });
    }
    return named;
  }

  /** The actor with this id, alive or dead. */
  get(id: number): ActorState | undefined {
    return this.#actors.get(id);
  }

  /** A call that is cancelled: dropped from its queue, or skipped by the actor if it has not started. */
  cancel(task: Task): void {
    const actor = task.actor === undefined ? undefined : this.#actors.get(task.actor);
    if (actor === undefined) return;
    const index = actor.queue.indexOf(task);
    if (index >= 0) actor.queue.splice(index, 1);
    if (actor.inFlight.delete(task.id) && actor.link !== undefined) this.#host.send(actor.link, { kind: "cancel", task: task.id });
  }


  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    if (options.name !== undefined && this.#actorNames.has(options.name)) {
      throw new RayError(`an actor named "${options.name}" already exists; pick another name or getActor("${options.name}")`);
    }
    const id = nextId();
    const name = options.name ?? state.functions.get(cls)?.name ?? "Actor";
    this.create(id, cls, this.#host.encodeArgs(args, `${name}.constructor`), options, methods);
    return id;
  }

  /** Starts an actor whose constructor arguments are already encoded (from the driver or a worker). */
  create(id: number, cls: number, args: Encoded[], options: ResolvedActorOptions, methods: readonly string[]): void {
    const name = options.name ?? state.functions.get(cls)?.name ?? "Actor";
    const initOptions: ResolvedTaskOptions = { numCpus: 0, maxRetries: 0, retryExceptions: false, name: `${name}.constructor` };
    const init = this.#host.newTask(id, cls, args, initOptions, id);
    const actor = new ActorState(id, cls, name, options, methods, init.args);
    this.#actors.set(id, actor);
    if (options.name !== undefined && this.#actorNames.has(options.name)) {
      actor.die(`an actor named "${options.name}" already exists`);
      return;
    }
    if (options.name !== undefined) {
      this.#actorNames.set(options.name, id);
      this.#host.announceName(options.name, { name: options.name, id, actorName: name, methods });
    }
    // The constructor is a pseudo-task: it pins the arguments and waits for dependencies.
    this.#host.addRefs(init.pins, 1);
    this.#host.resolveArgs(init, init.args);
    actor.initPins = init.pins;
    if (init.depError !== undefined) {
      actor.die(`an argument of its constructor failed: ${init.depError.message}`);
    } else {
      if (init.deps > 0) this.#pendingInits.set(id, init);
      this.#start(actor);
    }
  }


  #start(actor: ActorState): void {
    // Actor threads take the slots after the task workers' in the shared "running" table.
    actor.link = this.#host.startLink(this.#firstSlot + (this.#nextSlot++ % this.#slots), actor);
    actor.defined = new Set();
    actor.blocks = new Set();
    actor.initSent = false;
    this.#host.events()?.emit({ kind: "actorStarted", actor: actor.id, name: actor.name, className: state.functions.get(actor.cls)?.name ?? actor.name, worker: `actor-${actor.link.index}` });
    this.initReady(actor.id);
  }

  initReady(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.link === undefined || actor.initSent || actor.dead !== undefined) return;
    const init = this.#pendingInits.get(id);
    if (init !== undefined) {
      if (init.deps > 0) return;
      this.#pendingInits.delete(id);
      if (init.depError !== undefined) {
        this.killActor(actor, `an argument of its constructor failed: ${init.depError.message}`);
        return;
      }
    }
    const failed = this.#host.define(actor, actor.link, actor.cls);
    if (failed !== undefined) {
      this.killActor(actor, `its class cannot be defined: ${failed.message}`);
      return;
    }
    const args = actor.args.map((arg) => this.#host.lend(actor, arg));
    this.#host.send(actor.link, { kind: "actorInit", actor: actor.id, cls: actor.cls, name: actor.name, args });
    actor.initSent = true;
    this.pump(id);
  }

  /** Queues a method call (its arguments encoded); `owner` is the worker that made it, if any. */
  call(actorId: number, method: string, args: Encoded[], id: number, owner?: Owner): void {
    const actor = this.#actors.get(actorId);
    const name = `${actor?.name ?? "actor"}.${method}`;
    const options: ResolvedTaskOptions = { numCpus: 0, maxRetries: actor?.options.maxTaskRetries ?? 0, retryExceptions: false, name };
    const task = this.#host.newTask(id, 0, args, options, actorId, method);
    this.#host.admit(task, owner);
    if (actor === undefined || actor.dead !== undefined) {
      this.#host.settle(task, { ok: false, error: actor?.dead ?? errorToData(new RayError(`no actor with id ${actorId}`)) });
      return;
    }
    actor.queue.push(task);
    this.pump(actorId);
  }

  /** Sends the actor's queued calls, in order, while their arguments are ready. */
  pump(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.link === undefined || !actor.initSent) return;
    while (actor.queue.length > 0) {
      const task = actor.queue[0] as Task;
      if (task.deps > 0) return;
      actor.queue.shift();
      if (task.cancelled !== "no") continue;
      if (task.depError !== undefined) {
        this.#host.settle(task, { ok: false, error: task.depError });
        continue;
      }
      actor.inFlight.set(task.id, task);
      this.#host.events()?.emit({ kind: "taskAssigned", task, worker: `actor-${actor.link.index}` });
      const args = task.args.map((arg) => this.#host.lend(actor, arg));
      this.#host.send(actor.link, { kind: "call", task: task.id, method: task.method as string, name: task.name, args });
    }
  }

  /** The live actor registered under `name`. */
  getActor(name: string): { id: number; name: string; methods: readonly string[] } | undefined {
    const id = this.#actorNames.get(name);
    const actor = id === undefined ? undefined : this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined) return undefined;
    return { id: actor.id, name: actor.name, methods: actor.methods };
  }

  kill(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined) return;
    this.killActor(actor, "it was killed with kill()");
  }

  /** Kills an actor: its calls fail with ActorDiedError and its thread is stopped. */
  killActor(actor: ActorState, reason: string): void {
    actor.killed = true;
    const error = actor.die(reason);
    this.#host.events()?.emit({ kind: "actorDied", actor: actor.id, reason });
    if (actor.options.name !== undefined && this.#actorNames.get(actor.options.name) === actor.id) {
      this.#actorNames.delete(actor.options.name);
      this.#host.announceName(actor.options.name, undefined);
    }
    for (const task of actor.drain()) this.#host.settle(task, { ok: false, error });
    this.#host.addRefs(actor.initPins, -1);
    actor.initPins = [];
    actor.link?.terminate();
  }


  /** Restarts the actor if `maxRestarts` allows and retries calls that `maxTaskRetries` allows. */
  workerDied(actor: ActorState, reason: string): void {
    if (actor.killed || actor.dead !== undefined) return;
    if (actor.restarts >= actor.options.maxRestarts) {
      this.killActor(actor, `its worker died (${reason}) and it was restarted ${actor.restarts} of maxRestarts ${actor.options.maxRestarts} times`);
      return;
    }
    actor.restarts++;
    this.#host.events()?.emit({ kind: "actorRestarted", actor: actor.id, restarts: actor.restarts, reason });
    const running = actor.link === undefined ? undefined : this.#host.running(actor.link);
    const inFlight = [...actor.inFlight.values()];
    actor.inFlight.clear();
    const error = errorToData(new WorkerCrashedError(`the worker of actor ${actor.name} died (${reason}) during this call`));
    const retried: Task[] = [];
    for (const task of inFlight) {
      // Only the call that was running when the thread died spends a retry; the others had not started.
      if (task.id !== running) retried.push(task);
      else if (task.attempts < task.options.maxRetries) {
        task.attempts++;
        this.#host.events()?.emit({ kind: "taskRetried", task, reason: `the actor's worker died (${reason})` });
        retried.push(task);
      } else this.#host.settle(task, { ok: false, error });
    }
    actor.queue.unshift(...retried);
    this.#start(actor);
  }
}
