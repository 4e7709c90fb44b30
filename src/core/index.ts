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
} from "./api.js";
export { getRuntimeContext } from "../cluster/runtime-context.js";
export { ObjectRef, isObjectRef } from "./object-ref.js";
export { RemoteFunction } from "./remote-function.js";
export { ObjectRefGenerator, isObjectRefGenerator } from "./object-ref-generator.js";
export { ActorClass } from "./actor.js";
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
} from "./errors.js";
export type { CancelOptions, CompiledRemoteSpec, GetActorOptions, GetOptions, WaitOptions } from "./api.js";
export type { ActorHandle, ActorMethod, ActorMethodOptions, ActorConstructor, UntypedActor } from "./actor.js";
export type { WaitResult } from "./backend.js";
export type { RayErrorCode } from "./errors.js";
export type { InitOptions, TaskOptions, ActorOptions, SchedulingStrategy } from "./options.js";
export type { MemoryReading } from "./memory-options.js";
export type { RuntimeContext } from "../cluster/runtime-context.js";
export type { RemoteArgs, RemoteGeneratorFunction, RemoteTupleFunction, SingleReturn } from "./remote-function.js";
export type { ObjectRefTuple } from "./multiple-returns.js";
export type { IsSendable, NotSendable, Sendable } from "./sendable.js";
export type { ClusterResources, NodeInfo, ObjectStoreStats } from "./runtime.js";
