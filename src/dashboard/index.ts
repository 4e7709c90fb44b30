/**
 * Observability of the driver: the state API, the timeline and the
 * dashboard. Importing it registers the observer that `init()` starts.
 */
import { state as threadState } from "../core/runtime/global-state.js";
import { LocalObservation } from "./observation.js";

threadState.observe ??= (runtime, options) => new LocalObservation(runtime, options);

export { state, timeline } from "./state-api.js";
export type {
  ActorInfo,
  ClusterStatus,
  ErrorInfo,
  FunctionSummary,
  ListOptions,
  ListResult,
  LogLine,
  MemorySummary,
  NodeState,
  ObjectInfo,
  ReferenceType,
  Sample,
  StateSource,
  TaskInfo,
  TaskSummary,
  TraceEvent,
  WorkerInfo,
} from "./state-source.js";
export type { DemandShape, PendingDemand } from "../cluster/status-demand.js";
