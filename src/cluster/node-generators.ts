/**
 * The node's side of a streaming generator submitted by a cluster driver.
 * The node runs the generator on its own runtime and sends each item to the
 * owner as soon as it is yielded (inline when small, else held here under
 * `<task>:i<index>` and served like any large result), then the task's
 * result (the item count, or its error). With backpressure, the node stops
 * taking items from its local generator (which then pauses in its worker)
 * while that many are sent and not yet taken by the owner. A run after a
 * node died skips the items the owner already has.
 */
import * as api from "../core/api/api.js";
import { NO_BACKPRESSURE, ObjectRefGenerator } from "../core/api/object-ref-generator.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import type { Backend } from "../core/runtime/backend.js";
import type { ErrorData } from "../core/api/errors.js";
import { INLINE_LIMIT, inlineSize, toPayload, unshare, type FromNode, type ItemResult, type Payload, type ToNode } from "./wire.js";

/** What the node daemon lends the generators it runs. */
export interface GeneratorHooks {
  nodeId(): string;
  /** Queues a result for an owner. */
  result(owner: string, result: FromNode): void;
  /** Keeps a large item here for its owner, listed in the object directory. */
  hold(owner: string, id: string, ref: ObjectRef<unknown>, payload: Payload): void;
  /** Error data of an item's failure. */
  errorData(error: unknown): ErrorData;
}

interface Running {
  readonly generator: ObjectRefGenerator<unknown>;
  backpressure: number;
  sent: number;
  consumed: number;
  /** Wakes the loop waiting for the owner to take items. */
  wake: (() => void) | undefined;
}

type TaskMessage = Extract<ToNode, { k: "task" }>;

export class NodeGenerators {
  readonly #hooks: GeneratorHooks;
  readonly #running = new Map<string, Running>();
  /** Actor calls the owner streams, to their backpressure, until they start. */
  readonly #expected = new Map<string, number>();

  constructor(hooks: GeneratorHooks) {
    this.#hooks = hooks;
  }

  /** Starts the generator task; resolves with its completion ref once every item was sent (or it was closed). */
  async run(message: TaskMessage, stream: NonNullable<TaskMessage["stream"]>, backend: Backend, fn: number, args: unknown[]): Promise<ObjectRef<unknown>> {
    const backpressure = stream.backpressure > 0 ? stream.backpressure : NO_BACKPRESSURE;
    const completion = backend.submitTask(fn, args, {
      numCpus: message.numCpus,
      maxRetries: message.maxRetries,
      retryExceptions: message.retryExceptions,
      name: message.name,
      numReturns: "streaming",
      ...(backpressure === NO_BACKPRESSURE ? {} : { generatorBackpressureNumObjects: backpressure }),
    });
    const generator = new ObjectRefGenerator(completion, backpressure, backend);
    await this.#send(message.id, message.owner, generator, stream.skip, backpressure);
    return completion;
  }

  /** The owner will stream actor call `id`: its items pause at `backpressure` unconsumed ones (0: none); told late, a call already streaming pauses from then on. */
  expect(id: string, backpressure: number): void {
    const paused = backpressure > 0 ? backpressure : NO_BACKPRESSURE;
    const running = this.#running.get(id);
    if (running === undefined) this.#expected.set(id, paused);
    else running.backpressure = paused;
  }

  /** The backpressure the owner asked for actor call `id`, once (undefined: the owner does not stream it). */
  expected(id: string): number | undefined {
    const backpressure = this.#expected.get(id);
    this.#expected.delete(id);
    return backpressure;
  }

  /** Streams the items of actor call `id` (a generator method) to its owner; resolves with its completion ref. */
  async runCall(id: string, owner: string, generator: ObjectRefGenerator<unknown>, backpressure: number): Promise<ObjectRef<unknown>> {
    await this.#send(id, owner, generator, 0, backpressure);
    return generator.completed();
  }

  async #send(id: string, owner: string, generator: ObjectRefGenerator<unknown>, skip: number, backpressure: number): Promise<void> {
    // Items already delivered count as consumed: the owner only acknowledges new ones.
    const running: Running = { generator, backpressure, sent: skip, consumed: skip, wake: undefined };
    this.#running.set(id, running);
    try {
      let index = 0;
      for await (const ref of generator) {
        const at = index++;
        if (at < skip) continue; // delivered by an earlier run
        while (running.backpressure !== NO_BACKPRESSURE && running.sent - running.consumed >= running.backpressure) {
          await new Promise<void>((resolve) => (running.wake = resolve));
          if (!this.#running.has(id)) return;
        }
        running.sent++;
        this.#hooks.result(owner, { k: "item", id, index: at, item: await this.#item(id, owner, at, ref) });
      }
    } finally {
      this.#running.delete(id);
    }
  }

  async #item(task: string, owner: string, index: number, ref: ObjectRef<unknown>): Promise<ItemResult> {
    const id = `${task}:i${index.toString(36)}`;
    try {
      const value = await api.get(ref);
      if (inlineSize(value) <= INLINE_LIMIT) return { k: "ok", id, v: unshare(value) };
      const payload = toPayload(value);
      this.#hooks.hold(owner, id, ref, payload);
      return { k: "big", id, size: payload.bytes.byteLength, holder: this.#hooks.nodeId() };
    } catch (error) {
      return { k: "err", id, e: this.#hooks.errorData(error) };
    }
  }

  /** The owner took items up to `consumed`. */
  ack(id: string, consumed: number): void {
    const running = this.#running.get(id);
    if (running === undefined || consumed <= running.consumed) return;
    running.consumed = consumed;
    const wake = running.wake;
    running.wake = undefined;
    wake?.();
  }

  /** The owner closed the stream (or cancelled the task): the generator stops; true when it ran here. */
  close(id: string): boolean {
    const running = this.#running.get(id);
    if (running === undefined) return false;
    this.#running.delete(id);
    running.generator.close();
    const wake = running.wake;
    running.wake = undefined;
    wake?.();
    return true;
  }
}
