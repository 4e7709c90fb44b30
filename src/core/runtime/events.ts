/**
 * Typed lifecycle events of the driver runtime, the sink they go to, and the
 * explicit state machines of tasks and actors they drive.
 *
 * The runtime holds its sink as `EventSink | undefined` and emits with
 * `this.#events?.emit({...})`: with no sink, optional chaining skips building
 * the event at all, so a runtime nobody observes pays one field read per
 * lifecycle point. Events carry the runtime's own task record (read-only
 * view) rather than copies, so emitting allocates one small object.
 *
 * The points every task passes (submitted, queued, assigned, finished, and
 * its result freed) go through {@link TaskEventCalls} instead: a sink that
 * takes them as calls (the state recorder) gets them without any event
 * object, which at several per task is garbage enough to make the
 * collector run noticeably more often; any other sink gets the events.
 */
import type { ErrorData } from "../api/errors.js";

/**
 * States of a task or actor call:
 *
 * ```
 *   pendingArgs ──> queued ──> assigned ──> running ──> finished
 *        │            ^  │        │  │         │  └───> failed
 *        │            │  │        │  │         └──────> (retry) queued
 *        └────────────┴──┴────────┴──┴──────────────> cancelled / failed
 * ```
 * `running` is known once the worker reports (its run time comes with the
 * result) or live from the worker's running slot; `assigned` means the task
 * sits in a worker's inbox.
 */
export type TaskState = "pendingArgs" | "queued" | "assigned" | "running" | "finished" | "failed" | "cancelled";

/** Every task state, in lifecycle order. */
export const TASK_STATES: readonly TaskState[] = ["pendingArgs", "queued", "assigned", "running", "finished", "failed", "cancelled"];

const TERMINAL: ReadonlySet<TaskState> = new Set(["finished", "failed", "cancelled"]);

/** Allowed task transitions (a retry goes from assigned or running back to queued). */
const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  pendingArgs: ["queued", "failed", "cancelled"],
  queued: ["assigned", "failed", "cancelled"],
  assigned: ["running", "queued", "finished", "failed", "cancelled"],
  running: ["queued", "finished", "failed", "cancelled"],
  finished: [],
  failed: [],
  cancelled: [],
};

/** True when a task may go from `from` to `to`. */
export function canTransition(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** True for finished, failed and cancelled. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/**
 * States of an actor: `pending` until its constructor's arguments exist,
 * `alive` once its thread runs, `restarting` between a crash and the new
 * thread, `dead` for good.
 */
export type ActorLifecycle = "pending" | "alive" | "restarting" | "dead";

const ACTOR_TRANSITIONS: Readonly<Record<ActorLifecycle, readonly ActorLifecycle[]>> = {
  pending: ["alive", "dead"],
  alive: ["restarting", "dead"],
  restarting: ["alive", "dead"],
  dead: [],
};

/** True when an actor may go from `from` to `to`. */
export function canActorTransition(from: ActorLifecycle, to: ActorLifecycle): boolean {
  return ACTOR_TRANSITIONS[from].includes(to);
}

/** What an event tells of a task: the runtime's record, read-only. */
export interface TaskView {
  readonly id: number;
  readonly fn: number;
  readonly name: string;
  readonly attempts: number;
  readonly options: { readonly numCpus: number; readonly maxRetries: number };
  readonly actor: number | undefined;
  readonly method: string | undefined;
  readonly deps: number;
  /** Where the observer keeps its own record of the task (its slot in the recorder's table). */
  observed: number | undefined;
}

/** A worker thread's stable name: `task-<slot>` or `actor-<slot>`. */
export type WorkerName = `${"task" | "actor"}-${number}`;

/** One lifecycle event of the driver runtime, discriminated on `kind`. */
export type RuntimeEvent =
  | { readonly kind: "taskSubmitted"; readonly task: TaskView; readonly parent: number | undefined }
  | { readonly kind: "taskQueued"; readonly task: TaskView }
  | { readonly kind: "taskAssigned"; readonly task: TaskView; readonly worker: WorkerName }
  /** `runUs`: the run time the worker measured. */
  | { readonly kind: "taskFinished"; readonly task: TaskView; readonly runUs: number }
  | { readonly kind: "taskFailed"; readonly task: TaskView; readonly error: ErrorData; readonly runUs: number | undefined }
  | { readonly kind: "taskRetried"; readonly task: TaskView; readonly reason: string }
  | { readonly kind: "taskCancelled"; readonly task: TaskView; readonly force: boolean }
  | { readonly kind: "actorStarted"; readonly actor: number; readonly name: string; readonly className: string; readonly worker: WorkerName }
  | { readonly kind: "actorRestarted"; readonly actor: number; readonly restarts: number; readonly reason: string }
  | { readonly kind: "actorDied"; readonly actor: number; readonly reason: string }
  | { readonly kind: "objectCreated"; readonly id: number; readonly bytes: number; readonly owner: "driver" | WorkerName }
  /** An object left the store: no ref, pin or borrow keeps it any more (`bytes`: what it held). */
  | { readonly kind: "objectFreed"; readonly id: number; readonly bytes: number }
  /** The object's bytes were written to disk and its memory let go (object spilling). */
  | { readonly kind: "objectSpilled"; readonly id: number; readonly bytes: number }
  /** A spilled object was read back into memory. */
  | { readonly kind: "objectRestored"; readonly id: number; readonly bytes: number }
  | { readonly kind: "workerStarted"; readonly worker: WorkerName }
  | { readonly kind: "workerExited"; readonly worker: WorkerName; readonly reason: string }
  | { readonly kind: "log"; readonly worker: WorkerName; readonly stream: "out" | "err"; readonly text: string; readonly task: number | undefined };

/** Where the runtime sends its events; implemented by the state recorder, tests, and the cluster's forwarder. */
export interface EventSink {
  emit(event: RuntimeEvent): void;
}

/** The events every task emits, as calls that build no event object. */
export interface TaskEventCalls {
  taskSubmitted(task: TaskView, parent: number | undefined): void;
  taskQueued(task: TaskView): void;
  taskAssigned(task: TaskView, worker: WorkerName): void;
  taskFinished(task: TaskView, runUs: number): void;
  objectFreed(id: number, bytes: number): void;
}

/** The calls of {@link TaskEventCalls} as events, for a sink that only takes events. */
class EventsOfCalls implements TaskEventCalls {
  readonly #sink: EventSink;

  constructor(sink: EventSink) {
    this.#sink = sink;
  }

  taskSubmitted(task: TaskView, parent: number | undefined): void {
    this.#sink.emit({ kind: "taskSubmitted", task, parent });
  }

  taskQueued(task: TaskView): void {
    this.#sink.emit({ kind: "taskQueued", task });
  }

  taskAssigned(task: TaskView, worker: WorkerName): void {
    this.#sink.emit({ kind: "taskAssigned", task, worker });
  }

  taskFinished(task: TaskView, runUs: number): void {
    this.#sink.emit({ kind: "taskFinished", task, runUs });
  }

  objectFreed(id: number, bytes: number): void {
    this.#sink.emit({ kind: "objectFreed", id, bytes });
  }
}

/** How the runtime makes the calls of {@link TaskEventCalls} reach `sink`: directly when it takes them, else as events. */
export function taskEventCalls(sink: EventSink | undefined): TaskEventCalls | undefined {
  if (sink === undefined) return undefined;
  const calls = sink as EventSink & Partial<TaskEventCalls>;
  const direct =
    typeof calls.taskSubmitted === "function" &&
    typeof calls.taskQueued === "function" &&
    typeof calls.taskAssigned === "function" &&
    typeof calls.taskFinished === "function" &&
    typeof calls.objectFreed === "function";
  return direct ? (calls as TaskEventCalls) : new EventsOfCalls(sink);
}

/** A sink that fans events out to several sinks. */
export class EventBus implements EventSink {
  readonly #sinks: EventSink[] = [];

  /** Adds a sink; returns a function that removes it. */
  add(sink: EventSink): () => void {
    this.#sinks.push(sink);
    return () => {
      const index = this.#sinks.indexOf(sink);
      if (index >= 0) this.#sinks.splice(index, 1);
    };
  }

  get size(): number {
    return this.#sinks.length;
  }

  /** The first sink (the only one, when `size` is 1). */
  only(): EventSink | undefined {
    return this.#sinks[0];
  }

  emit(event: RuntimeEvent): void {
    for (const sink of this.#sinks) sink.emit(event);
  }
}

/** Live facts the runtime answers on demand (objects, workers, resources), for the state API. */
export interface RuntimeProbe {
  /** Tasks and actor calls submitted and not yet ended. */
  liveTasks(): Iterable<TaskView>;
  /** Id of the task each worker thread runs now (0 when idle). */
  runningTasks(): Map<WorkerName, number>;
  /** Every object in the store, with who keeps it alive; only the `limit` largest (then newest) when given. */
  objects(limit?: number): ObjectProbe[];
  /** CPU slots in use and in total. */
  slots(): { used: number; total: number };
  store(): { bytesUsed: number; capacity: number; numObjects: number };
  node(): { nodeId: string; address: string };
}

/** One object of the store, as the memory view shows it. */
export interface ObjectProbe {
  readonly id: number;
  readonly bytes: number;
  readonly status: "pending" | "ready" | "error";
  /** All references: driver refs, pins, borrows and containing objects. */
  readonly refCount: number;
  /** Tasks that keep it alive as an argument. */
  readonly pinnedBy: number[];
  /** Worker threads that hold a ref to it, with counts. */
  readonly borrowedBy: Record<string, number>;
}

/** An object of the store before who keeps it alive is looked up. */
export type StoreEntryView = Pick<ObjectProbe, "id" | "bytes" | "status" | "refCount">;

/** Every entry, or the `limit` largest (by bytes, then newest first) when a limit is given. */
export function largestObjects(entries: Iterable<StoreEntryView>, limit: number | undefined): StoreEntryView[] {
  const all = [...entries];
  if (limit === undefined || all.length <= limit) return all;
  all.sort((a, b) => b.bytes - a.bytes || b.id - a.id);
  all.length = Math.max(0, limit);
  return all;
}

/** What observes one runtime (state recorder, dashboard); closed at shutdown. */
export interface Observation {
  /** The dashboard's address once it listens, if one was started. */
  readonly dashboardUrl: string | undefined;
  /** Resolves once the dashboard listens (or failed to, which never fails init). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** The part of the driver runtime an observer uses. */
export interface ObservableRuntime {
  observe(sink: EventSink): () => void;
  readonly probe: RuntimeProbe;
}

/** Dashboard options of `init`, resolved. */
export interface ObservationOptions {
  readonly recordState: boolean;
  readonly includeDashboard: boolean;
  readonly dashboardPort: number;
  readonly dashboardHost: string;
  readonly dashboardToken: string | undefined;
  readonly numCpus: number;
}

/** Starts observing a new runtime; registered by the dashboard module, called by `init()`. */
export type ObserveHook = (runtime: ObservableRuntime, options: ObservationOptions) => Observation;
