/**
 * `getRuntimeContext()`: where the calling code runs. In a task on a cluster
 * node, the node daemon's environment names the node; in a cluster driver,
 * the driver backend knows its node; in local mode there is one node. The
 * running task and actor come from the worker thread, which sets
 * {@link runningNow} as each task or actor call starts (or resumes after a
 * `get`).
 */
import { threadId } from "node:worker_threads";
import { state } from "../core/runtime/global-state.js";
import { isDriverBackend } from "../core/runtime/backend.js";
import { nodeAddress } from "../core/runtime/node-address.js";
import { formatId, type ActorId, type TaskId } from "../core/api/ids.js";

/** What `getRuntimeContext()` returns. */
export interface RuntimeContext {
  /** Id of the node the caller runs on (as in `nodes()`). */
  readonly nodeId: string;
  /** Address of that node. */
  readonly nodeAddress: string;
  /** Id of the process and thread running the caller. */
  readonly workerId: string;
  /**
   * Id of the running task or actor call, as `ray.state.listTasks()` shows
   * it (`taskId`; in cluster mode it carries the prefix of the node's runtime,
   * so it is unique in the cluster). Undefined outside a task (in the driver).
   */
  readonly taskId: TaskId | undefined;
  /** Id of the actor whose method runs (`actorId` of `ray.state.listActors()`); undefined outside an actor. */
  readonly actorId: ActorId | undefined;
}

/** The task (0: none) and actor the worker thread runs now; written by the worker only. */
export const runningNow: { task: number; actor: number | undefined } = { task: 0, actor: undefined };

/**
 * Where the caller runs: in a task, the node that runs it, and the task and
 * actor it belongs to.
 *
 * @example
 * const where = ray.remote(() => ray.getRuntimeContext().nodeAddress);
 */
export function getRuntimeContext(): RuntimeContext {
  const running = {
    taskId: runningNow.task === 0 ? undefined : formatId<TaskId>(state.tag, runningNow.task),
    actorId: runningNow.actor === undefined ? undefined : formatId<ActorId>(state.tag, runningNow.actor),
  };
  const nodeId = process.env["RAYTS_NODE_ID"];
  const envAddress = process.env["RAYTS_NODE_ADDRESS"];
  const workerId = `${process.pid}:${threadId}`;
  if (nodeId !== undefined && envAddress !== undefined) return { nodeId, nodeAddress: envAddress, workerId: `${nodeId}:${workerId}`, ...running };
  const backend = state.backend;
  const withContext = backend as { context?: () => Omit<RuntimeContext, "taskId" | "actorId"> } | undefined;
  if (withContext?.context !== undefined) return { ...withContext.context(), ...running };
  if (isDriverBackend(backend)) {
    const node = backend.nodes()[0];
    if (node !== undefined) return { nodeId: node.nodeId, nodeAddress: node.address, workerId, ...running };
  }
  return { nodeId: `local-${process.pid}`, nodeAddress: nodeAddress(), workerId, ...running };
}
