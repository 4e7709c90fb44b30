/**
 * rayts: Ray Core's programming model for TypeScript on Node.js worker
 * threads. Remote tasks return ObjectRefs at once, actors keep state on
 * worker threads (many to a thread), and an object store of immutable values hands binary data to
 * workers without copying.
 *
 * @example
 * import * as ray from "rayts";
 * const square = ray.remote((x: number) => x * x);
 * console.log(await ray.get([1, 2, 3].map((x) => square.remote(x)))); // [1, 4, 9]
 *
 * @packageDocumentation
 */
// Loads the local driver runtime, which registers itself for init() (see core/driver-factory.ts).
import "./core/runtime/runtime.js";

export {
  init,
  shutdown,
  isInitialized,
  remote,
  remoteFromModule,
  actorFromModule,
  get,
  put,
  wait,
  cancel,
  kill,
  getActor,
  availableResources,
  clusterResources,
  nodes,
  objectStoreStats,
  getRuntimeContext,
  ObjectRef,
  isObjectRef,
  RemoteFunction,
  ObjectRefGenerator,
  isObjectRefGenerator,
  ActorClass,
  RayError,
  RayTaskError,
  GetTimeoutError,
  TaskCancelledError,
  WorkerCrashedError,
  ActorDiedError,
  ObjectStoreFullError,
  OutOfMemoryError,
  SerializationError,
  NodeDiedError,
  ObjectLostError,
  OwnerDiedError,
} from "./core/index.js";
export { state, timeline } from "./dashboard/index.js";
export { aggList, aggListDistributed, lastAggListDecision, mapPipelined, pipeline, Pipeline, MapItemError, ActorPool } from "./ops/index.js";
export type {
  ActorConstructor,
  ActorHandle,
  ActorMethod,
  ActorOptions,
  CancelOptions,
  ClusterResources,
  CompiledRemoteSpec,
  GetActorOptions,
  GetOptions,
  KillOptions,
  InitOptions,
  MemoryReading,
  IsSendable,
  NodeInfo,
  NotSendable,
  ObjectStoreStats,
  RayErrorCode,
  RemoteArgs,
  RemoteGeneratorFunction,
  RemoteTupleFunction,
  ObjectRefTuple,
  SingleReturn,
  RuntimeContext,
  SchedulingStrategy,
  Sendable,
  TaskOptions,
  UntypedActor,
  WaitOptions,
  WaitResult,
} from "./core/index.js";
export type {
  ActorInfo,
  ClusterStatus,
  DemandShape,
  ListOptions,
  ListResult,
  LogLine,
  MemorySummary,
  NodeState,
  ObjectInfo,
  PendingDemand,
  TaskInfo,
  TaskSummary,
  TraceEvent,
  WorkerInfo,
} from "./dashboard/index.js";
export type { TaskState, ActorLifecycle } from "./core/runtime/events.js";
export type {
  AggListDecision,
  AggListDistributedOptions,
  Combiner,
  GetNextOptions,
  MapInputs,
  MapPipelinedOptions,
  Mapper,
  PipelineOptions,
  PoolTask,
  RemoteCombiner,
  StageOptions,
} from "./ops/index.js";
