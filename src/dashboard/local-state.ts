/**
 * The state API in local mode: answers `StateSource` from the driver's
 * recorder (history) and the runtime's probe (live facts: what each worker
 * runs now, the objects in the store, CPU slots in use).
 */
import type { ActorLifecycle, RuntimeProbe, TaskState } from "../core/runtime/events.js";
import type { ErrorData } from "../core/api/errors.js";
import { Recorder, type TaskRecord } from "./recorder.js";
import { Ring } from "./ring.js";
import {
  page,
  type ActorInfo,
  type ClusterStatus,
  type ErrorInfo,
  type FunctionSummary,
  type ListOptions,
  type ListResult,
  type LogLine,
  type MemorySummary,
  type NodeState,
  type ObjectInfo,
  type ReferenceType,
  type Sample,
  type StateSource,
  type TaskInfo,
  type TaskSummary,
  type TraceEvent,
  type WorkerInfo,
} from "./state-source.js";
import { traceEvents } from "./timeline.js";
import { state as threadState } from "../core/runtime/global-state.js";
import { formatId, type ActorId, type ObjectId, type TaskId } from "../core/api/ids.js";


/** Samples kept for the overview's charts: ten minutes at one a second. */
const MAX_SAMPLES = 600;
const RECENT_ERRORS = 20;

function epoch(time: number): number;
function epoch(time: number | undefined): number | undefined;
function epoch(time: number | undefined): number | undefined {
  return time === undefined ? undefined : performance.timeOrigin + time;
}

function errorInfo(error: ErrorData | undefined): ErrorInfo | undefined {
  if (error === undefined) return undefined;
  const cause = error.cause;
  return { name: error.name, code: error.code, message: error.message, stack: cause?.stack ?? error.stack };
}

export class LocalState implements StateSource {
  readonly #recorder: Recorder;
  readonly #probe: RuntimeProbe;
  readonly #samples = new Ring<Sample>(MAX_SAMPLES);
  #lastFinished = 0;
  #lastSample: number | undefined;

  /**
   * `tag`: the prefix of the public ids of the runtime whose events these are
   * (by default the thread's current runtime; a cluster node's own tag when
   * its events are replayed elsewhere).
   */
  readonly #tag: () => string;

  constructor(recorder: Recorder, probe: RuntimeProbe, tag: () => string = () => threadState.tag) {
    this.#recorder = recorder;
    this.#probe = probe;
    this.#tag = tag;
  }

  /** The public id of number `num` in the runtime this state belongs to. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names which branded id the string is
  #publicId<I extends ObjectId | ActorId>(num: number): I {
    return formatId<I>(this.#tag(), num);
  }

  get recorder(): Recorder {
    return this.#recorder;
  }

  /** Takes one point of the time series (the observation calls it every second). */
  sample(): Sample {
    const now = performance.now();
    const finished = this.#recorder.finished + this.#recorder.failed;
    const seconds = this.#lastSample === undefined ? 1 : Math.max((now - this.#lastSample) / 1000, 1e-3);
    const point: Sample = {
      time: epoch(now),
      tasksPerSecond: (finished - this.#lastFinished) / seconds,
      storeBytes: this.#probe.store().bytesUsed,
      cpusUsed: this.#probe.slots().used,
    };
    this.#lastFinished = finished;
    this.#lastSample = now;
    this.#samples.push(point);
    return point;
  }

  #task(record: TaskRecord, running: ReadonlySet<number>): TaskInfo {
    const state: TaskState = record.state === "assigned" && running.has(record.id) ? "running" : record.state;
    return {
      taskId: this.#publicId<TaskId>(record.id),
      name: record.name,
      type: record.actor === undefined ? "task" : "actorCall",
      state,
      actorId: record.actor === undefined ? undefined : this.#publicId<ActorId>(record.actor),
      attempts: record.attempts,
      nodeId: this.#probe.node().nodeId,
      worker: record.worker,
      parentTaskId: record.parent === undefined ? undefined : this.#publicId<TaskId>(record.parent),
      submittedAt: epoch(record.submitted),
      queuedAt: epoch(record.queued),
      assignedAt: epoch(record.assigned),
      startedAt: epoch(record.started),
      endedAt: epoch(record.ended),
      error: errorInfo(record.error),
    };
  }

  #running(): Set<number> {
    return new Set(this.#probe.runningTasks().values());
  }

  #allTasks(): TaskInfo[] {
    const running = this.#running();
    return this.#recorder.tasks(this.#probe.liveTasks()).map((record) => this.#task(record, running));
  }

  async listTasks(options?: ListOptions): Promise<ListResult<TaskInfo>> {
    return page(this.#allTasks(), options, this.#recorder.ended.dropped);
  }

  async getTask(taskId: TaskId): Promise<{ task: TaskInfo; children: TaskInfo[]; logs: LogLine[] } | undefined> {
    const all = this.#allTasks();
    const task = all.find((info) => info.taskId === taskId);
    if (task === undefined) return undefined;
    const children = all.filter((info) => info.parentTaskId === taskId);
    const logs = this.#logs().filter((line) => line.taskId === taskId);
    return { task, children, logs };
  }

  #actors(): ActorInfo[] {
    const nodeId = this.#probe.node().nodeId;
    return [...this.#recorder.actors.values()].reverse().map((actor) => ({
      actorId: this.#publicId<ActorId>(actor.id),
      name: actor.name,
      className: actor.className,
      state: actor.state,
      worker: actor.worker,
      nodeId,
      restarts: actor.restarts,
      startedAt: epoch(actor.started),
      endedAt: epoch(actor.ended),
      deathCause: actor.deathCause,
    }));
  }

  async listActors(options?: ListOptions): Promise<ListResult<ActorInfo>> {
    return page(this.#actors(), options, this.#recorder.droppedActors);
  }

  #objects(): ObjectInfo[] {
    const tasks = new Map<number, string>();
    for (const record of this.#recorder.liveRecords(this.#probe.liveTasks())) tasks.set(record.id, record.name);
    for (const record of this.#recorder.ended.newestFirst()) tasks.set(record.id, record.name);
    return this.#probe
      .objects()
      .sort((a, b) => b.bytes - a.bytes || b.id - a.id)
      .map((object) => {
        const referenceType: ReferenceType =
          object.pinnedBy.length > 0 ? "usedByPendingTask" : Object.keys(object.borrowedBy).length > 0 ? "borrowed" : "localReference";
        const task = tasks.get(object.id);
        return {
          objectId: this.#publicId<ObjectId>(object.id),
          bytes: object.bytes,
          status: object.status,
          owner: task !== undefined ? `task:${task}` : (this.#recorder.objectOwners.get(object.id) ?? "driver"),
          referenceType,
          refCount: object.refCount,
          pinnedBy: object.pinnedBy.map((task) => this.#publicId<TaskId>(task)),
          borrowedBy: object.borrowedBy,
        };
      });
  }

  async listObjects(options?: ListOptions): Promise<ListResult<ObjectInfo>> {
    return page(this.#objects(), options, 0);
  }

  #node(): NodeState {
    const node = this.#probe.node();
    const slots = this.#probe.slots();
    const store = this.#probe.store();
    return {
      nodeId: node.nodeId,
      address: node.address,
      alive: true,
      cpus: slots.total,
      cpusUsed: slots.used,
      objectStoreBytes: store.bytesUsed,
      objectStoreCapacity: store.capacity,
    };
  }

  async listNodes(options?: ListOptions): Promise<ListResult<NodeState>> {
    return page([this.#node()], options, 0);
  }

  async listWorkers(options?: ListOptions): Promise<ListResult<WorkerInfo>> {
    const nodeId = this.#probe.node().nodeId;
    const running = this.#probe.runningTasks();
    const live = new Set(this.#recorder.liveRecords(this.#probe.liveTasks()).map((record) => record.id));
    const names = new Set<string>([...running.keys(), ...this.#recorder.workers.keys()]);
    const workers: WorkerInfo[] = [...names].sort(byWorkerName).map((name) => {
      const record = this.#recorder.workers.get(name);
      const alive = running.has(name as never);
      const task = running.get(name as never);
      return {
        worker: name,
        type: name.startsWith("actor") ? "actor" : "task",
        nodeId,
        alive,
        // The slot keeps the last task's id after it ends: only a live one runs.
        runningTask: task !== undefined && live.has(task) ? this.#publicId<TaskId>(task) : undefined,
        startedAt: epoch(record?.started),
        exitReason: alive ? undefined : record?.exitReason,
      };
    });
    return page(workers, options, 0);
  }

  #logs(): LogLine[] {
    return this.#recorder.logs.newestFirst().map((line) => ({ time: epoch(line.time), worker: line.worker, stream: line.stream, text: line.text, taskId: line.task === undefined ? undefined : this.#publicId<TaskId>(line.task) }));
  }

  async listLogs(options?: ListOptions): Promise<ListResult<LogLine>> {
    return page(this.#logs(), options, this.#recorder.logs.dropped);
  }

  async summarizeTasks(): Promise<TaskSummary> {
    const byName = new Map<string, { type: "task" | "actorCall"; states: Partial<Record<TaskState, number>>; retries: number; runMs: number }>();
    const totals: Partial<Record<TaskState, number>> = {};
    const entry = (name: string, actorCall: boolean) => {
      let found = byName.get(name);
      if (found === undefined) byName.set(name, (found = { type: actorCall ? "actorCall" : "task", states: {}, retries: 0, runMs: 0 }));
      return found;
    };
    const add = (states: Partial<Record<TaskState, number>>, state: TaskState, count: number): void => {
      if (count > 0) states[state] = (states[state] ?? 0) + count;
    };
    for (const counters of this.#recorder.functions.values()) {
      const found = entry(counters.name, counters.actorCall);
      add(found.states, "finished", counters.finished);
      add(found.states, "failed", counters.failed);
      add(found.states, "cancelled", counters.cancelled);
      found.retries = counters.retries;
      found.runMs = counters.runMs;
    }
    const running = this.#running();
    for (const record of this.#recorder.liveRecords(this.#probe.liveTasks())) {
      const state = record.state === "assigned" && running.has(record.id) ? "running" : record.state;
      add(entry(record.name, record.actor !== undefined).states, state, 1);
    }
    const byFunction: FunctionSummary[] = [...byName].map(([name, found]) => {
      let total = 0;
      for (const [state, count] of Object.entries(found.states)) {
        total += count;
        add(totals, state as TaskState, count);
      }
      const finished = found.states.finished ?? 0;
      return { name, type: found.type, total, states: found.states, retries: found.retries, meanRunMs: finished > 0 ? found.runMs / finished : undefined };
    });
    byFunction.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
    return { byFunction, totals, dropped: this.#recorder.ended.dropped };
  }

  async memorySummary(): Promise<MemorySummary> {
    const objects = this.#objects();
    const store = this.#probe.store();
    const byReferenceType: Partial<Record<ReferenceType, { count: number; bytes: number }>> = {};
    const owners = new Map<string, { owner: string; count: number; bytes: number }>();
    for (const object of objects) {
      const type = (byReferenceType[object.referenceType] ??= { count: 0, bytes: 0 });
      type.count++;
      type.bytes += object.bytes;
      // Owners group by creator kind and function, not by object.
      const owner = object.owner;
      const group = owners.get(owner) ?? owners.set(owner, { owner, count: 0, bytes: 0 }).get(owner);
      if (group !== undefined) {
        group.count++;
        group.bytes += object.bytes;
      }
    }
    const byOwner = [...owners.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
    return { bytesUsed: store.bytesUsed, capacity: store.capacity, numObjects: store.numObjects, byReferenceType, byOwner, objects: objects.slice(0, 100), freed: { count: this.#recorder.freedObjects, bytes: this.#recorder.freedBytes } };
  }

  async status(): Promise<ClusterStatus> {
    const summary = await this.summarizeTasks();
    const actors: Partial<Record<ActorLifecycle, number>> = {};
    for (const actor of this.#recorder.actors.values()) actors[actor.state] = (actors[actor.state] ?? 0) + 1;
    const running = this.#running();
    const recentErrors = this.#recorder.ended.newestFirst("failed", RECENT_ERRORS).map((record) => this.#task(record, running));
    const queued = summary.totals.queued ?? 0;
    return {
      nodes: [this.#node()],
      demand: { total: queued, queuedOnNodes: queued, heldByDrivers: 0, drivers: 0, shapes: [] },
      tasks: summary.totals,
      actors,
      finishedTotal: this.#recorder.finished,
      failedTotal: this.#recorder.failed,
      recentErrors,
      samples: this.#samples.newestFirst().reverse(),
      dropped: { tasks: this.#recorder.ended.dropped, logs: this.#recorder.logs.dropped, actors: this.#recorder.droppedActors },
    };
  }

  async timeline(): Promise<TraceEvent[]> {
    return traceEvents(this.#allTasks(), this.#probe.node().nodeId);
  }
}

/** `task-2` before `task-10`, tasks before actors. */
function byWorkerName(a: string, b: string): number {
  const [kindA, indexA] = a.split("-");
  const [kindB, indexB] = b.split("-");
  return (kindB ?? "").localeCompare(kindA ?? "") || Number(indexA) - Number(indexB);
}
