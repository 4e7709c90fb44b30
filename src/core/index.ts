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
export { ActorClass } from "./actor.js";
export {
  RayError,
  RayTaskError,
  GetTimeoutError,
  TaskCancelledError,
  WorkerCrashedError,
  ActorDiedError,
  ObjectStoreFullError,
  SerializationError,
  NodeDiedError,
  ObjectLostError,
  OwnerDiedError,
} from "./errors.js";
export type { CancelOptions, CompiledRemoteSpec, GetActorOptions, GetOptions, WaitOptions } from "./api.js";
export type { ActorHandle, ActorMethod, ActorConstructor, UntypedActor } from "./actor.js";
export type { WaitResult } from "./backend.js";
export type { RayErrorCode } from "./errors.js";
export type { InitOptions, TaskOptions, ActorOptions, SchedulingStrategy } from "./options.js";
export type { RuntimeContext } from "../cluster/runtime-context.js";
export type { RemoteArgs } from "./remote-function.js";
export type { IsSendable, NotSendable, Sendable } from "./sendable.js";
export type { ClusterResources, NodeInfo, ObjectStoreStats } from "./runtime.js";
