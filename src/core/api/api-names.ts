/**
 * The one list of rayts API names that code outside the barrels relies on:
 * the names a task shipped as source sees in scope (the worker provides
 * them; the compiler lets a task use them without capturing them), and
 * every value name the package's entry exports (the barrels are checked
 * against it by a test).
 */

/** Name the whole `rayts` namespace has inside an uncompiled task. */
export const NAMESPACE_NAME = "ray";

/** API functions in scope by their own name inside an uncompiled task. */
export const TASK_SCOPE_API = ["get", "put", "wait", "remote", "cancel", "kill", "getActor"] as const;

/** Every name a task sees without importing it: the namespace, then {@link TASK_SCOPE_API}. */
export const TASK_SCOPE_NAMES: readonly string[] = [NAMESPACE_NAME, ...TASK_SCOPE_API];

/** Every value the package's entry (`rayts`) exports, in the order of `src/index.ts`. */
export const PUBLIC_VALUE_NAMES = [
  "init",
  "shutdown",
  "isInitialized",
  "remote",
  "remoteFromModule",
  "actorFromModule",
  "get",
  "put",
  "wait",
  "cancel",
  "kill",
  "getActor",
  "availableResources",
  "clusterResources",
  "nodes",
  "objectStoreStats",
  "getRuntimeContext",
  "ObjectRef",
  "isObjectRef",
  "ObjectRefGenerator",
  "isObjectRefGenerator",
  "RemoteFunction",
  "ActorClass",
  "RayError",
  "RayTaskError",
  "GetTimeoutError",
  "TaskCancelledError",
  "WorkerCrashedError",
  "ActorDiedError",
  "ObjectStoreFullError",
  "OutOfMemoryError",
  "NodeDiedError",
  "ObjectLostError",
  "OwnerDiedError",
  "SerializationError",
  "state",
  "timeline",
  "aggList",
  "aggListDistributed",
  "lastAggListDecision",
  "mapPipelined",
  "pipeline",
  "Pipeline",
  "MapItemError",
  "ActorPool",
] as const;
