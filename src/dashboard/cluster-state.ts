/**
 * The state API in cluster mode: answers `StateSource` for every node of a
 * cluster from what the nodes publish to Redis (see
 * cluster/event-publisher.ts). Each call first reads the streams from where
 * the last one stopped (so history outlives the nodes that made it, up to
 * the streams' caps), then merges the nodes' answers. Task ids are per node:
 * a task is named by `nodeId` and `taskId`.
 */
import { deserialize } from "node:v8";
import type { Redis } from "ioredis";
import type { ActorLifecycle, TaskState } from "../core/runtime/events.js";
import type { NodeLoad, NodeRecord } from "../cluster/control-plane.js";
import { pendingDemand, readDriverDemand } from "../cluster/status-demand.js";
import { EVENT_STREAM, LOG_STREAM, snapshotKey, type EventBatch, type LogBatch, type NodeSnapshot } from "../cluster/event-publisher.js";
import { NodeReplay } from "./node-replay.js";
import { Ring } from "./ring.js";
import {
  page,
  type ActorInfo,
  type ClusterStatus,
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
import { compareIds, type TaskId } from "../core/api/ids.js";

const ALL = { limit: Number.MAX_SAFE_INTEGER };
const READ_COUNT = 500;
const MAX_SAMPLES = 600;
const RECENT_ERRORS = 20;
const NODES = "rayts:nodes";
const alive = (nodeId: string): string => `rayts:alive:${nodeId}`;

/**
 * An actor of a node that left the cluster (declared dead, or stopped) is
 * dead, whatever the node last published: a killed node publishes nothing
 * more.
 */
function diedWithNode(actor: ActorInfo, nodeId: string): ActorInfo {
  return actor.state === "dead" ? actor : { ...actor, state: "dead", worker: undefined, deathCause: `its node ${nodeId} died` };
}

export class ClusterState implements StateSource {
  readonly #redis: Redis;
  readonly #nodes = new Map<string, NodeReplay>();
  readonly #samples = new Ring<Sample>(MAX_SAMPLES);
  #lastEvent = "0-0";
  #lastLog = "0-0";
  #refreshing: Promise<void> = Promise.resolve();
  #lastFinished: number | undefined;
  #lastSample = 0;

  /** Reads the cluster whose Redis `redis` is connected to. */
  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Reads what was published since the last call; calls run one after another. */
  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(() => this.#refresh());
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    // The driver's connections do not hold the process: a pending read must.
    const keep = setInterval(() => undefined, 2 ** 30);
    try {
      this.#lastEvent = await this.#read(EVENT_STREAM, this.#lastEvent, (bytes) => {
        const batch = deserialize(bytes) as EventBatch;
        this.#node(batch.node).applyEvents(batch);
      });
      this.#lastLog = await this.#read(LOG_STREAM, this.#lastLog, (bytes) => {
        const batch = deserialize(bytes) as LogBatch;
        this.#node(batch.node).applyLines(batch);
      });
      const records = Object.values(await this.#redis.hgetall(NODES)).map((text) => JSON.parse(text) as NodeRecord);
      for (const node of this.#nodes.values()) node.registered = false;
      for (const record of records) {
        const node = this.#node(record.nodeId);
        node.registered = true;
        node.address = record.address;
        node.cpus = record.resources["CPU"] ?? 0;
      }
      const ids = [...this.#nodes.keys()];
      if (ids.length === 0) return;
      const [loads, snapshots] = await Promise.all([this.#redis.mget(ids.map(alive)), this.#redis.mget(ids.map(snapshotKey))]);
      ids.forEach((id, index) => {
        const node = this.#nodes.get(id) as NodeReplay;
        const load = loads[index];
        node.alive = load !== null && load !== undefined;
        node.queued = node.alive ? Math.max(0, (JSON.parse(load as string) as NodeLoad).inFlight - node.cpus) : 0;
        const snapshot = snapshots[index];
        if (snapshot !== null && snapshot !== undefined) node.snapshot = JSON.parse(snapshot) as NodeSnapshot;
        if (!node.alive && node.snapshot !== undefined) {
          // A node that left runs nothing and holds nothing any more.
          node.snapshot = { ...node.snapshot, running: [], objects: [], slots: { used: 0, total: node.snapshot.slots.total }, store: { ...node.snapshot.store, bytesUsed: 0, numObjects: 0 } };
        }
      });
    } finally {
      clearInterval(keep);
    }
  }

  async #read(stream: string, from: string, apply: (bytes: Buffer) => void): Promise<string> {
    let last = from;
    for (;;) {
      const entries = (await this.#redis.callBuffer("XRANGE", stream, `(${last}`, "+", "COUNT", READ_COUNT)) as [Buffer, Buffer[]][];
      for (const [id, fields] of entries) {
        last = id.toString();
        apply(fields[1] as Buffer);
      }
      if (entries.length < READ_COUNT) return last;
    }
  }

  #node(nodeId: string): NodeReplay {
    let node = this.#nodes.get(nodeId);
    if (node === undefined) this.#nodes.set(nodeId, (node = new NodeReplay(nodeId)));
    return node;
  }

  /** Nodes, those alive first, then by id. */
  #list(): NodeReplay[] {
    return [...this.#nodes.values()].sort((a, b) => Number(b.alive) - Number(a.alive) || a.nodeId.localeCompare(b.nodeId));
  }

  async #tasks(): Promise<TaskInfo[]> {
    await this.refresh();
    const all: TaskInfo[] = [];
    for (const node of this.#list()) all.push(...(await node.state.listTasks(ALL)).items);
    return all.sort((a, b) => b.submittedAt - a.submittedAt || a.nodeId.localeCompare(b.nodeId) || compareIds(b.taskId, a.taskId));
  }

  #droppedTasks(): number {
    let dropped = 0;
    for (const node of this.#nodes.values()) dropped += node.recorder.ended.dropped + node.lostEvents;
    return dropped;
  }

  async listTasks(options?: ListOptions): Promise<ListResult<TaskInfo>> {
    return page(await this.#tasks(), options, this.#droppedTasks());
  }

  async getTask(taskId: TaskId, nodeId?: string): Promise<{ task: TaskInfo; children: TaskInfo[]; logs: LogLine[] } | undefined> {
    await this.refresh();
    for (const node of this.#list()) {
      if (nodeId !== undefined && node.nodeId !== nodeId) continue;
      const found = await node.state.getTask(taskId);
      if (found !== undefined) return { ...found, logs: found.logs.map((line) => ({ ...line, nodeId: node.nodeId })) };
    }
    return undefined;
  }

  async listActors(options?: ListOptions): Promise<ListResult<ActorInfo>> {
    await this.refresh();
    const all: ActorInfo[] = [];
    let dropped = 0;
    for (const node of this.#list()) {
      const result = await node.state.listActors(ALL);
      all.push(...(node.registered ? result.items : result.items.map((actor) => diedWithNode(actor, node.nodeId))));
      dropped += result.dropped;
    }
    return page(all.sort((a, b) => b.startedAt - a.startedAt), options, dropped);
  }

  async #objects(): Promise<ObjectInfo[]> {
    await this.refresh();
    const all: ObjectInfo[] = [];
    for (const node of this.#list()) for (const object of (await node.state.listObjects(ALL)).items) all.push({ ...object, nodeId: node.nodeId });
    return all.sort((a, b) => b.bytes - a.bytes || compareIds(b.objectId, a.objectId));
  }

  async listObjects(options?: ListOptions): Promise<ListResult<ObjectInfo>> {
    return page(await this.#objects(), options, 0);
  }

  #nodeState(node: NodeReplay): NodeState {
    const snapshot = node.snapshot;
    return {
      nodeId: node.nodeId,
      address: node.address || snapshot?.address || "",
      alive: node.alive,
      cpus: snapshot?.slots.total ?? node.cpus,
      cpusUsed: node.alive ? (snapshot?.slots.used ?? 0) : 0,
      objectStoreBytes: snapshot?.store.bytesUsed ?? 0,
      objectStoreCapacity: snapshot?.store.capacity ?? 0,
    };
  }

  async listNodes(options?: ListOptions): Promise<ListResult<NodeState>> {
    await this.refresh();
    return page(this.#list().map((node) => this.#nodeState(node)), options, 0);
  }

  async listWorkers(options?: ListOptions): Promise<ListResult<WorkerInfo>> {
    await this.refresh();
    const all: WorkerInfo[] = [];
    for (const node of this.#list()) all.push(...(await node.state.listWorkers(ALL)).items);
    return page(all, options, 0);
  }

  async listLogs(options?: ListOptions): Promise<ListResult<LogLine>> {
    await this.refresh();
    const all: LogLine[] = [];
    let dropped = 0;
    for (const node of this.#list()) {
      const result = await node.state.listLogs(ALL);
      for (const line of result.items) all.push({ ...line, nodeId: node.nodeId });
      dropped += result.dropped + node.lostLines;
    }
    return page(all.sort((a, b) => b.time - a.time), options, dropped);
  }

  async summarizeTasks(): Promise<TaskSummary> {
    await this.refresh();
    const byName = new Map<string, { type: "task" | "actorCall"; states: Partial<Record<TaskState, number>>; retries: number; runMs: number; finished: number }>();
    const totals: Partial<Record<TaskState, number>> = {};
    for (const node of this.#nodes.values()) {
      for (const summary of (await node.state.summarizeTasks()).byFunction) {
        let entry = byName.get(summary.name);
        if (entry === undefined) byName.set(summary.name, (entry = { type: summary.type, states: {}, retries: 0, runMs: 0, finished: 0 }));
        for (const [state, count] of Object.entries(summary.states) as [TaskState, number][]) {
          entry.states[state] = (entry.states[state] ?? 0) + count;
          totals[state] = (totals[state] ?? 0) + count;
        }
        entry.retries += summary.retries;
        const finished = summary.states.finished ?? 0;
        entry.finished += finished;
        entry.runMs += (summary.meanRunMs ?? 0) * finished;
      }
    }
    const byFunction: FunctionSummary[] = [...byName].map(([name, entry]) => ({
      name,
      type: entry.type,
      total: Object.values(entry.states).reduce((sum, count) => sum + count, 0),
      states: entry.states,
      retries: entry.retries,
      meanRunMs: entry.finished > 0 ? entry.runMs / entry.finished : undefined,
    }));
    byFunction.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
    return { byFunction, totals, dropped: this.#droppedTasks() };
  }

  async memorySummary(): Promise<MemorySummary> {
    const objects = await this.#objects();
    let bytesUsed = 0;
    let capacity = 0;
    let numObjects = 0;
    let freedCount = 0;
    let freedBytes = 0;
    for (const node of this.#nodes.values()) {
      const state = this.#nodeState(node);
      bytesUsed += state.objectStoreBytes;
      capacity += state.alive ? state.objectStoreCapacity : 0;
      numObjects += node.alive ? (node.snapshot?.store.numObjects ?? 0) : 0;
      freedCount += node.recorder.freedObjects;
      freedBytes += node.recorder.freedBytes;
    }
    const byReferenceType: Partial<Record<ReferenceType, { count: number; bytes: number }>> = {};
    const owners = new Map<string, { owner: string; count: number; bytes: number }>();
    for (const object of objects) {
      const type = (byReferenceType[object.referenceType] ??= { count: 0, bytes: 0 });
      type.count++;
      type.bytes += object.bytes;
      let group = owners.get(object.owner);
      if (group === undefined) owners.set(object.owner, (group = { owner: object.owner, count: 0, bytes: 0 }));
      group.count++;
      group.bytes += object.bytes;
    }
    const byOwner = [...owners.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
    return { bytesUsed, capacity, numObjects, byReferenceType, byOwner, objects: objects.slice(0, 100), freed: { count: freedCount, bytes: freedBytes } };
  }

  /** Takes one point of the overview's time series (the head's dashboard calls it every second). */
  async sample(): Promise<Sample> {
    await this.refresh();
    let finished = 0;
    let storeBytes = 0;
    let cpusUsed = 0;
    for (const node of this.#nodes.values()) {
      finished += node.recorder.finished + node.recorder.failed;
      const state = this.#nodeState(node);
      storeBytes += state.objectStoreBytes;
      cpusUsed += state.cpusUsed;
    }
    const now = performance.now();
    const seconds = this.#lastFinished === undefined ? 1 : Math.max((now - this.#lastSample) / 1000, 1e-3);
    const point: Sample = { time: Date.now(), tasksPerSecond: this.#lastFinished === undefined ? 0 : (finished - this.#lastFinished) / seconds, storeBytes, cpusUsed };
    this.#lastFinished = finished;
    this.#lastSample = now;
    this.#samples.push(point);
    return point;
  }

  async status(): Promise<ClusterStatus> {
    const [summary, drivers] = await Promise.all([this.summarizeTasks(), readDriverDemand(this.#redis)]);
    const actors: Partial<Record<ActorLifecycle, number>> = {};
    let finishedTotal = 0;
    let failedTotal = 0;
    let droppedLogs = 0;
    let droppedActors = 0;
    const errors: TaskInfo[] = [];
    for (const node of this.#list()) {
      const recorder = node.recorder;
      for (const actor of recorder.actors.values()) actors[actor.state] = (actors[actor.state] ?? 0) + 1;
      finishedTotal += recorder.finished;
      failedTotal += recorder.failed;
      droppedLogs += recorder.logs.dropped + node.lostLines;
      droppedActors += recorder.droppedActors;
      errors.push(...(await node.state.status()).recentErrors);
    }
    errors.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
    return {
      nodes: this.#list().map((node) => this.#nodeState(node)),
      demand: pendingDemand(this.#list().reduce((sum, node) => sum + node.queued, 0), drivers),
      tasks: summary.totals,
      actors,
      finishedTotal,
      failedTotal,
      recentErrors: errors.slice(0, RECENT_ERRORS),
      samples: this.#samples.newestFirst().reverse(),
      dropped: { tasks: summary.dropped, logs: droppedLogs, actors: droppedActors },
    };
  }

  async timeline(): Promise<TraceEvent[]> {
    await this.refresh();
    const events: TraceEvent[] = [];
    let pid = 1;
    for (const node of this.#list()) {
      const tasks = (await node.state.listTasks(ALL)).items;
      events.push(...traceEvents(tasks, `${node.nodeId} (${node.address})`, pid++));
    }
    return events;
  }
}
