/**
 * The actors living on one worker thread. A thread hosts any number of
 * actors, each with its own instance and its own call queues; a call runs
 * on the thread's event loop, so an actor that is idle or awaiting I/O costs
 * no thread.
 *
 * Each actor has one lane per concurrency group (the default group, limited
 * by `maxConcurrency`, and each named group). A lane starts its calls in
 * arrival order and runs at most its limit at once; with a limit of 1 (the
 * default) a call starts only after the previous one has settled, awaits
 * included, so calls run strictly in order.
 */
import { RayError, TaskCancelledError, taskErrorData } from "../api/errors.js";
import type { ActorConcurrency, ActorInitCells, Encoded, FromWorker, ToWorker } from "../protocol/protocol.js";
import { needsArrow, preloadArrow } from "../codec/serialization.js";
import { ActorTimers } from "./actor-timers.js";

type Callable = (...args: unknown[]) => unknown;
type Call = Extract<ToWorker, { kind: "call" }>;
/** Constructor arguments of an actor started without any: shared, never written. */
const NO_ARGS: readonly Encoded[] = [];

/** What the hosting thread provides: running code and reporting outcomes. */
export interface CallRunner {
  /** The class with this function id: its constructor, or a promise while its module loads. */
  definition(fn: number): Callable | Promise<Callable> | undefined;
  decodeArgs(args: readonly Encoded[]): unknown[];
  /** Keeps the shared blocks these arguments name by id cached until {@link unpin}; returns whether any were. */
  pin(args: readonly Encoded[]): boolean;
  unpin(args: readonly Encoded[]): void;
  /** Reports what a call returned; a promise when it is asynchronous. */
  outcome(task: number, name: string, result: unknown, start: number, explain: (error: unknown) => unknown): Promise<void> | undefined;
  fail(task: number, name: string, error: unknown, start: number): void;
  /** True (once) when the call was cancelled before it started. */
  takeCancelled(task: number): boolean;
  /** A call starts running synchronously on the thread (for crash accounting and log prefixes). */
  started(task: number, name: string, actor: number): void;
  /** After a long synchronous call: posts results and takes in messages that arrived meanwhile. */
  catchUp(started: number): void;
  /** Explains a missing name in code shipped as source text. */
  explain(fn: number, error: unknown): unknown;
  send(message: FromWorker): void;
}

/** The calls of one concurrency group of one actor. */
interface Lane {
  readonly limit: number;
  running: number;
  readonly queue: Call[];
  /** A drain loop is on the stack: a call arriving meanwhile is picked up by it. */
  draining: boolean;
}

class HostedActor {
  instance: Record<string, unknown> | undefined;
  killed = false;
  /** Timers its code set (see actor-timers.ts), with the function that clears each. */
  readonly timers = new Map<unknown, (handle: unknown) => void>();
  readonly #lanes = new Map<string, Lane>();
  readonly #methods: Readonly<Record<string, string>>;

  constructor(
    readonly id: number,
    readonly cls: number,
    readonly name: string,
    concurrency: ActorConcurrency,
  ) {
    this.#methods = concurrency.methods;
    this.#lanes.set("", { limit: concurrency.max, running: 0, queue: [], draining: false });
    for (const [group, limit] of Object.entries(concurrency.groups)) this.#lanes.set(group, { limit, running: 0, queue: [], draining: false });
  }

  lane(method: string): Lane {
    // Own keys only: a method named like an Object.prototype member ("toString") is in the default group.
    const group = Object.hasOwn(this.#methods, method) ? this.#methods[method] : undefined;
    return this.#lanes.get(group ?? "") as Lane;
  }

  lanes(): IterableIterator<Lane> {
    return this.#lanes.values();
  }
}

/** The actors of this thread, by id. */
export class ActorHost {
  readonly #runner: CallRunner;
  readonly #actors = new Map<number, HostedActor>();
  readonly #timers = new ActorTimers();
  /** Lanes given calls since the last {@link run}. */
  readonly #woken = new Map<Lane, HostedActor>();
  /**
   * Queued calls whose arguments name shared blocks by id: the driver may
   * say to forget a block while a call queued here still needs it, so the
   * block stays cached until the call has decoded its arguments or is dropped.
   */
  readonly #pinned = new Set<Call>();

  constructor(runner: CallRunner) {
    this.#runner = runner;
  }

  /** How many actors live here. */
  get size(): number {
    return this.#actors.size;
  }

  /** Builds the actors of a batch (see {@link ActorInitCells}); the calls of each queue until its constructor has run. */
  init(cells: ActorInitCells): void {
    for (let at = 0; at < cells.length; ) {
      const argc = cells[at + 4] as number;
      const actor = new HostedActor(cells[at] as number, cells[at + 1] as number, cells[at + 2] as string, cells[at + 3] as ActorConcurrency);
      const args = argc === 0 ? NO_ARGS : (cells.slice(at + 5, at + 5 + argc) as Encoded[]);
      at += 5 + argc;
      this.#actors.set(actor.id, actor);
      let fn: Callable | Promise<Callable> | undefined;
      try {
        fn = this.#runner.definition(actor.cls);
      } catch (error) {
        this.#initFailed(actor, error);
        continue;
      }
      if (fn instanceof Promise || args.some(needsArrow)) void this.#initLater(actor, fn, args);
      else this.#construct(actor, fn, args);
    }
  }

  /** Builds an actor whose class module or Arrow support is still loading. */
  async #initLater(actor: HostedActor, definition: Promise<Callable> | Callable | undefined, args: readonly Encoded[]): Promise<void> {
    try {
      const fn = await definition;
      if (args.some(needsArrow)) await preloadArrow();
      if (!actor.killed) this.#construct(actor, fn, args);
    } catch (error) {
      this.#initFailed(actor, error);
    }
  }

  #construct(actor: HostedActor, fn: Callable | undefined, args: readonly Encoded[]): void {
    try {
      if (fn === undefined) throw new RayError(`actor class ${actor.cls} was never defined on this worker`);
      const Ctor = fn as unknown as new (...args: unknown[]) => Record<string, unknown>;
      const values = this.#runner.decodeArgs(args);
      actor.instance = this.#timers.run(actor, () => new Ctor(...values));
    } catch (error) {
      this.#initFailed(actor, error);
      return;
    }
    for (const lane of actor.lanes()) this.#drain(actor, lane);
  }

  #initFailed(actor: HostedActor, error: unknown): void {
    this.#timers.clear(actor);
    this.#actors.delete(actor.id);
    this.#dropQueued(actor);
    const data = taskErrorData(`${actor.name}.constructor`, this.#runner.explain(actor.cls, error));
    this.#runner.send({ kind: "actorInitFailed", actor: actor.id, error: data });
  }

  /**
   * Queues a call on its actor's lane; {@link run} starts it. A whole batch
   * of messages is queued before any call runs, so that a batch taken in
   * while a long call runs (see `catchUp`) queues behind the calls sent
   * before it.
   */
  call(call: Call): void {
    const actor = this.#actors.get(call.actor);
    if (actor === undefined) {
      // Killed here already: the driver has settled the call.
      this.#runner.fail(call.task, call.name, new RayError(`actor ${call.actor} does not live on this thread`), performance.now());
      return;
    }
    const lane = actor.lane(call.method);
    if (this.#runner.pin(call.args)) this.#pinned.add(call);
    lane.queue.push(call);
    this.#woken.set(lane, actor);
  }

  /** Starts the calls queued since the last run, as far as their lanes allow. */
  run(): void {
    if (this.#woken.size === 0) return;
    const woken = [...this.#woken];
    this.#woken.clear();
    for (const [lane, actor] of woken) this.#drain(actor, lane);
  }

  /** Forgets an actor: queued calls are dropped, running ones finish unobserved. */
  kill(id: number): void {
    const actor = this.#actors.get(id);
    if (actor === undefined) return;
    actor.killed = true;
    actor.instance = undefined;
    this.#dropQueued(actor);
    this.#timers.clear(actor);
    this.#actors.delete(id);
  }

  /** Empties an actor's queues: those calls will not run. */
  #dropQueued(actor: HostedActor): void {
    for (const lane of actor.lanes()) {
      for (const call of lane.queue) this.#release(call);
      lane.queue.length = 0;
    }
  }

  /** A call no longer needs its blocks cached. */
  #release(call: Call): void {
    if (this.#pinned.delete(call)) this.#runner.unpin(call.args);
  }

  #drain(actor: HostedActor, lane: Lane): void {
    if (lane.draining || actor.instance === undefined) return;
    lane.draining = true;
    try {
      while (!actor.killed && lane.running < lane.limit && lane.queue.length > 0) {
        const call = lane.queue.shift() as Call;
        const started = performance.now();
        lane.running++;
        const pending = this.#run(actor, call);
        if (pending === undefined) lane.running--;
        else {
          void pending.then(() => {
            lane.running--;
            this.#drain(actor, lane);
          });
        }
        // May take in new messages (calls for this lane are appended and picked up by this loop).
        this.#runner.catchUp(started);
      }
    } finally {
      lane.draining = false;
    }
  }

  /** Runs one call; returns a promise only when it is asynchronous. Never rejects. */
  #run(actor: HostedActor, call: Call): Promise<void> | undefined {
    const start = performance.now();
    const runner = this.#runner;
    if (runner.takeCancelled(call.task)) {
      this.#release(call);
      runner.fail(call.task, call.name, new TaskCancelledError(`call ${call.name} was cancelled before it started`), start);
      return undefined;
    }
    if (call.args.some(needsArrow)) return preloadArrow().then(() => this.#run(actor, call));
    const instance = actor.instance as Record<string, unknown>;
    const explain = (error: unknown): unknown => runner.explain(actor.cls, error);
    const method = instance[call.method];
    if (typeof method !== "function") {
      this.#release(call);
      const error = new RayError(`actor class ${actor.name} has no method "${call.method}" (its instance has ${describe(method)} there)`);
      runner.fail(call.task, call.name, error, start);
      return undefined;
    }
    runner.started(call.task, actor.name, actor.id);
    let result: unknown;
    try {
      let args: unknown[];
      try {
        args = runner.decodeArgs(call.args);
      } finally {
        this.#release(call);
      }
      result = this.#timers.run(actor, () => (method as Callable).apply(instance, args));
    } catch (error) {
      runner.fail(call.task, call.name, explain(error), start);
      return undefined;
    }
    return runner.outcome(call.task, call.name, result, start, explain);
  }
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : `a ${typeof value}`;
}
