/**
 * What handles call into: the driver runtime in the main thread, a proxy to
 * the driver inside workers. Kept in its own file so that handles do not
 * depend on either implementation.
 */
import type { ObjectRef } from "../api/object-ref.js";
import type { ResolvedTaskOptions } from "../protocol/protocol.js";
import type { ResolvedActorOptions } from "../api/options.js";
import type { ClusterResources, NodeInfo, ObjectStoreStats } from "./runtime.js";

/** Result of `wait`: ready and not-ready refs, each in input order. */
export type WaitResult<T> = [ready: ObjectRef<T>[], notReady: ObjectRef<T>[]];

export interface Backend {
  submitTask(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown>;
  submitCall(actor: number, method: string, args: readonly unknown[]): ObjectRef<unknown>;
  createActor(cls: number, args: readonly unknown[], options: ResolvedActorOptions, methods: readonly string[]): number;
  /** The live actor named `name` in `namespace` (default: the default namespace). */
  getActor(name: string, namespace?: string): { id: number; name: string; /** The class id, where the backend knows it (local mode). */ cls?: number; methods: readonly string[]; /** Its generator methods, where the class is not known here (cluster mode). */ streaming?: readonly string[] } | undefined;
  kill(actor: number): void;
  get(ids: readonly ObjectRef<unknown>[], timeout: number | undefined): Promise<unknown[]>;
  /** One ref's value, as `get([ref])` gives it but without the arrays (the common `get(ref)`); absent where `get` is as fast. */
  getOne?(ref: ObjectRef<unknown>, timeout: number | undefined): Promise<unknown>;
  put(value: unknown): ObjectRef<unknown>;
  wait(refs: readonly ObjectRef<unknown>[], numReturns: number, timeout: number | undefined): Promise<WaitResult<unknown>>;
  cancel(ref: ObjectRef<unknown>, force: boolean): void;
  /** Registers a new actor handle (the driver retires unnamed actors no handle can reach). */
  trackActorHandle(handle: object, actor: number): void;
  /** Registers a new ObjectRef instance so the object lives while it does. */
  track(ref: ObjectRef<unknown>): void;
  /** Streaming generators (see object-ref-generator.ts); absent where they are not supported. */
  openStream?(task: number, backpressure: number): void;
  /** The next item of a stream, or undefined once it has ended. */
  nextItem?(task: number): Promise<ObjectRef<unknown> | undefined>;
  /** The consumer is done with a stream: unconsumed items are freed, the generator stops. */
  closeStream?(task: number): void;
}

/** The backend of a driver (local runtime or cluster): what the driver-only API calls. */
export interface DriverBackend extends Backend {
  resources(total: boolean): ClusterResources;
  nodes(): NodeInfo[];
  storeStats(): ObjectStoreStats;
  shutdown(): Promise<void>;
}

/** True for a driver backend (the local runtime, or a cluster driver). */
export function isDriverBackend(backend: Backend | undefined): backend is DriverBackend {
  return backend !== undefined && typeof (backend as Partial<DriverBackend>).nodes === "function" && typeof (backend as Partial<DriverBackend>).shutdown === "function";
}
