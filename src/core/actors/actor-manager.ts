/**
 * Actors on the driver side: creation, ordered calls, kills and restarts.
 * Each actor lives on a thread chosen by {@link ActorThreads} (shared with
 * other actors unless it asked for its own). Its calls are sent in
 * submission order, one queue per actor; a call whose arguments are not
 * ready holds back the calls behind it, so order is kept. The thread runs
 * them under the actor's concurrency limits (see actor-host.ts).
 */
import { DEFAULT_NAMESPACE } from "../api/actor-options.js";
import { ActorThread, ActorThreads } from "./actor-threads.js";
import { ActorDiedError, errorToData, RayError, WorkerCrashedError, type ErrorData } from "../api/errors.js";
import type { EventSink } from "../runtime/events.js";
import { nextId, state } from "../runtime/global-state.js";
import type { Settled } from "../store/object-store.js";
import type { ResolvedActorOptions } from "../api/options.js";
import type { ActorConcurrency, Encoded, NamedActor, ResolvedTaskOptions, ToWorker } from "../protocol/protocol.js";
import type { Task, TaskWorker } from "../scheduling/scheduler.js";
import type { ControlPlane } from "../runtime/control-plane.js";
import type { Transport } from "../transport/transport.js";

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
  /** The thread the actor lives on now. */
  thread: ActorThread | undefined;
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
export interface ActorRuntime {
  newTask(id: number, fn: number, args: Encoded[], options: ResolvedTaskOptions, actor?: number, method?: string): Task;
  admit(task: Task, owner?: ActorOwner): boolean;
  /** The runtime's event sink, when something records (see events.ts). */
  events(): EventSink | undefined;
  resolveArgs(task: Task, args: Encoded[]): void;
  settle(task: Task, settled: Settled): void;
  encodeArgs(args: readonly unknown[], name: string): Encoded[];
  lend(owner: ActorOwner, value: Encoded): Encoded;
  /** Returns the error of a capture that cannot be sent. */
  define(owner: ActorOwner, link: Transport, fn: number): ErrorData | undefined;
  send(link: Transport, message: ToWorker): void;
  addRefs(ids: readonly number[], delta: number): void;
  /** Starts a thread in the given slot of the "running" table; `make` wraps its link. */
  startThread(slot: number, make: (link: Transport) => ActorThread): ActorThread;
  /** The task or call the thread was running when it died. */
  running(link: Transport): number | undefined;
  /** Tells every thread that a name now refers to an actor, or to none. */
  announceName(key: { name: string; namespace: string }, actor: NamedActor | undefined): void;
}

/** Any thread owner the host lends to: a task worker or an actor thread. */
export type ActorOwner = TaskWorker | ActorThread;

/** The actor found under a name, as `getActor` returns it. */
export interface FoundActor {
  readonly id: number;
  readonly name: string;
  readonly cls: number;
  readonly methods: readonly string[];
}

/** The actors of one runtime. */
export class ActorManager {
  readonly #host: ActorRuntime;
  readonly #actors = new Map<number, ActorState>();
  readonly #names: ControlPlane;
  /** Ids handed out by a `getIfExists` create that found the actor already there. */
  readonly #aliases = new Map<number, number>();
  /** Constructor pseudo-tasks still waiting for their arguments. */
  readonly #pendingInits = new Map<number, Task>();
  readonly #threads: ActorThreads;
  /** Live driver handles per unnamed actor. */
  readonly #handles = new Map<number, number>();
  /** Actors whose handles reached a worker or the store: their lifetime is no longer known. */
  readonly #exported = new Set<number>();

  /** At most `sharedThreads` threads are shared; every thread takes one of `slots` entries of the "running" table from `firstSlot` on. */
  constructor(host: ActorRuntime, names: ControlPlane, sharedThreads: number, firstSlot: number, slots: number) {
    this.#host = host;
    this.#names = names;
    this.#threads = new ActorThreads((slot, make) => host.startThread(slot, make), sharedThreads, firstSlot, slots);
  }

  #resolve(id: number): number {
    return this.#aliases.get(id) ?? id;
  }

  /** A driver handle to the actor was made. */
  handleMade(id: number): void {
    this.#handles.set(id, (this.#handles.get(id) ?? 0) + 1);
  }

  /**
   * A driver handle was collected. As in Ray, an actor that no handle can
   * reach any more is stopped, once the calls it was given have finished;
   * named and detached actors and actors whose handle left the driver are kept.
   */
  handleDropped(id: number): void {
    const count = (this.#handles.get(id) ?? 1) - 1;
    if (count > 0) {
      this.#handles.set(id, count);
      return;
    }
    this.#handles.delete(id);
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined || actor.options.name !== undefined || actor.options.detached || this.#exported.has(id)) return;
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
    for (const id of this.#names.namedActors()) {
      const actor = this.#actors.get(id);
      if (actor !== undefined && actor.dead === undefined && actor.options.name !== undefined) named.push(this.#namedEntry(actor, actor.options.name));
    }
    return named;
  }

  #namedEntry(actor: ActorState, name: string): NamedActor {
    return { name, namespace: actor.options.namespace, id: actor.id, actorName: actor.name, cls: actor.cls, methods: actor.methods };
  }

  /** The actor with this id, alive or dead. */
  get(id: number): ActorState | undefined {
    return this.#actors.get(this.#resolve(id));
  }

  /** A call that is cancelled: dropped from its queue, or skipped by the actor if it has not started. */
  cancel(task: Task): void {
    const actor = task.actor === undefined ? undefined : this.#actors.get(task.actor);
    if (actor === undefined) return;
    const index = actor.queue.indexOf(task);
    if (index >= 0) actor.queue.splice(index, 1);
    if (actor.inFlight.delete(task.id) && actor.thread !== undefined) this.#host.send(actor.thread.link, { kind: "cancel", task: task.id });
  }

  /** Starts an actor from the driver; returns its id (an existing actor's with `getIfExists`). */
  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    if (options.name !== undefined) {
      const existing = this.#names.actorByName(options.name, options.namespace);
      if (existing !== undefined && options.getIfExists) return existing;
      if (existing !== undefined) {
        throw new RayError(
          `an actor named "${options.name}" already exists in namespace "${options.namespace}"; pick another name, getActor("${options.name}"), or pass getIfExists: true`,
        );
      }
    }
    const id = nextId();
    const name = options.name ?? state.functions.get(cls)?.name ?? "Actor";
    this.create(id, cls, this.#host.encodeArgs(args, `${name}.constructor`), options, methods);
    return id;
  }

  /** Starts an actor whose constructor arguments are already encoded (from the driver or a worker). */
  create(id: number, cls: number, args: Encoded[], options: ResolvedActorOptions, methods: readonly string[]): void {
    const existing = options.name === undefined ? undefined : this.#names.actorByName(options.name, options.namespace);
    if (existing !== undefined && options.getIfExists) {
      this.#aliases.set(id, existing);
      return;
    }
    const name = options.name ?? state.functions.get(cls)?.name ?? "Actor";
    const initOptions: ResolvedTaskOptions = { numCpus: 0, maxRetries: 0, retryExceptions: false, name: `${name}.constructor` };
    const init = this.#host.newTask(id, cls, args, initOptions, id);
    const actor = new ActorState(id, cls, name, options, methods, init.args);
    this.#actors.set(id, actor);
    if (existing !== undefined) {
      actor.die(`an actor named "${options.name}" already exists in namespace "${options.namespace}"`);
      return;
    }
    if (options.name !== undefined) {
      this.#names.nameActor(options.name, options.namespace, id);
      this.#host.announceName({ name: options.name, namespace: options.namespace }, this.#namedEntry(actor, options.name));
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
    actor.thread = this.#threads.place(actor.id, actor.options.dedicatedThread);
    actor.initSent = false;
    this.#host.events()?.emit({ kind: "actorStarted", actor: actor.id, name: actor.name, className: state.functions.get(actor.cls)?.name ?? actor.name, worker: `actor-${actor.thread.link.index}` });
    this.initReady(actor.id);
  }

  initReady(id: number): void {
    const actor = this.#actors.get(id);
    const thread = actor?.thread;
    if (actor === undefined || thread === undefined || actor.initSent || actor.dead !== undefined) return;
    const init = this.#pendingInits.get(id);
    if (init !== undefined) {
      if (init.deps > 0) return;
      this.#pendingInits.delete(id);
      if (init.depError !== undefined) {
        this.killActor(actor, `an argument of its constructor failed: ${init.depError.message}`);
        return;
      }
    }
    const failed = this.#host.define(thread, thread.link, actor.cls);
    if (failed !== undefined) {
      this.killActor(actor, `its class cannot be defined: ${failed.message}`);
      return;
    }
    const args = actor.args.map((arg) => this.#host.lend(thread, arg));
    const { maxConcurrency, concurrencyGroups, methodGroups } = actor.options;
    const concurrency: ActorConcurrency = { max: maxConcurrency, groups: concurrencyGroups, methods: methodGroups };
    this.#host.send(thread.link, { kind: "actorInit", actor: actor.id, cls: actor.cls, name: actor.name, args, concurrency });
    actor.initSent = true;
    this.pump(id);
  }

  /** Queues a method call (its arguments encoded); `owner` is the worker that made it, if any. */
  call(actorId: number, method: string, args: Encoded[], id: number, owner?: ActorOwner): void {
    const actor = this.#actors.get(this.#resolve(actorId));
    const name = `${actor?.name ?? "actor"}.${method}`;
    const options: ResolvedTaskOptions = { numCpus: 0, maxRetries: actor?.options.maxTaskRetries ?? 0, retryExceptions: false, name };
    const task = this.#host.newTask(id, 0, args, options, actor?.id ?? actorId, method);
    this.#host.admit(task, owner);
    if (actor === undefined || actor.dead !== undefined) {
      this.#host.settle(task, { ok: false, error: actor?.dead ?? errorToData(new RayError(`no actor with id ${actorId}`)) });
      return;
    }
    actor.queue.push(task);
    this.pump(actor.id);
  }

  /** Sends the actor's queued calls, in order, while their arguments are ready. */
  pump(id: number): void {
    const actor = this.#actors.get(id);
    const thread = actor?.thread;
    if (actor === undefined || thread === undefined || !actor.initSent) return;
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
      this.#host.events()?.emit({ kind: "taskAssigned", task, worker: `actor-${thread.link.index}` });
      const args = task.args.map((arg) => this.#host.lend(thread, arg));
      this.#host.send(thread.link, { kind: "call", actor: actor.id, task: task.id, method: task.method as string, name: task.name, args });
    }
  }

  /** The live actor registered under `name` in `namespace`. */
  getActor(name: string, namespace = DEFAULT_NAMESPACE): FoundActor | undefined {
    const id = this.#names.actorByName(name, namespace);
    const actor = id === undefined ? undefined : this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined) return undefined;
    return { id: actor.id, name: actor.name, cls: actor.cls, methods: actor.methods };
  }

  /** Kills an actor by id; refuses an id that never named an actor of this runtime. */
  kill(id: number): void {
    const actor = this.#actors.get(this.#resolve(id));
    if (actor === undefined) {
      throw new RayError(`kill(): no actor with id ${id} was started by this runtime (a handle must come from ActorClass.remote() or getActor())`);
    }
    if (actor.dead !== undefined) return;
    this.killActor(actor, "it was killed with kill()");
  }

  /** Kills an actor: its calls fail with ActorDiedError and it leaves its thread (a dedicated thread is stopped). */
  killActor(actor: ActorState, reason: string): void {
    actor.killed = true;
    const error = actor.die(reason);
    this.#host.events()?.emit({ kind: "actorDied", actor: actor.id, reason });
    this.#forgetName(actor);
    for (const task of actor.drain()) this.#host.settle(task, { ok: false, error });
    this.#host.addRefs(actor.initPins, -1);
    actor.initPins = [];
    const thread = actor.thread;
    actor.thread = undefined;
    if (thread === undefined) return;
    if (!thread.dedicated && actor.initSent) this.#host.send(thread.link, { kind: "actorKill", actor: actor.id });
    this.#threads.leave(thread, actor.id);
  }

  #forgetName(actor: ActorState): void {
    const { name, namespace } = actor.options;
    if (name === undefined || !this.#names.unnameActor(name, namespace, actor.id)) return;
    this.#host.announceName({ name, namespace }, undefined);
  }

  /** The constructor of an actor threw. */
  initFailed(id: number, error: ErrorData): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.dead !== undefined) return;
    this.killActor(actor, `its constructor threw: ${error.cause?.message ?? error.message}`);
  }

  /** A thread ended: each actor on it is restarted or failed on its own terms. */
  threadDied(thread: ActorThread, reason: string): void {
    this.#threads.ended(thread);
    const running = this.#host.running(thread.link);
    for (const id of [...thread.actors]) {
      const actor = this.#actors.get(id);
      if (actor !== undefined && actor.thread === thread) {
        actor.thread = undefined;
        this.#actorDied(actor, reason, running);
      }
    }
    thread.actors.clear();
  }

  /** Restarts the actor if `maxRestarts` allows and retries calls that `maxTaskRetries` allows. */
  #actorDied(actor: ActorState, reason: string, running: number | undefined): void {
    if (actor.killed || actor.dead !== undefined) return;
    const shared = actor.options.dedicatedThread ? "" : " (a thread shared with other actors)";
    if (actor.restarts >= actor.options.maxRestarts) {
      this.killActor(actor, `its worker${shared} died (${reason}) and it was restarted ${actor.restarts} of maxRestarts ${actor.options.maxRestarts} times`);
      return;
    }
    actor.restarts++;
    this.#host.events()?.emit({ kind: "actorRestarted", actor: actor.id, restarts: actor.restarts, reason });
    const inFlight = [...actor.inFlight.values()];
    actor.inFlight.clear();
    const error = errorToData(new WorkerCrashedError(`the worker${shared} of actor ${actor.name} died (${reason}) during this call`));
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
