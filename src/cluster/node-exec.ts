/**
 * What a node runs for its owners: tasks, actors and actor calls, on the
 * node's local runtime (its worker threads and object store). A task whose
 * function is defined and whose arguments are inline is submitted in the
 * same turn it arrives, so a stream of tiny tasks takes the local runtime's
 * micro-batching fast path. Each result goes to its owner inline when small,
 * else stays held here for pullers.
 */
import * as api from "../core/api/api.js";
import { ActorClass } from "../core/api/actor.js";
import { ActorDiedError, errorToData, RayError, TaskCancelledError, type ErrorData } from "../core/api/errors.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import { NO_BACKPRESSURE, ObjectRefGenerator } from "../core/api/object-ref-generator.js";
import type { Backend } from "../core/runtime/backend.js";
import { state } from "../core/runtime/global-state.js";
import { holdsRefs } from "./nested-refs.js";
import type { ActorArrivals } from "./actor-arrivals.js";
import { actorMarker, localHandle, type ActorWire, type LocalHandle } from "./actor-wire.js";
import type { NodeFunctions } from "./node-functions.js";
import { NodeGenerators } from "./node-generators.js";
import type { NodeObjects } from "./node-objects.js";
import type { NodeOutbox, StreamEntry } from "./node-outbox.js";
import type { OwnerWatch, OwnerWork } from "./owner-watch.js";
import { markReturnedRefs } from "./returned-refs.js";
import { INLINE_LIMIT, inlineSize, toPayload, unshare, type Payload, type ToNode } from "./wire.js";

type TaskMessage = Extract<ToNode, { k: "task" }>;
type ActorMessage = Extract<ToNode, { k: "actor" }>;
type CallMessage = Extract<ToNode, { k: "call" }>;

const MISSING_PACKAGE = /Cannot find (?:package|module) '([^']+)'/;

/** The parts of a node its work uses. */
export interface ExecParts {
  readonly nodeId: string;
  readonly address: string;
  readonly functions: NodeFunctions;
  readonly objects: NodeObjects;
  readonly outbox: NodeOutbox;
  readonly owners: OwnerWatch;
  /** Calls that arrive before their actor (see actor-arrivals.ts). */
  readonly arrivals: ActorArrivals;
  /** What an actor handle a task returned travels as (see node-actors.ts). */
  exportActor(handle: LocalHandle): ActorWire;
  log(line: string): void;
}

/** A method of an actor handle on this node. */
interface ActorMethodStub {
  remote(...args: unknown[]): unknown;
  options(options: { generatorBackpressureNumObjects: number }): ActorMethodStub;
}

export class NodeExec {
  readonly #parts: ExecParts;
  /** Tasks and calls submitted to the local runtime and not finished, by owner-given id. */
  readonly running = new Map<string, ObjectRef<unknown>>();
  /** The owner of each task and call of the local runtime run for one, until its result is queued (their printed lines go to it). */
  readonly #printers = new Map<number, string>();
  /** Tasks received and not submitted yet (their function or arguments on the way), and those of them cancelled meanwhile. */
  readonly #arriving = new Set<string>();
  readonly #cancelledEarly = new Set<string>();
  readonly actors = new Map<string, Record<string, ActorMethodStub>>();
  readonly #actorChains = new Map<string, Promise<void>>();
  busyCpus = 0;
  /** Streaming generators run here for their owners (see node-generators.ts). */
  readonly generators: NodeGenerators;

  constructor(parts: ExecParts) {
    this.#parts = parts;
    this.generators = new NodeGenerators({
      nodeId: () => parts.nodeId,
      result: (owner, result) => parts.outbox.result(owner, result),
      hold: (owner, id, ref, payload) => this.hold(owner, id, ref, payload),
      errorData: (error) => this.errorData(error),
    });
  }

  /** The owner a task or call of the local runtime runs for, while it runs. */
  ownerOf(task: number): string | undefined {
    return this.#printers.get(task);
  }

  /** Keeps a large value here for `owner` under `id`, listed in the object directory soon. */
  hold(owner: string, id: string, ref: ObjectRef<unknown>, payload: Payload): void {
    this.#parts.objects.hold(owner, id, ref, payload);
    this.#parts.outbox.schedule();
  }

  task(message: TaskMessage, entry: StreamEntry): void {
    entry.pending++;
    this.busyCpus += message.numCpus;
    this.#parts.owners.task(message.owner, message.id);
    // A defined function and inline arguments (tiny tasks): submitted in this turn, one promise per task.
    const fn = this.#parts.functions.defined(message.fn);
    const args = fn === undefined ? undefined : this.#parts.objects.args(message.args);
    const backend = state.backend;
    if (fn !== undefined && Array.isArray(args) && message.stream === undefined && backend !== undefined) {
      this.#runNow(message, entry, backend, fn, args);
      return;
    }
    this.#arriving.add(message.id);
    // #runTaskLater reports every failure as the task's result: it does not reject.
    void this.#runTaskLater(message).finally(() => {
      this.#arriving.delete(message.id);
      this.#cancelledEarly.delete(message.id);
      this.#taskDone(message, entry);
    });
  }

  #taskDone(message: TaskMessage, entry: StreamEntry): void {
    this.busyCpus -= message.numCpus;
    this.#parts.owners.taskDone(message.owner, message.id);
    this.#parts.outbox.settled(entry);
  }

  /** Submits a task whose function and arguments are here, and sends its result once it settles. */
  #runNow(message: TaskMessage, entry: StreamEntry, backend: Backend, fn: number, args: unknown[]): void {
    const { id, owner } = message;
    let ref: ObjectRef<unknown>;
    try {
      ref = backend.submitTask(fn, args, { numCpus: message.numCpus, maxRetries: message.maxRetries, retryExceptions: message.retryExceptions, name: message.name });
    } catch (error) {
      this.#parts.outbox.result(owner, { k: "err", id, e: this.errorData(error) });
      this.#taskDone(message, entry);
      return;
    }
    this.running.set(id, ref);
    this.#printers.set(ref.num, owner);
    const settled = backend.getOne?.(ref, undefined) ?? backend.get([ref], undefined).then((values) => values[0]);
    settled.then(
      (value) => {
        this.#printers.delete(ref.num);
        if (holdsRefs(value)) {
          // Refs inside the value: the general path (see #finish).
          this.running.delete(id);
          void this.#finish(id, owner, ref).finally(() => this.#taskDone(message, entry));
          return;
        }
        this.#send(id, owner, ref, value);
        this.#taskDone(message, entry);
      },
      (error: unknown) => {
        this.#printers.delete(ref.num);
        this.#parts.outbox.result(owner, { k: "err", id, e: this.errorData(error) });
        this.running.delete(id);
        this.#taskDone(message, entry);
      },
    );
  }

  actor(message: ActorMessage, entry: StreamEntry): void {
    entry.pending++;
    this.#parts.owners.actor(message.owner, message.id, message.options.detached);
    // Calls to the actor queue behind its creation (those that came first already wait for it, in their chain).
    const started = this.#startActor(message).finally(() => this.#parts.outbox.settled(entry));
    if (!this.#parts.arrivals.arrived(message.id, started)) this.#actorChains.set(message.id, started);
  }

  call(message: CallMessage, entry: StreamEntry): void {
    entry.pending++;
    // A call to an actor not created here (yet) waits while it may still come (see actor-arrivals.ts).
    const before = this.#actorChains.get(message.actor) ?? this.#parts.arrivals.expect(message.actor);
    const chain = before.then(() => this.#call(message, entry));
    this.#actorChains.set(message.actor, chain);
  }

  kill(actor: string): void {
    const handle = this.actors.get(actor);
    this.actors.delete(actor);
    this.#parts.arrivals.gone(actor);
    if (handle !== undefined) api.kill(handle as never);
  }

  cancel(id: string, force: boolean): void {
    if (this.generators.close(id)) return;
    const ref = this.running.get(id);
    if (ref !== undefined) api.cancel(ref, { force });
    else if (this.#arriving.has(id)) this.#cancelledEarly.add(id);
  }

  /** Cancels a dead owner's tasks and kills its non-detached actors; returns how many, and the killed actors. */
  ownerDied(work: OwnerWork): { cancelled: number; killed: Set<string> } {
    let cancelled = 0;
    const killed = new Set<string>();
    for (const id of work.tasks) {
      const ref = this.running.get(id);
      if (ref === undefined) continue;
      api.cancel(ref, { force: true });
      cancelled++;
    }
    for (const [id, detached] of work.actors) {
      if (detached) continue;
      const handle = this.actors.get(id);
      this.actors.delete(id);
      this.#actorChains.delete(id);
      this.#parts.arrivals.gone(id);
      if (handle !== undefined) {
        api.kill(handle as never);
        killed.add(id);
      }
    }
    return { cancelled, killed };
  }

  async #runTaskLater(message: TaskMessage): Promise<void> {
    let fn: number;
    let args: unknown[];
    try {
      fn = await this.#parts.functions.fn(message.fn);
      args = await this.#parts.objects.args(message.args);
    } catch (error) {
      this.#parts.outbox.result(message.owner, { k: "err", id: message.id, e: this.errorData(error) });
      return;
    }
    return this.#submit(message, fn, args);
  }

  async #submit(message: TaskMessage, fn: number, args: unknown[]): Promise<void> {
    try {
      const backend = state.backend;
      if (backend === undefined) throw new RayError(`node ${this.#parts.nodeId} is shutting down`);
      this.#arriving.delete(message.id);
      if (this.#cancelledEarly.has(message.id)) throw new TaskCancelledError(`task ${message.name} (${message.id}) was cancelled`);
      if (message.stream !== undefined) {
        const completion = await this.generators.run(message, message.stream, backend, fn, args);
        await this.#finish(message.id, message.owner, completion);
        return;
      }
      const ref = backend.submitTask(fn, args, {
        numCpus: message.numCpus,
        maxRetries: message.maxRetries,
        retryExceptions: message.retryExceptions,
        name: message.name,
      });
      this.#printers.set(ref.num, message.owner);
      try {
        await this.#finish(message.id, message.owner, ref);
      } finally {
        this.#printers.delete(ref.num);
      }
    } catch (error) {
      this.#parts.outbox.result(message.owner, { k: "err", id: message.id, e: this.errorData(error) });
    }
  }

  async #startActor(message: ActorMessage): Promise<void> {
    try {
      const cls = await this.#parts.functions.fn(message.cls);
      const args = await this.#parts.objects.args(message.args);
      const actorClass = new ActorClass(cls, message.name, message.methods, { ...message.options, name: undefined });
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- false positive: the spread does not type-check without it
      this.actors.set(message.id, actorClass.remote(...(args as never[])) as never);
    } catch (error) {
      this.#parts.log(`actor ${message.name} (${message.id}) could not start: ${String(error)}`);
    }
  }

  async #call(message: CallMessage, entry: StreamEntry): Promise<void> {
    try {
      const handle = this.actors.get(message.actor);
      if (handle === undefined) throw new ActorDiedError(`actor ${message.actor} is not alive on node ${this.#parts.nodeId}`);
      const args = await this.#parts.objects.args(message.args);
      const method = handle[message.method];
      if (method === undefined) throw new RayError(`actor ${message.actor} has no method ${message.method}`);
      const backpressure = this.generators.expected(message.id);
      const stub = backpressure === undefined || backpressure === NO_BACKPRESSURE ? method : method.options({ generatorBackpressureNumObjects: backpressure });
      const out: unknown = stub.remote(...args);
      // A generator method streams its items to the owner (see node-generators.ts), then its item count.
      const call = out instanceof ObjectRefGenerator ? undefined : (out as ObjectRef<unknown>);
      if (call !== undefined) this.#printers.set(call.num, message.owner);
      const ref = out instanceof ObjectRefGenerator ? this.generators.runCall(message.id, message.owner, out, backpressure ?? NO_BACKPRESSURE) : Promise.resolve(out as ObjectRef<unknown>);
      void ref
        .then((done) => this.#finish(message.id, message.owner, done))
        .finally(() => {
          if (call !== undefined) this.#printers.delete(call.num);
          this.#parts.outbox.settled(entry);
        });
    } catch (error) {
      this.#parts.outbox.result(message.owner, { k: "err", id: message.id, e: this.errorData(error) });
      this.#parts.outbox.settled(entry);
    }
  }

  /** Waits for a local result and sends it to its owner: inline when small, else held here. */
  async #finish(id: string, owner: string, ref: ObjectRef<unknown>): Promise<void> {
    this.running.set(id, ref);
    try {
      let value = await api.get(ref);
      const handle = localHandle(value);
      if (handle !== undefined) value = actorMarker(this.#parts.exportActor(handle));
      else if (holdsRefs(value)) {
        // Refs inside the value: small ones inline, large ones held here for the owner (see returned-refs.ts).
        value = await markReturnedRefs(value, id, this.#parts.nodeId, (heldId, local, payload) => this.hold(owner, heldId, local, payload), (handle) => this.#parts.exportActor(handle));
      }
      this.#send(id, owner, ref, value);
    } catch (error) {
      this.#parts.outbox.result(owner, { k: "err", id, e: this.errorData(error) });
      this.running.delete(id);
    }
  }

  /** Sends a settled result to its owner, inline when small, else held here; then forgets it as running. */
  #send(id: string, owner: string, ref: ObjectRef<unknown>, value: unknown): void {
    const { objects, outbox } = this.#parts;
    try {
      if (inlineSize(value) <= INLINE_LIMIT) {
        outbox.result(owner, { k: "ok", id, v: unshare(value) });
      } else {
        const payload = toPayload(value);
        objects.hold(owner, id, ref, payload);
        outbox.result(owner, { k: "big", id, size: payload.bytes.byteLength, holder: this.#parts.nodeId });
      }
    } catch (error) {
      outbox.result(owner, { k: "err", id, e: this.errorData(error) });
    }
    // After the result is queued: the outbox counts this task as running when it picks the result's linger.
    this.running.delete(id);
  }

  /** Error data; a missing package is named with this node, where it must be installed. */
  errorData(error: unknown): ErrorData {
    const data = errorToData(error);
    const text = data.cause?.message ?? data.message;
    const missing = MISSING_PACKAGE.exec(text);
    if (missing === null) return data;
    const note = `package "${missing[1]}" is not installed on node ${this.#parts.nodeId} (${this.#parts.address}); install it on every node (${text})`;
    return data.cause === undefined
      ? { ...data, message: note }
      : { ...data, message: note, cause: { ...data.cause, message: note } };
  }
}
