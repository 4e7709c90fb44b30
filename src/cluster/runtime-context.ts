/**
 * `getRuntimeContext()`: where the calling code runs. In a task on a cluster
 * node, the node daemon's environment names the node; in a cluster driver,
 * the driver backend knows its node; in local mode there is one node.
 */
import { threadId } from "node:worker_threads";
import { state } from "../core/global-state.js";
import { isDriverBackend } from "../core/backend.js";

/** What `getRuntimeContext()` returns. */
export interface RuntimeContext {
  /** Id of the node the caller runs on (as in `nodes()`). */
  readonly nodeId: string;
  /** Address of that node. */
  readonly nodeAddress: string;
  /** Id of the process and thread running the caller. */
  readonly workerId: string;
  /** The running task's id, when known. */
  readonly taskId?: string;
  /** The actor's id, when the caller is an actor method. */
  readonly actorId?: string;
}

/**
 * Where the caller runs: in a task, the node that runs it.
 *
 * @example
 * const where = ray.remote(() => ray.getRuntimeContext().nodeAddress);
 */
export function getRuntimeContext(): RuntimeContext {
  const nodeId = process.env["RAYTS_NODE_ID"];
  const nodeAddress = process.env["RAYTS_NODE_ADDRESS"];
  const workerId = `${process.pid}:${threadId}`;
  if (nodeId !== undefined && nodeAddress !== undefined) return { nodeId, nodeAddress, workerId: `${nodeId}:${workerId}` };
  const backend = state.backend;
  const withContext = backend as { context?: () => RuntimeContext } | undefined;
  if (withContext?.context !== undefined) return withContext.context();
  if (isDriverBackend(backend)) {
    const node = backend.nodes()[0];
    if (node !== undefined) return { nodeId: node.nodeId, nodeAddress: node.address, workerId };
  }
  return { nodeId: `local-${process.pid}`, nodeAddress: "127.0.0.1", workerId };
}
