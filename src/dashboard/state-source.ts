/**
 * The state API's shape: what `ray.state`, the dashboard's JSON API and the
 * CLI read. `LocalState` answers it in local mode from the driver's
 * recorder; a cluster head answers the same interface for its nodes.
 */
import type { PendingDemand } from "../cluster/status-demand.js";
import { TASK_STATES, type ActorLifecycle, type TaskState } from "../core/runtime/events.js";
import type { ActorId, ObjectId, TaskId } from "../core/api/ids.js";

/** An error as the state API shows it. */
export interface ErrorInfo {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** One task or actor call. Times are milliseconds since the epoch. */
export interface TaskInfo {
  readonly taskId: TaskId;
  /** The name shown in logs (`options.name`, or `Actor.method` for calls). */
  readonly name: string;
  readonly type: "task" | "actorCall";
  readonly state: TaskState;
  readonly actorId: ActorId | undefined;
  /** Retries spent so far. */
  readonly attempts: number;
  readonly nodeId: string;
  readonly worker: string | undefined;
  /** The task that submitted this one, if it was submitted from inside a task. */
  readonly parentTaskId: TaskId | undefined;
  readonly submittedAt: number;
  readonly queuedAt: number | undefined;
  readonly assignedAt: number | undefined;
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  readonly error: ErrorInfo | undefined;
}

export interface ActorInfo {
  readonly actorId: ActorId;
  readonly name: string;
  readonly className: string;
  readonly state: ActorLifecycle;
  readonly worker: string | undefined;
  readonly nodeId: string;
  readonly restarts: number;
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  readonly deathCause: string | undefined;
}

export interface WorkerInfo {
  readonly worker: string;
  readonly type: "task" | "actor";
  readonly nodeId: string;
  readonly alive: boolean;
  /** Id of the task running on it now, if any. */
  readonly runningTask: TaskId | undefined;
  readonly startedAt: number | undefined;
  readonly exitReason: string | undefined;
}

export interface NodeState {
  readonly nodeId: string;
  readonly address: string;
  readonly alive: boolean;
  readonly cpus: number;
  readonly cpusUsed: number;
  readonly objectStoreBytes: number;
  readonly objectStoreCapacity: number;
}

/** How an object is kept alive, in `ray memory`'s terms. */
export type ReferenceType = "usedByPendingTask" | "borrowed" | "localReference";

export interface ObjectInfo {
  readonly objectId: ObjectId;
  readonly bytes: number;
  readonly status: "pending" | "ready" | "error";
  /** `driver`, a worker name, or `task:<name>` for a task's result. */
  readonly owner: string;
  readonly referenceType: ReferenceType;
  readonly refCount: number;
  readonly pinnedBy: readonly TaskId[];
  readonly borrowedBy: Readonly<Record<string, number>>;
  /** The node whose store holds it (cluster mode). */
  readonly nodeId?: string;
}

export interface LogLine {
  readonly time: number;
  readonly worker: string;
  readonly stream: "out" | "err";
  readonly text: string;
  readonly taskId: TaskId | undefined;
  /** The node whose worker printed it (cluster mode). */
  readonly nodeId?: string;
}

/** A page of a list, and what the bounded buffers lost. */
export interface ListResult<T> {
  readonly items: T[];
  /** Items that matched the filter (before `limit` and `offset`). */
  readonly total: number;
  /** Records the buffers dropped (oldest first) to stay bounded. */
  readonly dropped: number;
}

/** Options of the list calls. */
export interface ListOptions {
  /** Keep items whose fields equal these values (compared as strings). */
  readonly filter?: Readonly<Record<string, string | number | boolean>>;
  /** At most this many items (default 100). */
  readonly limit?: number;
  /** Skip this many first (newest first for tasks and logs). */
  readonly offset?: number;
}

/** Tasks of one function, counted by state. */
export interface FunctionSummary {
  readonly name: string;
  readonly type: "task" | "actorCall";
  readonly total: number;
  readonly states: Readonly<Partial<Record<TaskState, number>>>;
  readonly retries: number;
  /** Mean run time of finished tasks, in milliseconds. */
  readonly meanRunMs: number | undefined;
}

export interface TaskSummary {
  readonly byFunction: FunctionSummary[];
  readonly totals: Readonly<Partial<Record<TaskState, number>>>;
  readonly dropped: number;
}

/** The `ray memory` view. */
export interface MemorySummary {
  readonly bytesUsed: number;
  readonly capacity: number;
  readonly numObjects: number;
  readonly byReferenceType: Readonly<Partial<Record<ReferenceType, { count: number; bytes: number }>>>;
  readonly byOwner: { owner: string; count: number; bytes: number }[];
  /** The largest objects first. */
  readonly objects: ObjectInfo[];
  /** Objects freed since recording started, and the bytes they held. */
  readonly freed: { readonly count: number; readonly bytes: number };
}

/** A point of the overview's time series. */
export interface Sample {
  readonly time: number;
  readonly tasksPerSecond: number;
  readonly storeBytes: number;
  readonly cpusUsed: number;
}

/** The overview page in one call. */
export interface ClusterStatus {
  readonly nodes: NodeState[];
  /**
   * Tasks waiting for resources, as `ray status` counts them: queued on a
   * node (in local mode, in the driver's queue) or held back in a driver
   * until a node has room (cluster mode).
   */
  readonly demand: PendingDemand;
  readonly tasks: Readonly<Partial<Record<TaskState, number>>>;
  readonly actors: Readonly<Partial<Record<ActorLifecycle, number>>>;
  readonly finishedTotal: number;
  readonly failedTotal: number;
  readonly recentErrors: TaskInfo[];
  readonly samples: Sample[];
  readonly dropped: { tasks: number; logs: number; actors: number };
}

/** The state API: implemented by `LocalState` (driver) and `ClusterState` (cluster mode). */
export interface StateSource {
  listTasks(options?: ListOptions): Promise<ListResult<TaskInfo>>;
  /** One task with its children and log lines; in cluster mode `nodeId` picks the node that ran it. */
  getTask(taskId: TaskId, nodeId?: string): Promise<{ task: TaskInfo; children: TaskInfo[]; logs: LogLine[] } | undefined>;
  listActors(options?: ListOptions): Promise<ListResult<ActorInfo>>;
  listObjects(options?: ListOptions): Promise<ListResult<ObjectInfo>>;
  listNodes(options?: ListOptions): Promise<ListResult<NodeState>>;
  listWorkers(options?: ListOptions): Promise<ListResult<WorkerInfo>>;
  listLogs(options?: ListOptions): Promise<ListResult<LogLine>>;
  summarizeTasks(): Promise<TaskSummary>;
  memorySummary(): Promise<MemorySummary>;
  status(): Promise<ClusterStatus>;
  /** The task spans as Chrome trace / Perfetto JSON. */
  timeline(): Promise<TraceEvent[]>;
}

/** One Chrome trace event (the subset rayts writes). */
export interface TraceEvent {
  readonly name: string;
  readonly cat?: string;
  readonly ph: "X" | "M" | "b" | "e";
  /** Async events (`b`/`e`) of one task share its id. */
  readonly id?: number | string;
  readonly ts?: number;
  readonly dur?: number;
  readonly pid: number | string;
  readonly tid: number | string;
  readonly args?: Record<string, unknown>;
}

const DEFAULT_LIMIT = 100;

/** The fields each list can be filtered on: a filter naming another field is refused rather than matching nothing. */
export const FILTER_FIELDS = {
  tasks: ["taskId", "name", "type", "state", "actorId", "attempts", "nodeId", "worker", "parentTaskId", "submittedAt", "queuedAt", "assignedAt", "startedAt", "endedAt"] satisfies (keyof TaskInfo)[],
  actors: ["actorId", "name", "className", "state", "worker", "nodeId", "restarts", "startedAt", "endedAt", "deathCause"] satisfies (keyof ActorInfo)[],
  objects: ["objectId", "bytes", "status", "owner", "referenceType", "refCount", "nodeId"] satisfies (keyof ObjectInfo)[],
  nodes: ["nodeId", "address", "alive", "cpus", "cpusUsed", "objectStoreBytes", "objectStoreCapacity"] satisfies (keyof NodeState)[],
  workers: ["worker", "type", "nodeId", "alive", "runningTask", "startedAt", "exitReason"] satisfies (keyof WorkerInfo)[],
  logs: ["time", "worker", "stream", "text", "taskId", "nodeId"] satisfies (keyof LogLine)[],
} as const;

/** The lists of the state API. */
export type ListKind = keyof typeof FILTER_FIELDS;

const TRUE_FALSE = ["true", "false"];
/** Every actor state, in lifecycle order (a record, so that a new state cannot be left out). */
const ACTOR_STATES = Object.keys({ pending: 0, alive: 0, restarting: 0, dead: 0 } satisfies Record<ActorLifecycle, 0>);
/** The values of the fields that take only a few: a filter value outside them would match nothing, so it is refused. */
const FILTER_VALUES: Partial<Record<ListKind, Readonly<Record<string, readonly string[]>>>> = {
  tasks: { state: TASK_STATES, type: ["task", "actorCall"] },
  actors: { state: ACTOR_STATES },
  objects: { status: ["pending", "ready", "error"], referenceType: ["usedByPendingTask", "borrowed", "localReference"] satisfies ReferenceType[] },
  nodes: { alive: TRUE_FALSE },
  workers: { type: ["task", "actor"], alive: TRUE_FALSE },
  logs: { stream: ["out", "err"] },
};

/** Why `filter` cannot be applied to the `kind` list, or undefined when it can. */
export function filterProblem(kind: ListKind, filter: Readonly<Record<string, unknown>>): string | undefined {
  const fields: readonly string[] = FILTER_FIELDS[kind];
  for (const key of Object.keys(filter)) {
    if (!fields.includes(key)) return `Unknown filter field \`${key}\` of ${kind}; expected one of ${fields.map((field) => `\`${field}\``).join(", ")}`;
    const values = FILTER_VALUES[kind]?.[key];
    if (values !== undefined && !values.includes(String(filter[key]))) {
      return `Expected filter \`${key}\` of ${kind} to be one of ${values.map((value) => `\`${value}\``).join(", ")}, got ${JSON.stringify(String(filter[key]))}`;
    }
  }
  return undefined;
}

/** Applies filter, offset and limit to items already in display order. */
export function page<T extends object>(items: readonly T[], options: ListOptions | undefined, dropped: number): ListResult<T> {
  const filter = Object.entries(options?.filter ?? {});
  const matching = filter.length === 0 ? items : items.filter((item) => filter.every(([key, value]) => String((item as Record<string, unknown>)[key]) === String(value)));
  const offset = options?.offset ?? 0;
  const limit = options?.limit ?? DEFAULT_LIMIT;
  return { items: matching.slice(offset, offset + limit), total: matching.length, dropped };
}
