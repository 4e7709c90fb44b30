/**
 * The state recorder: an EventSink that turns the runtime's lifecycle events
 * into task, actor, worker and log records, in bounded buffers.
 *
 * Task records live in a columnar {@link TaskTable}: recording a task
 * allocates no object that outlives its events (a record per task kept for
 * `maxTasks` more tasks would be promoted and traced by the collector, the
 * bulk of what recording cost). A live task keeps its slot in its own
 * `observed` field (no lookup table; the runtime lists its live tasks);
 * ended ones move to a ring of `maxTasks` slots. Records become objects
 * only when read. Per-function counters are kept apart from the ring, so
 * summaries stay exact after the ring drops old records.
 *
 * Recording must cost little beside a task (~3 us of driver time for an
 * empty one): reading the clock costs as much as the rest, so a burst of
 * events in one turn of the event loop shares a reading per STAMP_EVERY
 * events; the next turn reads it afresh. Times are `performance.now()` ms.
 */
import { canActorTransition, type ActorLifecycle, type EventSink, type RuntimeEvent, type TaskEventCalls, type TaskView, type WorkerName } from "../core/runtime/events.js";
import { Ring } from "./ring.js";
import { EndedSlots, STATE_CODE, TaskTable, allowed, type TaskRecord } from "./task-table.js";
import { microtask } from "../core/runtime/microtask.js";

export type { TaskRecord } from "./task-table.js";

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

const PENDING = STATE_CODE.pendingArgs;
const QUEUED = STATE_CODE.queued;
const ASSIGNED = STATE_CODE.assigned;
const FINISHED = STATE_CODE.finished;
const FAILED = STATE_CODE.failed;
const CANCELLED = STATE_CODE.cancelled;

export class Recorder implements EventSink, TaskEventCalls {
  /** Ended tasks kept (the newest `maxTasks`). */
  readonly ended: EndedSlots;
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
  readonly #table = new TaskTable();
  /** Function counters by interned name id. */
  readonly #byName: (FunctionCounters | undefined)[] = [];

  constructor(limits: RecorderLimits = DEFAULT_LIMITS) {
    this.#limits = limits;
    this.ended = new EndedSlots(limits.maxTasks, this.#table);
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
      case "taskSubmitted":
        this.#submitted(event.task, event.parent, now);
        return;
      case "taskQueued":
        this.#queued(event.task, now);
        return;
      case "taskAssigned":
        this.#assigned(event.task, event.worker, now);
        return;
      case "taskRetried": {
        const slot = this.#move(event.task, QUEUED);
        if (slot === 0) return;
        const table = this.#table;
        table.attempts[slot] = event.task.attempts;
        table.queued[slot] = now;
        table.setWorker(slot, undefined);
        table.started[slot] = NaN;
        this.#counters(slot).retries++;
        return;
      }
      case "taskFinished":
        this.#finished(event.task, event.runUs, now);
        return;
      case "taskFailed": {
        const slot = this.#move(event.task, FAILED);
        if (slot === 0) return;
        const table = this.#table;
        table.errors.set(slot, event.error);
        if (Number.isNaN(table.started[slot])) table.started[slot] = table.assigned[slot] as number;
        this.#end(event.task, slot, now).failed++;
        this.failed++;
        return;
      }
      case "taskCancelled": {
        const slot = this.#move(event.task, CANCELLED);
        if (slot === 0) return;
        this.#end(event.task, slot, now).cancelled++;
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
        this.objectFreed(event.id, event.bytes);
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

  // The events every task emits, as calls (TaskEventCalls): no event object.

  taskSubmitted(task: TaskView, parent: number | undefined): void {
    this.#submitted(task, parent, this.#clock());
  }

  taskQueued(task: TaskView): void {
    this.#queued(task, this.#clock());
  }

  taskAssigned(task: TaskView, worker: WorkerName): void {
    this.#assigned(task, worker, this.#clock());
  }

  taskFinished(task: TaskView, runUs: number): void {
    this.#finished(task, runUs, this.#clock());
  }

  objectFreed(id: number, bytes: number): void {
    if (this.objectOwners.size > 0) this.objectOwners.delete(id);
    this.freedObjects++;
    this.freedBytes += bytes;
  }

  #submitted(task: TaskView, parent: number | undefined, now: number): void {
    const pending = task.deps > 0;
    this.submitted++;
    task.observed = this.#table.add(task.id, task.name, task.actor, parent, task.attempts, pending ? PENDING : QUEUED, now, pending ? NaN : now);
  }

  #queued(task: TaskView, now: number): void {
    const slot = this.#move(task, QUEUED);
    if (slot !== 0) this.#table.queued[slot] = now;
  }

  #assigned(task: TaskView, worker: WorkerName, now: number): void {
    const slot = this.#move(task, ASSIGNED);
    if (slot === 0) return;
    this.#table.assigned[slot] = now;
    this.#table.setWorker(slot, worker);
  }

  #finished(task: TaskView, runUs: number, now: number): void {
    const slot = this.#move(task, FINISHED);
    if (slot === 0) return;
    const runMs = runUs / 1000;
    this.#table.started[slot] = now - runMs;
    const counters = this.#end(task, slot, now);
    counters.finished++;
    counters.runMs += runMs;
    this.finished++;
  }

  /** The slot of a live task, moved to state code `next`; 0 for an ended or unrecorded task. */
  #move(task: TaskView, next: number): number {
    const slot = task.observed;
    if (slot === undefined) return 0;
    const state = this.#table.state[slot] as number;
    if (state !== next && !allowed(state, next)) {
      this.invalidTransitions++;
      return 0;
    }
    this.#table.state[slot] = next;
    return slot;
  }

  #moveActor(actor: ActorRecord, next: ActorLifecycle): boolean {
    if (canActorTransition(actor.state, next)) {
      actor.state = next;
      return true;
    }
    if (actor.state !== next) this.invalidTransitions++;
    return false;
  }

  #end(task: TaskView, slot: number, now: number): FunctionCounters {
    this.#table.ended[slot] = now;
    task.observed = undefined;
    const counters = this.#counters(slot);
    this.ended.push(slot);
    return counters;
  }

  /** The counters of the function of the task in `slot`, made the first time one of its tasks ends or retries. */
  #counters(slot: number): FunctionCounters {
    const table = this.#table;
    const nameId = table.name[slot] as number;
    const found = this.#byName[nameId];
    if (found !== undefined) return found;
    const name = table.nameOf(slot);
    const counters: FunctionCounters = { name, actorCall: !Number.isNaN(table.actor[slot]), finished: 0, failed: 0, cancelled: 0, retries: 0, runMs: 0 };
    this.functions.set(name, counters);
    this.#byName[nameId] = counters;
    return counters;
  }

  /** True while `task` is submitted and not ended, as recorded. */
  isLive(task: TaskView): boolean {
    return task.observed !== undefined;
  }

  /** Records of the live tasks the runtime lists, in its order. */
  liveRecords(tasks: Iterable<TaskView>): TaskRecord[] {
    const records: TaskRecord[] = [];
    for (const task of tasks) if (task.observed !== undefined) records.push(this.#table.record(task.observed));
    return records;
  }

  /** Every retained task (live ones from `live`), newest submitted first. */
  tasks(live: Iterable<TaskView>): TaskRecord[] {
    return this.liveRecords(live)
      .concat(this.ended.newestFirst())
      .sort((a, b) => b.submitted - a.submitted || b.id - a.id);
  }
}
