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
import type { EventSink, TaskEventCalls } from "../runtime/events.js";
import { actorCallOutOfMemoryData } from "../runtime/memory-monitor.js";
import { nextId, state } from "../runtime/global-state.js";
import type { Settled } from "../store/object-store.js";
import type { ResolvedActorOptions } from "../api/options.js";
import type { ActorConcurrency, ActorInitCells, Encoded, NamedActor, ResolvedTaskOptions, ToWorker } from "../protocol/protocol.js";
import type { Task, TaskWorker } from "../scheduling/scheduler.js";
import type { ControlPlane } from "../runtime/control-plane.js";
import type { Transport } from "../transport/transport.js";

/** Constructor arguments of an actor started without any: shared, never written. */
const NO_ARGS: Encoded[] = [];
/** Pins of an actor whose constructor arguments hold no refs: shared, never written. */
const NO_PINS: readonly number[] = [];
/** Most constructor messages posted in one turn of the event loop; the rest go in the next. */
const INITS_PER_TURN = 1024;
/** Calls to one actor thread posted together while a synchronous loop submits them. */
const CALL_RUN = 64;

/**
 * The calls of an actor that has been given any: made on its first call,
 * so an actor that is only created costs no queue or table.
 */
class ActorCalls {
  /** Calls not yet sent, in submission order. */
  readonly queue: Task[] = [];
  /** Calls sent to the current thread and not settled, in order. */
  readonly inFlight = new Map<number, Task>();
}

/**
 * The driver's record of one actor. Kept small: thousands of actors are
 * thousands of these, and the calls of an actor get their own record only
 * once it has been given any.
 */
export class ActorState {
  readonly id: number;
  readonly cls: number;
  readonly name: string;
  readonly options: ResolvedActorOptions;
  readonly methods: readonly string[];
  /** Constructor arguments; `r` entries are replaced as dependencies settle. */
  readonly args: Encoded[];
  /** Objects the constructor arguments keep alive while the actor lives. */
  initPins: readonly number[] = NO_PINS;
  /** The thread the actor lives on now. */
  thread: ActorThread | undefined;
  restarts = 0;
  /** The constructor message went to the current thread (or is queued to go with the next batch, see `initDue`). */
  initSent = false;
  /** The constructor waits in the next batch of constructor messages. */
  initDue = false;
  #calls: ActorCalls | undefined;
  /** Why the actor is dead, once it is. */
  dead: ErrorData | undefined;
  killed = false;
  /** No driver handle is left: stop once idle. */
  orphaned = false;
  /** Live driver handles to it. */
  handles = 0;

  constructor(id: number, cls: number, name: string, options: ResolvedActorOptions, methods: readonly string[], args: Encoded[]) {
    this.id = id;
    this.cls = cls;
    this.name = name;
    this.options = options;
    this.methods = methods;
    this.args = args.length === 0 ? NO_ARGS : args;
  }

  /** True while the actor has calls queued or running. */
  get busy(): boolean {
    const calls = this.#calls;
    return calls !== undefined && (calls.queue.length > 0 || calls.inFlight.size > 0);
  }

  /** Queues a call behind the others. */
  enqueue(task: Task): void {
    (this.#calls ??= new ActorCalls()).queue.push(task);
  }

  /** Puts calls back at the head of the queue, in their order. */
  requeue(tasks: readonly Task[]): void {
    if (tasks.length > 0) (this.#calls ??= new ActorCalls()).queue.unshift(...tasks);
  }

  /** Takes the head of the queue if `take` says so. */
  shiftIf(take: (task: Task) => boolean): Task | undefined {
    const queue = this.#calls?.queue;
    const head = queue?.[0];
    if (head === undefined || !take(head)) return undefined;
    queue?.shift();
    return head;
  }

  /** Drops a queued call; returns whether it was queued. */
  unqueue(task: Task): boolean {
    const queue = this.#calls?.queue;
    const index = queue === undefined ? -1 : queue.indexOf(task);
    if (index >= 0) queue?.splice(index, 1);
    return index >= 0;
  }

  /** A call was sent to the thread. */
  sent(task: Task): void {
    (this.#calls ??= new ActorCalls()).inFlight.set(task.id, task);
  }

  /** A sent call settled or was cancelled; returns whether it was in flight. */
  ended(id: number): boolean {
    return this.#calls?.inFlight.delete(id) ?? false;
  }

  /** Takes one call in flight out of the in-flight set. */
  takeCall(id: number): Task | undefined {
    const task = this.#calls?.inFlight.get(id);
    if (task !== undefined) this.#calls?.inFlight.delete(id);
    return task;
  }

  /** Takes the calls in flight, in the order they were sent. */
  takeInFlight(): Task[] {
    const inFlight = this.#calls?.inFlight;
    if (inFlight === undefined || inFlight.size === 0) return [];
    const tasks = [...inFlight.values()];
    inFlight.clear();
    return tasks;
  }

  /** Marks the actor dead; returns the error its pending calls settle with. */
  die(reason: string): ErrorData {
    this.dead ??= errorToData(new ActorDiedError(`actor ${this.name} (${this.id}) is dead: ${reason}`));
    return this.dead;
  }

  /** Calls to fail or retry after the thread died: in flight first, then queued, in order. */
  drain(): Task[] {
    const calls = this.#calls;
    if (calls === undefined) return [];
    const tasks = [...calls.inFlight.values(), ...calls.queue];
    calls.inFlight.clear();
    calls.queue.length = 0;
    return tasks;
  }
}

/** What the actor manager needs from the runtime that hosts it. */
export interface ActorRuntime {
  newTask(id: number, fn: number, args: Encoded[], options: ResolvedTaskOptions, actor?: number, method?: string): Task;
  admit(task: Task, owner?: ActorOwner): boolean;
  /** The runtime's event sink, when something records (see events.ts). */
  events(): EventSink | undefined;
  /** The same sink for the events every call emits (see events.ts). */
  taskEvents(): TaskEventCalls | undefined;
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
  /** Its generator methods, when its class is not known here (an actor of another cluster node). */
  readonly streaming?: readonly string[];
}

/** What the manager keeps per actor class. */
interface ClassInfo {
  /** The name of its unnamed actors. */
  readonly name: string;
  /** The class's name, when the class is defined in this thread. */
  readonly className: string | undefined;
  /** Task options of the constructor of its unnamed actors. */
  readonly init: ResolvedTaskOptions;
}

/** A queued call may be sent once its arguments are ready. */
function argumentsReady(task: Task): boolean {
  return task.deps === 0;
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
  /** Actors whose handles reached a worker or the store: their lifetime is no longer known. */
  readonly #exported = new Set<number>();
  /** Names and constructor task options per class, made once. */
  readonly #classes = new Map<number, ClassInfo>();
  /**
   * Actors whose constructor message waits for the next batch. Creating an
   * actor only adds it here; the messages go out after the creating turn,
   * one batch per thread (see {@link #postInits}), so a loop creating many
   * actors costs its own turn no more than their records.
   */
  #initsDue: ActorState[] = [];
  #initsScheduled = false;
  readonly #limits = new WeakMap<ResolvedActorOptions, ActorConcurrency>();

  /** At most `sharedThreads` threads are shared; every thread takes one of `slots` entries of the "running" table from `firstSlot` on. */
  constructor(host: ActorRuntime, names: ControlPlane, sharedThreads: number, firstSlot: number, slots: number) {
    this.#host = host;
    this.#names = names;
    this.#threads = new ActorThreads((slot, make) => host.startThread(slot, make), sharedThreads, firstSlot, slots);
  }

  #resolve(id: number): number {
    return this.#aliases.get(id) ?? id;
  }

  /** A driver handle to the actor was made; returns whether its collection matters (see {@link handleDropped}). */
  handleMade(id: number): boolean {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.options.name !== undefined || actor.options.detached) return false;
    actor.handles++;
    return true;
  }

  /**
   * A driver handle was collected. As in Ray, an actor that no handle can
   * reach any more is stopped, once the calls it was given have finished;
   * named and detached actors and actors whose handle left the driver are kept.
   */
  handleDropped(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || --actor.handles > 0) return;
    if (actor.dead !== undefined || actor.options.name !== undefined || actor.options.detached || this.#exported.has(id)) return;
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
    if (!actor.orphaned || actor.dead !== undefined || actor.busy) return;
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
    if (state.remoteActors !== undefined) named.push(...state.remoteActors.named());
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
    actor.unqueue(task);
    if (actor.ended(task.id) && actor.thread !== undefined) this.#host.send(actor.thread.link, { kind: "cancel", task: task.id });
  }

  /**
   * The live actor that holds `options.name` in its namespace: one of this
   * runtime's, or (on a cluster node) one of the cluster's named actors.
   */
  nameHolder(options: ResolvedActorOptions): number | undefined {
    const { name, namespace } = options;
    if (name === undefined) return undefined;
    return this.#names.actorByName(name, namespace) ?? state.remoteActors?.named().find((n) => n.name === name && n.namespace === namespace)?.id;
  }

  /** Starts an actor from the driver; returns its id (an existing actor's with `getIfExists`). */
  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    if (options.name !== undefined) {
      const existing = this.nameHolder(options);
      if (existing !== undefined && options.getIfExists) return existing;
      if (existing !== undefined) {
        throw new RayError(
          `an actor named "${options.name}" already exists in namespace "${options.namespace}"; pick another name, getActor("${options.name}"), or pass getIfExists: true`,
        );
      }
    }
    const id = nextId();
    const label = options.name === undefined ? this.#classInfo(cls).init.name : `${options.name}.constructor`;
    this.create(id, cls, args.length === 0 ? NO_ARGS : this.#host.encodeArgs(args, label), options, methods);
    return id;
  }

  #classInfo(cls: number): ClassInfo {
    const cached = this.#classes.get(cls);
    if (cached !== undefined) return cached;
    const className = state.functions.get(cls)?.name;
    const name = className ?? "Actor";
    const info: ClassInfo = { name, className, init: { numCpus: 0, maxRetries: 0, retryExceptions: false, name: `${name}.constructor` } };
    // A class not defined here yet may be later: only what is known is kept.
    if (className !== undefined) this.#classes.set(cls, info);
    return info;
  }

  /** Starts an actor whose constructor arguments are already encoded (from the driver or a worker). */
  create(id: number, cls: number, args: Encoded[], options: ResolvedActorOptions, methods: readonly string[]): void {
    const existing = this.nameHolder(options);
    if (existing !== undefined && options.getIfExists) {
      this.#aliases.set(id, existing);
      return;
    }
    const info = this.#classInfo(cls);
    const name = options.name ?? options.displayName ?? info.name;
    const actor = new ActorState(id, cls, name, options, methods, args);
    this.#actors.set(id, actor);
    if (existing !== undefined) {
      actor.die(`an actor named "${options.name}" already exists in namespace "${options.namespace}"`);
      return;
    }
    if (options.name !== undefined) {
      this.#names.nameActor(options.name, options.namespace, id);
      this.#host.announceName({ name: options.name, namespace: options.namespace }, this.#namedEntry(actor, options.name));
    }
    // A constructor with inputs is a pseudo-task: it pins its ref arguments and waits for them and for a
    // compiled class's captures. One without (the common case) needs no task record.
    if (actor.args.length > 0 || this.#names.fetchFunction(cls)?.kind === "module") {
      const initOptions: ResolvedTaskOptions = options.name === undefined ? info.init : { ...info.init, name: `${name}.constructor` };
      const init = this.#host.newTask(id, cls, actor.args, initOptions, id);
      if (init.pins.length > 0) {
        this.#host.addRefs(init.pins, 1);
        actor.initPins = init.pins;
      }
      this.#host.resolveArgs(init, init.args);
      if (init.depError !== undefined) {
        actor.die(`an argument of its constructor failed: ${init.depError.message}`);
        return;
      }
      if (init.deps > 0) this.#pendingInits.set(id, init);
    }
    this.#start(actor);
  }

  #start(actor: ActorState): void {
    actor.thread = this.#threads.place(actor.id, actor.options.dedicatedThread);
    actor.initSent = false;
    actor.initDue = false;
    this.#host.events()?.emit({ kind: "actorStarted", actor: actor.id, name: actor.name, className: this.#classInfo(actor.cls).className ?? actor.name, worker: actor.thread.name });
    this.initReady(actor.id);
  }

  /** The constructor's arguments are ready: it goes out with the next batch of constructor messages. */
  initReady(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined || actor.thread === undefined || actor.initSent || actor.initDue || actor.dead !== undefined) return;
    const init = this.#pendingInits.get(id);
    if (init !== undefined) {
      if (init.deps > 0) return;
      this.#pendingInits.delete(id);
      if (init.depError !== undefined) {
        this.killActor(actor, `an argument of its constructor failed: ${init.depError.message}`);
        return;
      }
    }
    actor.initDue = true;
    this.#initsDue.push(actor);
    if (this.#initsScheduled) return;
    this.#initsScheduled = true;
    setImmediate(this.#postInits);
  }

  /**
   * Sends the constructor messages that are due, one batch per thread (after
   * the class's definition, before the actor's first calls), at most
   * {@link INITS_PER_TURN} per turn.
   */
  readonly #postInits = (): void => {
    this.#initsScheduled = false;
    let due = this.#initsDue;
    if (due.length > INITS_PER_TURN) {
      this.#initsDue = due.slice(INITS_PER_TURN);
      due = due.slice(0, INITS_PER_TURN);
      this.#initsScheduled = true;
      setImmediate(this.#postInits);
    } else this.#initsDue = [];
    const batches = new Map<ActorThread, ActorInitCells>();
    const sent: ActorState[] = [];
    for (const actor of due) {
      const thread = actor.thread;
      // Killed, restarted elsewhere or dead meanwhile: its current state decides.
      if (!actor.initDue || thread === undefined || actor.dead !== undefined) continue;
      actor.initDue = false;
      const failed = this.#host.define(thread, thread.link, actor.cls);
      if (failed !== undefined) {
        this.killActor(actor, `its class cannot be defined: ${failed.message}`);
        continue;
      }
      let cells = batches.get(thread);
      if (cells === undefined) batches.set(thread, (cells = []));
      cells.push(actor.id, actor.cls, actor.name, this.#concurrency(actor.options), actor.args.length);
      for (const arg of actor.args) cells.push(this.#host.lend(thread, arg));
      actor.initSent = true;
      sent.push(actor);
    }
    for (const [thread, cells] of batches) this.#host.send(thread.link, { kind: "actorInit", cells });
    for (const actor of sent) this.pump(actor.id);
  };

  /** The concurrency limits of actors with these options: one object per options, so a batch's clone carries it once. */
  #concurrency(options: ResolvedActorOptions): ActorConcurrency {
    let concurrency = this.#limits.get(options);
    if (concurrency === undefined) {
      concurrency = { max: options.maxConcurrency, groups: options.concurrencyGroups, methods: options.methodGroups };
      this.#limits.set(options, concurrency);
    }
    return concurrency;
  }

  /** Queues a method call (its arguments encoded); `owner` is the worker that made it, if any. */
  call(actorId: number, method: string, args: Encoded[], id: number, owner?: ActorOwner): void {
    const actor = this.#actors.get(this.#resolve(actorId));
    const name = `${actor?.name ?? "actor"}.${method}`;
    const options: ResolvedTaskOptions = { numCpus: 0, maxRetries: actor?.options.maxTaskRetries ?? 0, retryExceptions: false, name };
    const task = this.#host.newTask(id, 0, args, options, actor?.id ?? this.#resolve(actorId), method);
    this.#host.admit(task, owner);
    if (actor === undefined && state.remoteActors?.call(task) === true) return;
    if (actor === undefined || actor.dead !== undefined) {
      this.#host.settle(task, { ok: false, error: actor?.dead ?? errorToData(new RayError(`no actor with id ${actorId}`)) });
      return;
    }
    actor.enqueue(task);
    this.pump(actor.id);
  }

  /** Sends the actor's queued calls, in order, while their arguments are ready. */
  pump(id: number): void {
    const actor = this.#actors.get(id);
    const thread = actor?.thread;
    if (actor === undefined) state.remoteActors?.pump(id);
    if (actor === undefined || thread === undefined || !actor.initSent) return;
    for (;;) {
      const task = actor.shiftIf(argumentsReady);
      if (task === undefined) return;
      if (task.cancelled !== "no") continue;
      if (task.depError !== undefined) {
        this.#host.settle(task, { ok: false, error: task.depError });
        continue;
      }
      actor.sent(task);
      this.#host.taskEvents()?.taskAssigned(task, `actor-${thread.link.index}`);
      const args = task.args.map((arg) => this.#host.lend(thread, arg));
      this.#host.send(thread.link, { kind: "call", actor: actor.id, task: task.id, method: task.method as string, name: task.name, args });
      // A synchronous loop of calls would leave the actor's thread idle
      // until it ends and then hand it every call at once: post each run of
      // CALL_RUN calls now, so the thread works while the loop goes on.
      if (++thread.unflushed >= CALL_RUN) {
        thread.unflushed = 0;
        thread.link.flush();
      }
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
    if (actor === undefined && state.remoteActors?.kill(this.#resolve(id)) === true) return;
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
    if (actor.initPins.length > 0) this.#host.addRefs(actor.initPins, -1);
    actor.initPins = NO_PINS;
    actor.initDue = false;
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

  /**
   * A thread ended: each actor on it is restarted or failed on its own
   * terms. `outOfMemory` says why when the thread died of its heap limit:
   * the call running then fails with OutOfMemoryError, as a task would.
   */
  threadDied(thread: ActorThread, reason: string, outOfMemory?: string): void {
    this.#threads.ended(thread);
    const running = this.#host.running(thread.link);
    for (const id of [...thread.actors]) {
      const actor = this.#actors.get(id);
      if (actor !== undefined && actor.thread === thread) {
        actor.thread = undefined;
        this.#actorDied(actor, reason, running, outOfMemory);
      }
    }
    thread.actors.clear();
  }

  /** Restarts the actor if `maxRestarts` allows and retries calls that `maxTaskRetries` allows. */
  #actorDied(actor: ActorState, reason: string, running: number | undefined, outOfMemory: string | undefined): void {
    if (actor.killed || actor.dead !== undefined) return;
    const shared = actor.options.dedicatedThread ? "" : " (a thread shared with other actors)";
    const failed = (task: Task): ErrorData =>
      outOfMemory === undefined
        ? errorToData(new WorkerCrashedError(`the worker${shared} of actor ${actor.name} died (${reason}) during this call`))
        : actorCallOutOfMemoryData(task.name, outOfMemory, task.options.maxRetries);
    if (actor.restarts >= actor.options.maxRestarts) {
      const call = outOfMemory === undefined || running === undefined ? undefined : actor.takeCall(running);
      if (call !== undefined) this.#host.settle(call, { ok: false, error: failed(call) });
      this.killActor(actor, `its worker${shared} died (${reason}) and it was restarted ${actor.restarts} of maxRestarts ${actor.options.maxRestarts} times`);
      return;
    }
    actor.restarts++;
    this.#host.events()?.emit({ kind: "actorRestarted", actor: actor.id, restarts: actor.restarts, reason });
    const inFlight = actor.takeInFlight();
    const retried: Task[] = [];
    for (const task of inFlight) {
      // Only the call that was running when the thread died spends a retry; the others had not started.
      if (task.id !== running) retried.push(task);
      else if (task.attempts < task.options.maxRetries) {
        task.attempts++;
        this.#host.events()?.emit({ kind: "taskRetried", task, reason: `the actor's worker died (${reason})` });
        retried.push(task);
      } else this.#host.settle(task, { ok: false, error: failed(task) });
    }
    actor.requeue(retried);
    this.#start(actor);
  }
}
