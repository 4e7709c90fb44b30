/**
 * `ray.state` and `ray.timeline`: the state API of the running driver.
 *
 * @example
 * const failed = await ray.state.listTasks({ filter: { state: "failed" }, limit: 10 });
 * const summary = await ray.state.summarizeTasks();
 * await ray.timeline("trace.json"); // open in https://ui.perfetto.dev
 */
import { writeFile } from "node:fs/promises";
import { RayError } from "../core/api/errors.js";
import { state as threadState } from "../core/runtime/global-state.js";
import { show } from "../core/api/checks.js";
import type { TaskId } from "../core/api/ids.js";
import { DriverRuntime } from "../core/runtime/runtime.js";
import { LocalObservation } from "./observation.js";
import type {
  ActorInfo,
  ClusterStatus,
  ListOptions,
  ListResult,
  LogLine,
  MemorySummary,
  NodeState,
  ObjectInfo,
  StateSource,
  TaskInfo,
  TaskSummary,
  TraceEvent,
  WorkerInfo,
} from "./state-source.js";
import { filterProblem, type ListKind } from "./state-source.js";

function source(what: string): StateSource {
  const backend = threadState.backend;
  // A cluster driver answers for every node (see cluster-state.ts).
  const cluster = backend as { state?: () => StateSource } | undefined;
  if (typeof cluster?.state === "function") return cluster.state();
  if (!(backend instanceof DriverRuntime)) {
    throw new RayError(`ray.${what}(): ${backend === undefined ? "rayts is not initialized; call init() first" : "the state API is only available in the driver"}`);
  }
  const observation = backend.observation;
  if (!(observation instanceof LocalObservation)) throw new RayError(`ray.${what}(): state is not recorded; init() was called with recordState: false`);
  return observation.state;
}

function checkList(options: unknown, what: string, kind: ListKind): ListOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) throw new TypeError(`Expected the options of ${what} to be an object, got ${show(options)}`);
  const { filter, limit, offset, ...rest } = options as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new TypeError(`Unknown option \`${unknown[0]}\` in ${what}; expected \`filter\`, \`limit\`, \`offset\``);
  if (limit !== undefined && (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Expected \`limit\` to be an integer from 1 and up, got ${show(limit)}`);
  }
  if (offset !== undefined && (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0)) {
    throw new RangeError(`Expected \`offset\` to be an integer from 0 and up, got ${show(offset)}`);
  }
  if (filter !== undefined) {
    if (typeof filter !== "object" || filter === null || Array.isArray(filter)) throw new TypeError(`Expected \`filter\` to be an object of field values, got ${show(filter)}`);
    for (const [key, value] of Object.entries(filter)) {
      if (!["string", "number", "boolean"].includes(typeof value) || (typeof value === "number" && !Number.isFinite(value))) {
        throw new TypeError(`Expected \`filter.${key}\` to be a string, a finite number or a boolean, got ${show(value)}`);
      }
    }
    const problem = filterProblem(kind, filter as Record<string, unknown>);
    if (problem !== undefined) throw new TypeError(problem);
  }
  return options;
}

/** The state API: what ran, what runs, what the store holds. Newest first; bounded, with `dropped` counts. */
export const state = {
  /** Tasks and actor calls, newest submitted first. */
  listTasks: (options?: ListOptions): Promise<ListResult<TaskInfo>> => source("state.listTasks").listTasks(checkList(options, "listTasks", "tasks")),
  /** One task with its children and log lines. */
  getTask: (taskId: TaskId, nodeId?: string) => source("state.getTask").getTask(taskId, nodeId),
  listActors: (options?: ListOptions): Promise<ListResult<ActorInfo>> => source("state.listActors").listActors(checkList(options, "listActors", "actors")),
  /** Objects in the store, largest first. */
  listObjects: (options?: ListOptions): Promise<ListResult<ObjectInfo>> => source("state.listObjects").listObjects(checkList(options, "listObjects", "objects")),
  listNodes: (options?: ListOptions): Promise<ListResult<NodeState>> => source("state.listNodes").listNodes(checkList(options, "listNodes", "nodes")),
  listWorkers: (options?: ListOptions): Promise<ListResult<WorkerInfo>> => source("state.listWorkers").listWorkers(checkList(options, "listWorkers", "workers")),
  /** Lines tasks printed, newest first. */
  listLogs: (options?: ListOptions): Promise<ListResult<LogLine>> => source("state.listLogs").listLogs(checkList(options, "listLogs", "logs")),
  /** Tasks by function name and state. */
  summarizeTasks: (): Promise<TaskSummary> => source("state.summarizeTasks").summarizeTasks(),
  /** The `ray memory` view: objects by size, owner, reference type and who pins them. */
  memorySummary: (): Promise<MemorySummary> => source("state.memorySummary").memorySummary(),
  /** Nodes, tasks by state, recent errors and the time series of the overview. */
  status: (): Promise<ClusterStatus> => source("state.status").status(),
};

/**
 * The recorded task and actor-call spans as a Chrome trace (loadable in
 * https://ui.perfetto.dev and chrome://tracing); written to `path` when given.
 */
export async function timeline(path?: string): Promise<{ traceEvents: TraceEvent[]; displayTimeUnit: "ms" }> {
  if (path !== undefined && (typeof path !== "string" || path === "")) throw new TypeError(`Expected \`path\` to be a file path, got ${show(path)}`);
  const trace = { traceEvents: await source("timeline").timeline(), displayTimeUnit: "ms" as const };
  if (path !== undefined) await writeFile(path, JSON.stringify(trace));
  return trace;
}
