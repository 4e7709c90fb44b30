/**
 * A node's half of the cluster state API: an EventSink on the node's local
 * runtime that publishes its task, actor, worker and object events and the
 * lines its workers print to Redis, where any driver, the head's dashboard
 * or the CLI reads them (see dashboard/cluster-state.ts).
 *
 * Everything stays bounded: events go in batches (one per turn of the event
 * loop, at most every EVENT_LINGER_MS while they flow, at most BATCH_EVENTS
 * each) to one capped stream shared by every node
 * (`XADD MAXLEN ~`), lines to another; each batch carries the sequence
 * number of its first event, so a reader counts what the caps trimmed (and
 * what this publisher dropped when Redis could not keep up) from the gaps.
 * Live facts (objects in the store, what each worker runs, slots in use) go
 * in a snapshot key, rewritten while events flow when they changed, at most
 * every SNAPSHOT_MS (less often when listing the store takes long).
 *
 * Events are written on the connection that carries the node's results, in
 * the same pipeline and before them (the node passes its result pipeline to
 * {@link EventPublisher.flush}): a driver that has a task's result can
 * already read the events of its run.
 */
import { serialize } from "node:v8";
import type { ChainableCommander, Redis } from "ioredis";
import type { EventSink, ObjectProbe, RuntimeEvent, RuntimeProbe, TaskView } from "../core/runtime/events.js";
import { PREFIX } from "./control-plane.js";
import { state as threadState } from "../core/runtime/global-state.js";

/** Stream of every node's event batches. */
export const EVENT_STREAM = `${PREFIX}state:events`;
/** Stream of every node's log lines. */
export const LOG_STREAM = `${PREFIX}state:logs`;
/** Key of a node's live snapshot. */
export const snapshotKey = (nodeId: string): string => `${PREFIX}state:snapshot:${nodeId}`;

/** Limits of what a cluster keeps in Redis. */
export interface PublisherLimits {
  /** Entries (batches) the event stream keeps, about. */
  readonly eventEntries: number;
  /** Entries (batches of lines) the log stream keeps, about. */
  readonly logEntries: number;
  /** Events not yet written after which new ones are dropped (counted). */
  readonly maxPending: number;
}

export const DEFAULT_PUBLISHER_LIMITS: PublisherLimits = { eventEntries: 2000, logEntries: 1000, maxPending: 20_000 };

const BATCH_EVENTS = 256;
const SNAPSHOT_MS = 200;
/**
 * A snapshot takes at most this share of the node's time: a store of many
 * objects (thousands of tasks queued here, each with its pending result) is
 * listed less often, since the node's main thread also feeds its workers.
 */
const SNAPSHOT_SHARE = 0.005;
/** Epoch milliseconds at performance.now() 0 (read once: the getter is not free, and events come several per task). */
const TIME_ORIGIN = performance.timeOrigin;
/** Least time between two event writes of the publisher's own while events flow (a node's result writes carry them sooner). */
const EVENT_LINGER_MS = 50;
/** Objects a snapshot lists (the largest). */
const SNAPSHOT_OBJECTS = 500;

/** A task as an event carries it over the wire. */
export type WireTask = Pick<TaskView, "id" | "name" | "attempts" | "actor" | "deps">;

/** A runtime event with its task copied to plain data. */
export type WireEvent = RuntimeEvent extends infer E ? (E extends { task: TaskView } ? Omit<E, "task"> & { task: WireTask } : E) : never;

/** One entry of the event stream. */
export interface EventBatch {
  readonly node: string;
  /** The prefix of the node runtime's public ids. */
  readonly tag: string;
  /** Sequence number of the first event (per node, from 0). */
  readonly seq: number;
  readonly events: readonly WireEvent[];
  /** Epoch milliseconds of each event. */
  readonly times: readonly number[];
}

/** One line as the log stream carries it. */
export interface WireLine {
  readonly time: number;
  readonly worker: string;
  readonly stream: "out" | "err";
  readonly text: string;
  readonly task: number | undefined;
}

/** One entry of the log stream. */
export interface LogBatch {
  readonly node: string;
  /** The prefix of the node runtime's public ids. */
  readonly tag: string;
  readonly seq: number;
  readonly lines: readonly WireLine[];
}

/** A node's live facts. */
export interface NodeSnapshot {
  readonly time: number;
  readonly address: string;
  readonly slots: { used: number; total: number };
  readonly store: { bytesUsed: number; capacity: number; numObjects: number };
  /** Worker name and the id of the task it runs (0: idle). */
  readonly running: [string, number][];
  readonly objects: ObjectProbe[];
}

function wire(event: RuntimeEvent): WireEvent {
  if (!("task" in event) || typeof event.task !== "object") return event;
  const task = event.task;
  return { ...event, task: { id: task.id, name: task.name, attempts: task.attempts, actor: task.actor, deps: task.deps } } as WireEvent;
}

export class EventPublisher implements EventSink {
  readonly #redis: Redis;
  readonly #nodeId: string;
  readonly #address: string;
  readonly #probe: RuntimeProbe;
  readonly #limits: PublisherLimits;
  readonly #onError: (error: unknown) => void;
  #events: WireEvent[] = [];
  #times: number[] = [];
  #lines: WireLine[] = [];
  #seq = 0;
  #logSeq = 0;
  #scheduled = false;
  #lastSnapshot = 0;
  /** Least time between snapshots, from what the last one took. */
  #snapshotGap = SNAPSHOT_MS;
  /** The last snapshot written, without its time: an unchanged one is not written again. */
  #lastWritten = "";
  #lastFlush = 0;
  #snapshotTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Events and lines dropped here because Redis could not keep up. */
  dropped = 0;

  constructor(redis: Redis, nodeId: string, address: string, probe: RuntimeProbe, onError: (error: unknown) => void, limits = DEFAULT_PUBLISHER_LIMITS) {
    this.#redis = redis;
    this.#nodeId = nodeId;
    this.#address = address;
    this.#probe = probe;
    this.#onError = onError;
    this.#limits = limits;
  }

  emit(event: RuntimeEvent): void {
    const time = TIME_ORIGIN + performance.now();
    if (event.kind === "log") {
      if (this.#lines.length >= this.#limits.maxPending) {
        this.dropped++;
        this.#logSeq++;
      } else this.#lines.push({ time, worker: event.worker, stream: event.stream, text: event.text, task: event.task });
    } else if (this.#events.length >= this.#limits.maxPending) {
      this.dropped++;
      this.#seq++;
    } else {
      this.#events.push(wire(event));
      this.#times.push(time);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#arm();
    }
  }

  /** While events flow, they go at most every EVENT_LINGER_MS (and with the node's result writes). */
  #arm(): void {
    const wait = this.#lastFlush + EVENT_LINGER_MS - performance.now();
    if (wait > 0) setTimeout(() => this.#due(), wait).unref();
    else setImmediate(() => this.#due());
  }

  #due(): void {
    if (this.#events.length === 0 && this.#lines.length === 0) {
      this.#scheduled = false;
      return;
    }
    // A result write of the node carried the events meanwhile: these wait out the linger from then.
    if (this.#lastFlush + EVENT_LINGER_MS - performance.now() > 1) this.#arm();
    else this.flush();
  }

  /**
   * Writes what is pending, on its own or as the first commands of
   * `pipeline` (the caller executes it), and schedules the snapshot.
   */
  flush(pipeline?: ChainableCommander): void {
    // A flush into the node's pipeline leaves the publisher's own timer armed (see #due).
    if (pipeline === undefined) this.#scheduled = false;
    if (this.#closed) return;
    const events = this.#events;
    const times = this.#times;
    const lines = this.#lines;
    if (events.length === 0 && lines.length === 0) return;
    this.#lastFlush = performance.now();
    this.#events = [];
    this.#times = [];
    this.#lines = [];
    const writes = pipeline ?? this.#redis.pipeline();
    for (let start = 0; start < events.length; start += BATCH_EVENTS) {
      const batch: EventBatch = { node: this.#nodeId, tag: threadState.tag, seq: this.#seq, events: events.slice(start, start + BATCH_EVENTS), times: times.slice(start, start + BATCH_EVENTS) };
      this.#seq += batch.events.length;
      writes.xadd(EVENT_STREAM, "MAXLEN", "~", this.#limits.eventEntries, "*", "m", serialize(batch));
    }
    for (let start = 0; start < lines.length; start += BATCH_EVENTS) {
      const batch: LogBatch = { node: this.#nodeId, tag: threadState.tag, seq: this.#logSeq, lines: lines.slice(start, start + BATCH_EVENTS) };
      this.#logSeq += batch.lines.length;
      writes.xadd(LOG_STREAM, "MAXLEN", "~", this.#limits.logEntries, "*", "m", serialize(batch));
    }
    if (pipeline === undefined) writes.exec().catch(this.#onError);
    if (events.length > 0) this.#snapshotSoon();
  }

  #snapshotSoon(): void {
    if (this.#snapshotTimer !== undefined) return;
    const wait = Math.max(0, this.#lastSnapshot + this.#snapshotGap - performance.now());
    this.#snapshotTimer = setTimeout(() => {
      this.#snapshotTimer = undefined;
      this.writeSnapshot().catch(this.#onError);
    }, wait);
    this.#snapshotTimer.unref();
  }

  /** Writes the node's live facts now. */
  async writeSnapshot(): Promise<void> {
    if (this.#closed) return;
    const started = performance.now();
    this.#lastSnapshot = started;
    const probe = this.#probe;
    const facts: Omit<NodeSnapshot, "time"> = {
      address: this.#address,
      slots: probe.slots(),
      store: probe.store(),
      running: [...probe.runningTasks()],
      objects: probe.objects(SNAPSHOT_OBJECTS),
    };
    const text = JSON.stringify(facts);
    this.#snapshotGap = Math.max(SNAPSHOT_MS, (performance.now() - started) / SNAPSHOT_SHARE);
    if (text === this.#lastWritten) return;
    this.#lastWritten = text;
    await this.#redis.set(snapshotKey(this.#nodeId), `{"time":${Date.now()},${text.slice(1)}`);
  }

  /** Writes what is pending and stops publishing. */
  async close(): Promise<void> {
    clearTimeout(this.#snapshotTimer);
    this.#snapshotTimer = undefined;
    this.flush();
    await this.writeSnapshot().catch(this.#onError);
    this.#closed = true;
  }
}
