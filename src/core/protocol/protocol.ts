/**
 * The driver/worker message protocol. Every message is a discriminated union
 * on `kind`; messages travel in arrays so that everything produced in one
 * tick crosses the thread boundary in a single `postMessage`.
 */
import type { ErrorData } from "../api/errors.js";
import type { ResolvedActorOptions, SchedulingStrategy } from "../api/options.js";

/** Names of the typed-array constructors the object store keeps in shared memory. */
export type TypedArrayName =
  | "Int8Array"
  | "Uint8Array"
  | "Uint8ClampedArray"
  | "Int16Array"
  | "Uint16Array"
  | "Int32Array"
  | "Uint32Array"
  | "Float32Array"
  | "Float64Array"
  | "BigInt64Array"
  | "BigUint64Array";

/** A primitive that rides inline in a message. */
export type Primitive = number | string | boolean | bigint | null | undefined;

/**
 * A value in transit or at rest in the object store. Primitives are
 * themselves (the common case costs no wrapper object); everything else is
 * boxed:
 * - `s`: v8 structured-clone bytes (in a SharedArrayBuffer when large);
 *   `ids` lists the ObjectRefs nested inside, when there are handles to revive.
 * - `ta`: a typed array living in a SharedArrayBuffer (zero-copy).
 * - `ab`: a whole SharedArrayBuffer standing for an ArrayBuffer.
 *   For both, `k` names the shared block; `b` is left out when the receiving
 *   worker already holds that block (see the block cache in serialization.ts).
 * - `tc`: a private copy of a typed array passed by value as a task
 *   argument: used once, so it travels by structured clone (a memcpy into
 *   the worker's heap) instead of taking fresh shared memory per call.
 * - `ar`: Arrow IPC bytes in a SharedArrayBuffer, read back without a copy.
 * - `r`: a task argument that is a top-level ObjectRef; the driver swaps it
 *   for the object's value before dispatch. Never stored.
 */
export type Boxed =
  | { readonly t: "s"; readonly b: Uint8Array; readonly ids: readonly number[] | undefined }
  | { readonly t: "ta"; readonly c: TypedArrayName; readonly b: SharedArrayBuffer | undefined; readonly k: number; readonly o: number; readonly n: number }
  | { readonly t: "ab"; readonly b: SharedArrayBuffer | undefined; readonly k: number; readonly n: number }
  | { readonly t: "tc"; readonly v: ArrayBufferView }
  | { readonly t: "ar"; readonly k: "table" | "batch" | "vector"; readonly b: Uint8Array }
  | { readonly t: "r"; readonly id: number };

export type Encoded = Primitive | Boxed;

/** True for a boxed value (narrowing helper: primitives travel as themselves). */
export function isBoxed(value: Encoded): value is Boxed {
  return typeof value === "object" && value !== null;
}

/** The ObjectRefs nested in an encoded value, if any. */
export function nestedIds(value: Encoded): readonly number[] | undefined {
  return typeof value === "object" && value !== null && value.t === "s" ? value.ids : undefined;
}

/** The object id of a top-level ref argument, or undefined. */
export function refId(value: Encoded): number | undefined {
  return typeof value === "object" && value !== null && value.t === "r" ? value.id : undefined;
}

/** Task options after validation and defaults; what travels with a task. */
export interface ResolvedTaskOptions {
  readonly numCpus: number;
  readonly maxRetries: number;
  readonly retryExceptions: boolean;
  readonly name: string;
  /** Cluster mode placement; absent means the default policy. */
  readonly scheduling?: SchedulingStrategy;
  /** Cluster mode custom resources. */
  readonly resources?: Readonly<Record<string, number>>;
  /** Refs per call: N >= 2 for a tuple of refs, "streaming" for an ObjectRefGenerator; absent means 1. */
  readonly numReturns?: number | "streaming";
  /** Unconsumed items at which a streaming generator pauses; absent means never. */
  readonly generatorBackpressureNumObjects?: number;
}

/** How the worker gets a remote function's code. */
export type FunctionDefinition =
  | { readonly kind: "source"; readonly name: string; readonly source: string }
  | {
      readonly kind: "module";
      readonly name: string;
      readonly url: string;
      readonly exportName: string;
      readonly captures: Readonly<Record<string, number>>;
      /** Captures the defining thread could not read or put, with the error their tasks get. */
      readonly captureErrors?: Readonly<Record<string, ErrorData>> | undefined;
    };

/** A named actor, as `getActor(name)` finds it. */
export interface NamedActor {
  readonly name: string;
  readonly namespace: string;
  readonly id: number;
  readonly actorName: string;
  /** The actor's class (function id). */
  readonly cls: number;
  readonly methods: readonly string[];
  /** Its generator methods, when the class is not known where the name is read (an actor of another cluster node). */
  readonly streaming?: readonly string[];
}

/**
 * Tasks to run, flat: for each task `task, fn, name, side, argc`, then its
 * `argc` encoded arguments. `name` is 0 for the function's own name; `side`
 * marks a task of less than one CPU (it starts at once, beside the tasks the
 * worker runs one at a time). One array per batch and no object per task:
 * structured clone copies a flat array of primitives several times faster
 * than objects with keys, and this message is on every task's path.
 */
export type RunCells = Encoded[]; // ids, counts and flags are primitives, which Encoded includes

/**
 * Actors to start, flat: for each actor `actor, cls, name, concurrency,
 * argc`, then its `argc` encoded constructor arguments. Actors with the
 * same options share one `concurrency` object, which a structured clone
 * copies once per batch.
 */
export type ActorInitCells = (Encoded | ActorConcurrency)[];

/** Results, flat: for each task `task, us, value` (it returned `value` after `us` microseconds). Flat for the reason {@link RunCells} is. */
export type DoneCells = Encoded[];

/** Cells per task of {@link DoneCells}. */
export const DONE_CELLS = 3;

/** Driver to worker: a message object, or the flat {@link RunCells} of a run of tasks. */
export type ToWorker =
  | { readonly kind: "define"; readonly fn: number; readonly def: FunctionDefinition; readonly captures: Readonly<Record<string, Encoded>> }
  | RunCells
  | { readonly kind: "cancel"; readonly task: number }
  | { readonly kind: "evict"; readonly blocks: readonly number[] }
  /** As `evict`, for blocks this thread made that no other thread was handed: it may reuse them. */
  | { readonly kind: "recycle"; readonly blocks: readonly number[] }
  | { readonly kind: "names"; readonly set: readonly NamedActor[]; readonly removed: readonly { readonly name: string; readonly namespace: string }[] }
  | { readonly kind: "values"; readonly req: number; readonly values: readonly (Encoded | ErrorData)[]; readonly errors: readonly boolean[] }
  | { readonly kind: "waited"; readonly req: number; readonly ready: readonly number[] }
  | { readonly kind: "timeout"; readonly req: number }
  /** Starts actors on this thread (a thread may host many); see {@link ActorInitCells}. */
  | { readonly kind: "actorInit"; readonly cells: ActorInitCells }
  | { readonly kind: "call"; readonly actor: number; readonly task: number; readonly method: string; readonly name: string; readonly args: readonly Encoded[] }
  /** Drops one actor of a shared thread: its queued calls are forgotten (the driver has failed them). */
  | { readonly kind: "actorKill"; readonly actor: number }
  /** A streaming generator may yield items up to index `upTo` (exclusive); see generator-task.ts for the negative codes. */
  | { readonly kind: "streamCredit"; readonly task: number; readonly upTo: number };

/** How many calls of an actor may run at once: the default group's limit, named groups, and each method's group. */
export interface ActorConcurrency {
  readonly max: number;
  readonly groups: Readonly<Record<string, number>>;
  readonly methods: Readonly<Record<string, string>>;
}

/** Worker to driver: a message object, or the flat {@link DoneCells} of results. */
export type FromWorker =
  | DoneCells
  | { readonly kind: "fail"; readonly task: number; readonly error: ErrorData; readonly us: number }
  | { readonly kind: "blocked"; readonly task: number }
  | { readonly kind: "unblocked"; readonly task: number }
  | { readonly kind: "hello"; readonly threadId: number }
  | { readonly kind: "submit"; readonly task: number; readonly fn: number; readonly args: readonly Encoded[]; readonly options: ResolvedTaskOptions; readonly parent?: number }
  | { readonly kind: "submitCall"; readonly task: number; readonly actor: number; readonly method: string; readonly args: readonly Encoded[] }
  | {
      readonly kind: "createActor";
      readonly actor: number;
      readonly cls: number;
      readonly args: readonly Encoded[];
      readonly options: ResolvedActorOptions;
      readonly methods: readonly string[];
    }
  | { readonly kind: "defineFn"; readonly fn: number; readonly def: FunctionDefinition }
  | { readonly kind: "get"; readonly req: number; readonly ids: readonly number[]; readonly timeout: number | undefined }
  | { readonly kind: "wait"; readonly req: number; readonly ids: readonly number[]; readonly numReturns: number; readonly timeout: number | undefined }
  | { readonly kind: "put"; readonly id: number; readonly value: Encoded }
  | { readonly kind: "release"; readonly ids: readonly number[] }
  | { readonly kind: "cancelTask"; readonly id: number; readonly force: boolean }
  | { readonly kind: "kill"; readonly actor: number }
  | { readonly kind: "log"; readonly stream: "out" | "err"; readonly text: string; /** The task or call that printed it. */ readonly task: number }
  | { readonly kind: "actorInitFailed"; readonly actor: number; readonly error: ErrorData }
  /** Streaming generators (see generator-task.ts): an item, a pause for credit, and the consumer's side. */
  | { readonly kind: "streamYield"; readonly task: number; readonly index: number; readonly value: Encoded }
  | { readonly kind: "streamWait"; readonly task: number; readonly index: number }
  | { readonly kind: "streamOpen"; readonly task: number; readonly backpressure: number }
  | { readonly kind: "streamNext"; readonly req: number; readonly task: number }
  | { readonly kind: "streamClose"; readonly task: number };

/** Marker key carried by handles (ObjectRef, RemoteFunction, ActorHandle) so they survive structured clone. */
export const HANDLE_KEY = "__rayts$";

/** Key of an actor handle's data, apart from its method names. */
export const ACTOR_KEY = "__rayts$actor";

/** A handle as plain data after a structured clone. */
export type HandleData =
  | { readonly [HANDLE_KEY]: "ref"; readonly num: number }
  | { readonly [HANDLE_KEY]: "fn"; readonly id: number; readonly name: string; readonly taskOptions: ResolvedTaskOptions }
  | {
      readonly [HANDLE_KEY]: "cls";
      readonly classId: number;
      readonly name: string;
      readonly methods: readonly string[];
      readonly actorOptions: ResolvedActorOptions;
      readonly streaming?: readonly string[];
    }
  | {
      readonly [HANDLE_KEY]: "actor";
      readonly [ACTOR_KEY]: { readonly id: number; readonly name: string; readonly methods: readonly string[]; readonly streaming?: readonly string[] };
    };
