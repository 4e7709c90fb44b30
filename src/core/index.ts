/** The core runtime's public surface, used by `src/index.ts` and `src/ops`. */
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
} from "./api/api.js";
export { getRuntimeContext } from "../cluster/runtime-context.js";
export { ObjectRef, isObjectRef } from "./api/object-ref.js";
export { RemoteFunction } from "./api/remote-function.js";
export { ObjectRefGenerator, isObjectRefGenerator } from "./api/object-ref-generator.js";
export { ActorClass } from "./api/actor.js";
export {
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
} from "./api/errors.js";
export type { CancelOptions, CompiledRemoteSpec, GetActorOptions, GetOptions, KillOptions, WaitOptions } from "./api/api.js";
export type { ActorHandle, ActorMethod, ActorMethodOptions, ActorConstructor, UntypedActor } from "./api/actor.js";
export type { WaitResult } from "./runtime/backend.js";
export type { RayErrorCode } from "./api/errors.js";
export type { InitOptions, TaskOptions, ActorOptions, SchedulingStrategy } from "./api/options.js";
export type { MemoryReading } from "./api/memory-options.js";
export type { RuntimeContext } from "../cluster/runtime-context.js";
export type { RemoteArgs, RemoteGeneratorFunction, RemoteTupleFunction, SingleReturn } from "./api/remote-function.js";
export type { ObjectRefTuple } from "./api/multiple-returns.js";
export type { IsSendable, NotSendable, Sendable } from "./api/sendable.js";
export type { ClusterResources, NodeInfo, ObjectStoreStats } from "./runtime/runtime.js";
