/**
 * The state recorder: an EventSink that turns the runtime's lifecycle events
 * into task, actor, worker and log records, in bounded buffers.
 *
 * A live task's record sits in the task's own `observed` slot (no lookup
 * table; the runtime lists its live tasks); ended ones move to a ring of
 * `maxTasks`. Per-function counters are kept apart from the ring, so
 * summaries stay exact after the ring drops old records.
 *
 * Recording must cost little beside a task (~3 us of driver time for an
 * empty one): reading the clock costs as much as the rest, so a burst of
 * events in one turn of the event loop shares a reading per STAMP_EVERY
 * events; the next turn reads it afresh. Times are `performance.now()` ms.
 */
import { canActorTransition, canTransition, type ActorLifecycle, type EventSink, type RuntimeEvent, type TaskState, type TaskView } from "../core/runtime/events.js";
import type { ErrorData } from "../core/api/errors.js";
import { Ring } from "./ring.js";
import { microtask } from "../core/runtime/microtask.js";

/** One task or actor call as recorded. */
export interface TaskRecord {
  readonly id: number;
  readonly name: string;
  readonly actor: number | undefined;
  state: TaskState;
  attempts: number;
  worker: string | undefined;
  readonly parent: number | undefined;
  readonly submitted: number;
  queued: number | undefined;
  assigned: number | undefined;
  started: number | undefined;
  ended: number | undefined;
  error: ErrorData | undefined;
}

export interface ActorRecord {
  readonly id: number;
  readonly name: string;
  readonly className: string;
  state: ActorLifecycle;
  worker: string | undefined;
  restarts: number;
  readonly started: number;
  ended: number | undefined;
  deathCause: string | undefined;
}

export interface WorkerRecord {
  readonly name: string;
  started: number | undefined;
  exited: number | undefined;
  exitReason: string | undefined;
}

export interface LogRecord {
  readonly time: number;
  readonly worker: string;
  readonly stream: "out" | "err";
  readonly text: string;
  readonly task: number | undefined;
}

/** Per function name: ended tasks by state, retries and total run time. */
export interface FunctionCounters {
  readonly name: string;
  readonly actorCall: boolean;
  finished: number;
  failed: number;
  cancelled: number;
  retries: number;
  runMs: number;
}

/** Buffer sizes of the recorder. */
export interface RecorderLimits {
  readonly maxTasks: number;
  readonly maxLogs: number;
  readonly maxDeadActors: number;
  readonly maxObjects: number;
}

export const DEFAULT_LIMITS: RecorderLimits = { maxTasks: 10_000, maxLogs: 2_000, maxDeadActors: 1_000, maxObjects: 10_000 };

/** Events that share one clock reading within a turn of the event loop. */
const STAMP_EVERY = 32;

export class Recorder implements EventSink {
  readonly ended: Ring<TaskRecord>;
  readonly logs: Ring<LogRecord>;
  readonly actors = new Map<number, ActorRecord>();
  readonly workers = new Map<string, WorkerRecord>();
  readonly functions = new Map<string, FunctionCounters>();
  /** Creators of objects made by `put`, by id (oldest evicted first). */
  readonly objectOwners = new Map<number, string>();
  readonly #limits: RecorderLimits;
  readonly #deadActors: number[] = [];
  readonly #logListeners = new Set<(line: LogRecord) => void>();
  submitted = 0;
  finished = 0;
  failed = 0;
  cancelled = 0;
  droppedActors = 0;
  /** Objects the store freed, and the bytes they held. */
  freedObjects = 0;
  freedBytes = 0;
  /** Transitions the state machines did not allow (always 0 unless the runtime misreports). */
  invalidTransitions = 0;
  #now = 0;
  #stamps = 0;
  #expiring = false;
  readonly #expire = (): void => {
    this.#stamps = 0;
    this.#expiring = false;
  };
  /** The function counters of the last ended task: runs of one function skip the map. */
  #lastCounters: FunctionCounters | undefined;

  constructor(limits: RecorderLimits = DEFAULT_LIMITS) {
    this.#limits = limits;
    this.ended = new Ring(limits.maxTasks);
    this.logs = new Ring(limits.maxLogs);
  }

  /** Calls `listener` for every log line from now on; returns a function that stops it. */
  onLog(listener: (line: LogRecord) => void): () => void {
    this.#logListeners.add(listener);
    return () => this.#logListeners.delete(listener);
  }

  #clock(): number {
    if (this.#stamps > 0) {
      this.#stamps--;
      return this.#now;
    }
    this.#stamps = STAMP_EVERY - 1;
    if (!this.#expiring) {
      this.#expiring = true;
      microtask(this.#expire);
    }
    return (this.#now = performance.now());
  }

  /** Records one event; `at` (a `performance.now()` time) replays an event that happened elsewhere. */
  emit(event: RuntimeEvent, at?: number): void {
    const now = at ?? this.#clock();
    switch (event.kind) {
      case "taskSubmitted": {
        const task = event.task;
        const pending = task.deps > 0;
        this.submitted++;
        task.observed = {
          id: task.id,
          name: task.name,
          actor: task.actor,
          state: pending ? "pendingArgs" : "queued",
          attempts: task.attempts,
          worker: undefined,
          parent: event.parent,
          submitted: now,
          queued: pending ? undefined : now,
          assigned: undefined,
          started: undefined,
          ended: undefined,
          error: undefined,
        } satisfies TaskRecord;
        return;
      }
      case "taskQueued": {
        const record = this.#move(event.task, "queued");
        if (record !== undefined) record.queued = now;
        return;
      }
      case "taskAssigned": {
        const record = this.#move(event.task, "assigned");
        if (record === undefined) return;
        record.assigned = now;
        record.worker = event.worker;
        return;
      }
      case "taskRetried": {
        const record = this.#move(event.task, "queued");
        if (record === undefined) return;
        record.attempts = event.task.attempts;
        record.queued = now;
        record.worker = undefined;
        record.started = undefined;
        this.#counters(record).retries++;
        return;
      }
      case "taskFinished": {
        const record = this.#move(event.task, "finished");
        if (record === undefined) return;
        record.started = now - event.runUs / 1000;
        const counters = this.#end(event.task, record, now);
        counters.finished++;
        counters.runMs += event.runUs / 1000;
        this.finished++;
        return;
      }
      case "taskFailed": {
        const record = this.#move(event.task, "failed");
        if (record === undefined) return;
        record.error = event.error;
        record.started ??= record.assigned;
        this.#end(event.task, record, now).failed++;
        this.failed++;
        return;
      }
      case "taskCancelled": {
        const record = this.#move(event.task, "cancelled");
        if (record === undefined) return;
        this.#end(event.task, record, now).cancelled++;
        this.cancelled++;
        return;
      }
      case "actorStarted": {
        const actor = this.actors.get(event.actor);
        if (actor === undefined) {
          this.actors.set(event.actor, {
            id: event.actor,
            name: event.name,
            className: event.className,
            state: "alive",
            worker: event.worker,
            restarts: 0,
            started: now,
            ended: undefined,
            deathCause: undefined,
          });
        } else if (this.#moveActor(actor, "alive")) actor.worker = event.worker;
        return;
      }
      case "actorRestarted": {
        const actor = this.actors.get(event.actor);
        if (actor !== undefined && this.#moveActor(actor, "restarting")) actor.restarts = event.restarts;
        return;
      }
      case "actorDied": {
        const actor = this.actors.get(event.actor);
        if (actor === undefined || !this.#moveActor(actor, "dead")) return;
        actor.ended = now;
        actor.deathCause = event.reason;
        this.#deadActors.push(actor.id);
        if (this.#deadActors.length > this.#limits.maxDeadActors) {
          this.actors.delete(this.#deadActors.shift() as number);
          this.droppedActors++;
        }
        return;
      }
      case "objectCreated":
        this.objectOwners.set(event.id, event.owner);
        if (this.objectOwners.size > this.#limits.maxObjects) this.objectOwners.delete(this.objectOwners.keys().next().value as number);
        return;
      case "objectFreed":
        this.objectOwners.delete(event.id);
        this.freedObjects++;
        this.freedBytes += event.bytes;
        return;
      case "workerStarted": {
        const worker = this.workers.get(event.worker);
        if (worker === undefined) this.workers.set(event.worker, { name: event.worker, started: now, exited: undefined, exitReason: undefined });
        else {
          worker.started = now;
          worker.exited = undefined;
          worker.exitReason = undefined;
        }
        return;
      }
      case "workerExited": {
        const worker = this.workers.get(event.worker) ?? { name: event.worker, started: undefined, exited: undefined, exitReason: undefined };
        worker.exited = now;
        worker.exitReason = event.reason;
        this.workers.set(event.worker, worker);
        return;
      }
      case "log": {
        const line: LogRecord = { time: now, worker: event.worker, stream: event.stream, text: event.text, task: event.task };
        this.logs.push(line);
        for (const listener of this.#logListeners) listener(line);
        return;
      }
    }
  }

  /** The live record of a task, moved to `next`; undefined for an ended or unrecorded task. */
  #move(task: TaskView, next: TaskState): TaskRecord | undefined {
    const record = task.observed as TaskRecord | undefined;
    if (record === undefined) return undefined;
    if (record.state !== next && !canTransition(record.state, next)) {
      this.invalidTransitions++;
      return undefined;
    }
    record.state = next;
    return record;
  }

  #moveActor(actor: ActorRecord, next: ActorLifecycle): boolean {
    if (canActorTransition(actor.state, next)) {
      actor.state = next;
      return true;
    }
    if (actor.state !== next) this.invalidTransitions++;
    return false;
  }

  #end(task: TaskView, record: TaskRecord, now: number): FunctionCounters {
    record.ended = now;
    task.observed = undefined;
    this.ended.push(record);
    return this.#counters(record);
  }

  #counters(record: TaskRecord): FunctionCounters {
    const last = this.#lastCounters;
    if (last !== undefined && last.name === record.name) return last;
    let counters = this.functions.get(record.name);
    if (counters === undefined) {
      counters = { name: record.name, actorCall: record.actor !== undefined, finished: 0, failed: 0, cancelled: 0, retries: 0, runMs: 0 };
      this.functions.set(record.name, counters);
    }
    return (this.#lastCounters = counters);
  }

  /** Records of the live tasks the runtime lists, in its order. */
  static liveRecords(tasks: Iterable<TaskView>): TaskRecord[] {
    const records: TaskRecord[] = [];
    for (const task of tasks) if (task.observed !== undefined) records.push(task.observed as TaskRecord);
    return records;
  }

  /** Every retained task (live ones from `live`), newest submitted first. */
  tasks(live: Iterable<TaskView>): TaskRecord[] {
    return Recorder.liveRecords(live).concat(this.ended.newestFirst()).sort((a, b) => b.submitted - a.submitted || b.id - a.id);
  }
}
