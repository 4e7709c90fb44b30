/**
 * The driver's side of streaming generator tasks: one stream per generator
 * task (or actor call), holding the items its worker yielded until the
 * consumer takes them.
 *
 * Protocol: the worker posts each item as `streamYield` with its index. It
 * may yield index 0 at once; before yielding index i >= its credit it posts
 * `streamWait` and pauses until a `streamCredit` raises the credit past i.
 * The driver grants credit up to `consumed + backpressure` (no limit without
 * backpressure). A credit of {@link STOP} tells the worker to stop the
 * generator (the consumer is gone); {@link NOT_STREAMING} tells it that the
 * caller did not ask for a stream, so the task fails.
 *
 * A retried generator task runs again from the start: items whose index was
 * already received are dropped, so the consumer sees each item once (Ray's
 * semantics for a re-executed generator). Unconsumed items hold one count in
 * the store each; a consumed item's count passes to the consumer's ref.
 */
import { errorToData, TaskCancelledError, type ErrorData } from "../api/errors.js";
import { nextId } from "./global-state.js";
import type { LocalObjectStore } from "../store/local-object-store.js";
import type { Settled } from "../store/object-store.js";
import type { Encoded, FromWorker, ToWorker } from "../protocol/protocol.js";
import { NO_BACKPRESSURE } from "../api/object-ref-generator.js";
import { sizeOf } from "../codec/serialization.js";

/** Credit codes: stop the generator. */
export const STOP = -1;
/** Credit codes: the call was not made as a stream. */
export const NOT_STREAMING = -2;

/** What the streams need from the runtime, for one thread that sends or takes items. */
export interface StreamHooks<Link, Owner> {
  store(): LocalObjectStore;
  /** Adds `delta` references to object `id`. */
  addRef(id: number, delta: number): void;
  /** Notes the shared blocks in a value that came from a worker. */
  learn(owner: Owner, value: Encoded): void;
  send(link: Link, message: ToWorker): void;
  /** True while the task is live in the runtime (submitted, not yet settled). */
  isLive(task: number): boolean;
  /** An item was stored (for the `objectCreated` event). */
  created(id: number, bytes: number, link: Link, owner: Owner): void;
  /** A consumer in the driver starts or stops awaiting (keeps the process alive meanwhile). */
  waitStarted(): void;
  waitEnded(): void;
  /** A worker consumer now holds one borrow of `id` (the stream's count passes to it). */
  lendItem(owner: Owner, id: number): void;
  /** True once a thread has exited. */
  isDead(link: Link): boolean;
}

/**
 * The producer of a stream that runs on another machine (an actor of
 * another cluster node, see src/cluster/node-actor-sends.ts): its items
 * come through {@link GeneratorStreams.pushRemote}, and it is told what
 * the consumer here does.
 */
export interface RemoteProducer {
  /** The consumer opened the stream, pausing at `backpressure` unconsumed items ({@link NO_BACKPRESSURE}: never). */
  opened(backpressure: number): void;
  /** The consumer has taken `consumed` items. */
  consumed(consumed: number): void;
  /** The consumer is gone before the end: the producer stops. */
  stop(): void;
}

interface Stream<Link, Owner> {
  readonly task: number;
  readonly backpressure: number;
  /** Ids of items received and not yet taken. */
  readonly items: number[];
  received: number;
  consumed: number;
  /** No more items will come (the task settled). */
  ended: boolean;
  /** The consumer is gone: items are dropped. */
  closed: boolean;
  readonly waiters: ((id: number | undefined) => void)[];
  /** The worker paused before yielding index `index`. */
  parked: { readonly link: Link; readonly index: number } | undefined;
  /** The thread that started the stream, when it is a worker (the driver's own streams have none). */
  opener: Owner | undefined;
  /** Its producer, when it runs on another machine. */
  producer: RemoteProducer | undefined;
  /** The last item received holds an error (a remote producer sends its failure as an item, then ends). */
  failedLast: boolean;
}

type StreamMessage = Extract<FromWorker, { kind: "streamYield" | "streamWait" | "streamOpen" | "streamNext" | "streamClose" }>;

export class GeneratorStreams<Link, Owner> {
  readonly #hooks: StreamHooks<Link, Owner>;
  readonly #streams = new Map<number, Stream<Link, Owner>>();
  /** Remote producers of calls whose stream is not open yet. */
  readonly #producers = new Map<number, RemoteProducer>();

  constructor(hooks: StreamHooks<Link, Owner>) {
    this.#hooks = hooks;
  }

  /** Starts the stream of a task just submitted (its completion object exists). */
  open(task: number, backpressure: number, opener?: Owner): void {
    if (this.#streams.has(task)) return;
    const stream: Stream<Link, Owner> = {
      task,
      backpressure: backpressure === NO_BACKPRESSURE ? Infinity : backpressure,
      items: [],
      received: 0,
      consumed: 0,
      ended: false,
      closed: false,
      waiters: [],
      parked: undefined,
      opener,
      producer: this.#producers.get(task),
      failedLast: false,
    };
    this.#streams.set(task, stream);
    this.#producers.delete(task);
    stream.producer?.opened(backpressure);
    if (!this.#hooks.store().onSettled(task, (settled) => this.#end(stream, settled))) {
      this.#end(stream, { ok: false, error: errorToData(new TaskCancelledError(`generator task ${task} is no longer known`)) });
    }
  }

  /** The next item's id for a consumer in the driver, or undefined at the end. */
  next(task: number): Promise<number | undefined> {
    const stream = this.#streams.get(task);
    if (stream === undefined || stream.closed) return Promise.resolve(undefined);
    const id = this.#take(stream);
    if (id !== undefined || stream.ended) return Promise.resolve(id);
    this.#hooks.waitStarted();
    return new Promise((resolve) =>
      stream.waiters.push((item) => {
        this.#hooks.waitEnded();
        resolve(item);
      }),
    );
  }

  /** The consumer is done: frees unconsumed items and stops the generator. */
  close(task: number): void {
    const stream = this.#streams.get(task);
    if (stream === undefined || stream.closed) return;
    stream.closed = true;
    if (!stream.ended) stream.producer?.stop();
    for (const id of stream.items.splice(0)) this.#hooks.addRef(id, -1);
    for (const waiter of stream.waiters.splice(0)) waiter(undefined);
    this.#credit(stream);
    if (stream.ended) this.#streams.delete(task);
  }

  /** A thread died: the streams it consumed are closed (their generators stop, their items are freed). */
  ownerDied(owner: Owner): void {
    for (const stream of [...this.#streams.values()]) if (stream.opener === owner) this.close(stream.task);
  }

  /** Handles the stream messages of a worker (producer or consumer). */
  onMessage(link: Link, owner: Owner, message: StreamMessage): void {
    switch (message.kind) {
      case "streamYield":
        this.#yielded(link, owner, message.task, message.index, message.value);
        return;
      case "streamWait": {
        const stream = this.#streams.get(message.task);
        if (stream === undefined) {
          this.#hooks.send(link, { kind: "streamCredit", task: message.task, upTo: this.#hooks.isLive(message.task) ? NOT_STREAMING : STOP });
          return;
        }
        stream.parked = { link, index: message.index };
        this.#credit(stream);
        return;
      }
      case "streamOpen":
        this.open(message.task, message.backpressure, owner);
        return;
      case "streamNext":
        void this.next(message.task).then((id) => {
          if (this.#hooks.isDead(link)) {
            if (id !== undefined) this.#hooks.addRef(id, -1);
            return;
          }
          if (id !== undefined) this.#hooks.lendItem(owner, id);
          this.#hooks.send(link, { kind: "values", req: message.req, values: [id ?? null], errors: [false] });
        });
        return;
      case "streamClose":
        this.close(message.task);
        return;
    }
  }

  /** Task `task` (just submitted) streams from `producer` on another machine, once its consumer opens the stream. */
  produceRemotely(task: number, producer: RemoteProducer): void {
    const stream = this.#streams.get(task);
    if (stream !== undefined) {
      stream.producer = producer;
      producer.opened(stream.backpressure === Infinity ? NO_BACKPRESSURE : stream.backpressure);
    } else if (this.#hooks.store().onSettled(task, () => this.#producers.delete(task))) {
      this.#producers.set(task, producer);
    }
  }

  /**
   * Item `index` of remote task `task` arrived: `make` puts it in the store
   * (one reference, its value may come later) and returns its id; not
   * called, and undefined returned, when nobody will take the item.
   * `failed`: the item holds an error.
   */
  pushRemote(task: number, index: number, failed: boolean, make: () => number): number | undefined {
    const stream = this.#streams.get(task);
    if (stream === undefined || stream.closed || stream.ended || index !== stream.received) return undefined;
    const id = make();
    stream.received++;
    stream.failedLast = failed;
    const waiter = stream.waiters.shift();
    if (waiter === undefined) stream.items.push(id);
    else {
      stream.consumed++;
      stream.producer?.consumed(stream.consumed);
      waiter(id);
    }
    return id;
  }

  #yielded(link: Link, owner: Owner, task: number, index: number, value: Encoded): void {
    this.#hooks.learn(owner, value);
    const stream = this.#streams.get(task);
    const keep = stream !== undefined && !stream.closed && !stream.ended && index === stream.received;
    const id = nextId();
    // A value nobody will take still goes through the store, which frees its shared memory.
    try {
      this.#hooks.store().put(id, value, 1);
    } catch (error) {
      // No room: the item holds the error (ObjectStoreFullError), where the value would have been.
      this.#hooks.store().expect(id, 1);
      this.#hooks.store().settle(id, { ok: false, error: errorToData(error) });
    }
    if (!keep) {
      this.#hooks.addRef(id, -1);
      if (stream === undefined || stream.closed) {
        this.#hooks.send(link, { kind: "streamCredit", task, upTo: stream === undefined && this.#hooks.isLive(task) ? NOT_STREAMING : STOP });
      }
      return;
    }
    stream.received++;
    this.#hooks.created(id, sizeOf(value), link, owner);
    const waiter = stream.waiters.shift();
    if (waiter === undefined) stream.items.push(id);
    else {
      stream.consumed++;
      waiter(id);
    }
  }

  /** Takes the next received item, if any, and lets the worker go on. */
  #take(stream: Stream<Link, Owner>): number | undefined {
    const id = stream.items.shift();
    if (id === undefined) {
      if (stream.ended) this.#streams.delete(stream.task);
      return undefined;
    }
    stream.consumed++;
    stream.producer?.consumed(stream.consumed);
    this.#credit(stream);
    return id;
  }

  /** Answers a paused worker once the consumer has made room (or is gone). */
  #credit(stream: Stream<Link, Owner>): void {
    const parked = stream.parked;
    if (parked === undefined) return;
    const upTo = stream.closed ? STOP : stream.consumed + stream.backpressure;
    if (upTo !== STOP && upTo <= parked.index) return;
    stream.parked = undefined;
    this.#hooks.send(parked.link, { kind: "streamCredit", task: stream.task, upTo });
  }

  /** The task settled: no more items; a failure becomes a last item that holds the error. */
  #end(stream: Stream<Link, Owner>, settled: Settled): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.parked = undefined;
    if (stream.closed) {
      this.#streams.delete(stream.task);
      return;
    }
    // A remote producer's failure came as its last item already.
    if (!settled.ok) {
      if (!stream.failedLast) this.#pushError(stream, settled.error);
    }
    else if (settled.value !== stream.received) {
      // A generator ends with its item count: any other value means the function returned instead of yielding.
      const error = new TypeError(
        `task ${stream.task} was called with numReturns: "streaming" but returned ${describeReturned(settled.value)} instead of a generator: ` +
          `make it a generator function (function* or async function*) that yields its items, or call it without numReturns: "streaming"`,
      );
      this.#pushError(stream, errorToData(error));
    }
    while (stream.waiters.length > 0) {
      const id = stream.items.shift();
      if (id !== undefined) stream.consumed++;
      (stream.waiters.shift() as (id: number | undefined) => void)(id);
    }
    if (stream.items.length === 0 && stream.waiters.length === 0) this.#streams.delete(stream.task);
  }

  #pushError(stream: Stream<Link, Owner>, error: ErrorData): void {
    const id = nextId();
    this.#hooks.store().expect(id, 1);
    this.#hooks.store().settle(id, { ok: false, error });
    stream.items.push(id);
  }

  /** Streams still open (for tests and the state API). */
  get size(): number {
    return this.#streams.size;
  }
}

/** What a streaming call returned instead of a generator, for its error. */
function describeReturned(value: Encoded): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === "object" ? "a value" : `a ${typeof value}`;
}
