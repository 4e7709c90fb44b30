/**
 * The rayts API inside a worker: `remote`, `get`, `put`, `wait` and friends
 * become messages to the driver, which owns every object. Ids come from the
 * shared counter, so `.remote()` and `put()` return at once here too.
 *
 * Refs held in a worker are borrows: the driver counts one per ref it sends
 * (or that the worker creates); the worker keeps one ObjectRef instance per
 * id, gives back extra borrows at once and the last one when the instance is
 * collected.
 */
import type { MessagePort } from "node:worker_threads";
import { ActorClass, makeActorHandle } from "../api/actor.js";
import type { FoundActor } from "../actors/actor-manager.js";
import { DEFAULT_NAMESPACE } from "../api/actor-options.js";
import type { ResolvedActorOptions } from "../api/options.js";
import type { Backend, WaitResult } from "../runtime/backend.js";
import { errorFromData, RayError, type ErrorData } from "../api/errors.js";
import { nextId, state } from "../runtime/global-state.js";
import { microtask } from "../runtime/microtask.js";
import { isObjectRef, ObjectRef } from "../api/object-ref.js";
import { HANDLE_KEY, type Encoded, type NamedActor, type DoneCells, type FromWorker, type HandleData, type ResolvedTaskOptions, type ToWorker } from "../protocol/protocol.js";
import { RemoteFunction } from "../api/remote-function.js";
import { decode, encode, encodeArg } from "../codec/serialization.js";
import type { FinalizerTurns } from "../store/collector.js";
import { runningNow } from "../../cluster/runtime-context.js";

type Reply = Extract<ToWorker, { kind: "values" | "waited" | "timeout" }>;
interface Request {
  /** The task that asked: it runs again when the answer comes. */
  readonly task: number;
  readonly refs: readonly ObjectRef<unknown>[];
  readonly resolve: (value: never) => void;
  readonly reject: (error: unknown) => void;
}

export class WorkerBackend implements Backend {
  readonly outbox: FromWorker[] = [];
  /** Results since the last other message, sent as one flat {@link DoneCells} message. */
  #done: DoneCells | undefined;
  /** Tasks of this worker waiting in `get` or `wait`. */
  blocked = 0;
  readonly #flushNow: (port: MessagePort) => void;
  #flushScheduled = false;
  #port: MessagePort | undefined;
  /** When the outbox was last posted (performance.now()). */
  lastFlush = 0;
  readonly #send: (message: FromWorker) => void;
  readonly #onBlocked: () => number;
  readonly #onUnblocked: (task: number) => void;
  readonly #requestFlush: () => void;
  /** Size of the function table when it was last checked for functions the driver has not seen. */
  #functionsSeen = 0;
  readonly #requests = new Map<number, Request>();
  readonly #turns: FinalizerTurns;
  #nextRequest = 0;
  /** Functions the driver knows; others are announced before their first call. */
  readonly #known = new Set<number>();
  readonly #live = new Map<number, WeakRef<ObjectRef<unknown>>>();
  #releases: number[] = [];
  readonly #registry = new FinalizationRegistry<number>((id) => {
    const live = this.#live.get(id);
    if (live !== undefined && live.deref() === undefined) this.#live.delete(id);
    this.#release(id);
  });

  /**
   * `onBlocked` is told when a task parks in `get`/`wait` and returns that
   * task's id; `onUnblocked` gets the id back just before the task resumes.
   */
  constructor(
    send: (message: FromWorker) => void,
    onBlocked: () => number,
    onUnblocked: (task: number) => void,
    requestFlush: () => void,
    turns: FinalizerTurns,
  ) {
    this.#turns = turns;
    this.#send = send;
    this.#requestFlush = requestFlush;
    this.#onBlocked = onBlocked;
    this.#onUnblocked = onUnblocked;
    this.#flushNow = (port) => {
      this.#flushScheduled = false;
      this.lastFlush = performance.now();
      this.#announceFunctions();
      if (this.#releases.length > 0) {
        this.push({ kind: "release", ids: this.#releases });
        this.#releases = [];
      }
      this.#done = undefined;
      if (this.outbox.length === 0) return;
      port.postMessage(this.outbox.splice(0));
    };
  }

  /** Queues a result; consecutive results share one message. */
  done(task: number, value: Encoded, us: number): void {
    let done = this.#done;
    if (done === undefined) {
      done = this.#done = [];
      this.outbox.push(done);
    }
    done.push(task, us, value);
  }

  /** Queues any other message after the results so far (order is kept). */
  push(message: FromWorker): void {
    this.#done = undefined;
    this.outbox.push(message);
  }

  /** Posts everything queued in this tick as one batch. */
  scheduleFlush(port: MessagePort): void {
    this.#port = port;
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    microtask(() => this.#flushNow(port));
  }

  /** Posts what is queued now, without waiting for the end of the tick. */
  flushNow(): void {
    if (this.#port !== undefined && this.outbox.length > 0) this.#flushNow(this.#port);
  }

  #adopted = 0;

  /** ObjectRefs this thread took in since the last call (their borrows are given back when they are collected). */
  takeAdopted(): number {
    const adopted = this.#adopted;
    this.#adopted = 0;
    return adopted;
  }

  /** Marks functions as known to the driver (it sent them). */
  known(fn: number): void {
    this.#known.add(fn);
  }

  #release(id: number): void {
    this.#releases.push(id);
    this.#requestFlush();
  }

  /**
   * Tells the driver about remote functions made in this worker before any
   * message leaves it, so a handle to one can be called from anywhere.
   */
  #announceFunctions(): void {
    if (state.functions.size === this.#functionsSeen) return;
    this.#functionsSeen = state.functions.size;
    for (const [fn, def] of state.functions) {
      if (this.#known.has(fn)) continue;
      this.#known.add(fn);
      this.outbox.unshift({ kind: "defineFn", fn, def }); // before everything: cannot split a done batch
    }
  }

  /** Turns handle data from a message into live handles; see the class comment for borrows. */
  readonly revive = (data: HandleData): unknown => {
    switch (data[HANDLE_KEY]) {
      case "ref": {
        const live = this.#live.get(data.num)?.deref();
        if (live !== undefined) {
          this.#release(data.num);
          return live;
        }
        return this.#adopt(new ObjectRef(data.num));
      }
      case "fn":
        this.#known.add(data.id);
        return new RemoteFunction(data.id, data.taskOptions);
      case "cls":
        this.#known.add(data.classId);
        return new ActorClass(data.classId, data.name, data.methods, data.actorOptions, data.streaming);
      case "actor":
        return makeActorHandle(data.__rayts$actor.id, data.__rayts$actor.name, data.__rayts$actor.methods, data.__rayts$actor.streaming);
    }
  };

  #adopt<T>(ref: ObjectRef<T>): ObjectRef<T> {
    this.#adopted++;
    this.#live.set(ref.num, new WeakRef(ref));
    this.#registry.register(ref, ref.num);
    return ref;
  }

  /** Workers do not track handles: an actor a worker can reach is never retired by the driver. */
  trackActorHandle(): void {}

  track(ref: ObjectRef<unknown>): void {
    this.#adopt(ref);
  }

  #encodeArgs(args: readonly unknown[], name: string): Encoded[] {
    return args.map((arg, index) => (isObjectRef(arg) ? { t: "r", id: arg.num } : encodeArg(arg, `argument ${index} of ${name}`)));
  }

  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    if (!this.#known.has(fn) && !state.functions.has(fn)) throw new RayError(`remote function ${options.name} is unknown in this worker`);
    const encoded = this.#encodeArgs(args, options.name);
    const task = nextId();
    // The submitting task (its retry reuses this child, see child-reuse.ts).
    this.#send({ kind: "submit", task, fn, args: encoded, options, parent: runningNow.task });
    return this.#adopt(new ObjectRef(task));
  }

  submitCall(actor: number, method: string, args: readonly unknown[]): ObjectRef<unknown> {
    const encoded = this.#encodeArgs(args, method);
    const task = nextId();
    this.#send({ kind: "submitCall", task, actor, method, args: encoded });
    return this.#adopt(new ObjectRef(task));
  }

  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number {
    const key = options.name === undefined ? undefined : `${options.namespace}\u0000${options.name}`;
    const known = key === undefined ? undefined : this.#names.get(key);
    if (known !== undefined && options.getIfExists) return known.id;
    const actor = nextId();
    const encoded = this.#encodeArgs(args, `${state.functions.get(cls)?.name ?? "actor"}.constructor`);
    this.#send({ kind: "createActor", actor, cls, args: encoded, options, methods });
    // Known here at once; the driver confirms it to every thread (or refuses a taken name).
    if (key !== undefined && options.name !== undefined && known === undefined) {
      this.#names.set(key, { name: options.name, namespace: options.namespace, id: actor, actorName: options.name, cls, methods });
    }
    return actor;
  }

  /** Named actors by namespace and name, as the driver announced them (and those this thread just named). */
  readonly #names = new Map<string, NamedActor>();

  getActor(name: string, namespace = DEFAULT_NAMESPACE): FoundActor | undefined {
    const found = this.#names.get(`${namespace}\u0000${name}`);
    if (found === undefined) return undefined;
    const actor = { id: found.id, name: found.actorName, cls: found.cls, methods: found.methods };
    return found.streaming === undefined ? actor : { ...actor, streaming: found.streaming };
  }

  /** Applies the driver's news about actor names. */
  names(message: Extract<ToWorker, { kind: "names" }>): void {
    for (const { name, namespace } of message.removed) this.#names.delete(`${namespace}\u0000${name}`);
    for (const actor of message.set) this.#names.set(`${actor.namespace}\u0000${actor.name}`, actor);
  }

  kill(actor: number): void {
    this.#send({ kind: "kill", actor });
  }

  put(value: unknown): ObjectRef<unknown> {
    const encoded = encode(value, "the value given to put()");
    const id = nextId();
    this.#send({ kind: "put", id, value: encoded });
    return this.#adopt(new ObjectRef(id));
  }

  cancel(ref: ObjectRef<unknown>, force: boolean): void {
    this.#send({ kind: "cancelTask", id: ref.num, force });
  }

  #request<T>(refs: readonly ObjectRef<unknown>[], message: (req: number) => FromWorker): Promise<T> {
    const req = ++this.#nextRequest;
    this.blocked++;
    this.#send(message(req));
    const task = this.#onBlocked();
    return new Promise<T>((resolve, reject) => {
      this.#requests.set(req, { task, refs, resolve, reject });
    });
  }

  get(refs: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]> {
    return this.#request(refs, (req) => ({ kind: "get", req, ids: refs.map((ref) => ref.num), timeout }));
  }

  wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>> {
    return this.#request(refs, (req) => ({ kind: "wait", req, ids: refs.map((ref) => ref.num), numReturns, timeout }));
  }

  openStream(task: number, backpressure: number): void {
    this.#send({ kind: "streamOpen", task, backpressure });
  }

  /** The next item of a stream: the driver answers with its id (a borrow for this thread) or null at the end. */
  async nextItem(task: number): Promise<ObjectRef<unknown> | undefined> {
    const [id] = await this.#request<unknown[]>([], (req) => ({ kind: "streamNext", req, task }));
    return typeof id === "number" ? (this.revive({ [HANDLE_KEY]: "ref", num: id }) as ObjectRef<unknown>) : undefined;
  }

  closeStream(task: number): void {
    this.#send({ kind: "streamClose", task });
  }

  /** Settles a `get` or `wait` with the driver's answer (now and then at the next turn: see FinalizerTurns). */
  reply(message: Reply): void {
    const request = this.#requests.get(message.req);
    if (request === undefined) return;
    this.#requests.delete(message.req);
    this.#turns.run(() => this.#settle(request, message));
  }

  #settle(request: Request, message: Reply): void {
    this.blocked--;
    this.#onUnblocked(request.task);
    switch (message.kind) {
      case "timeout":
        request.reject(errorFromData({ code: "GET_TIMEOUT", name: "GetTimeoutError", message: "get() timed out", stack: undefined }));
        return;
      case "waited": {
        const ready = new Set(message.ready);
        const result: WaitResult<unknown> = [[], []];
        for (const ref of request.refs) result[ready.has(ref.num) ? 0 : 1].push(ref);
        request.resolve(result as never);
        return;
      }
      case "values": {
        const failed = message.errors.indexOf(true);
        if (failed >= 0) {
          request.reject(errorFromData(message.values[failed] as ErrorData));
          return;
        }
        try {
          request.resolve(message.values.map((value) => decode(value as Encoded, this.revive)) as never);
        } catch (error) {
          request.reject(error);
        }
        return;
      }
    }
  }
}
