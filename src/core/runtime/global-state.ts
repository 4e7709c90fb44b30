/**
 * The state of one thread: its runtime, its codec, its id source and the
 * remote functions defined in it.
 *
 * A program can load rayts twice in one thread (its sources through a
 * TypeScript loader and the built package through a compiled task module);
 * both copies must see one runtime and one id counter, so the state hangs
 * off `globalThis` under a registered symbol rather than a module variable.
 * Everything that belongs to a runtime (ids, codec, caches) is replaced when
 * a new runtime starts: see {@link beginRuntime}.
 */
import type { FunctionDefinition } from "../protocol/protocol.js";
import type { Backend } from "./backend.js";
import type { ObserveHook } from "./events.js";
import type { NestedPlacer } from "./driver-tasks.js";
import type { Task } from "../scheduling/scheduler.js";
import type { DriverParts } from "./driver-parts.js";
import type { Encoded, NamedActor } from "../protocol/protocol.js";
import type { ResolvedActorOptions } from "../api/options.js";
import { randomInt } from "node:crypto";
import { Codec } from "../codec/codec.js";

/** Slot of the shared counter that object, task, actor and block ids come from; restarts with each runtime. */
const RUNTIME_SLOT = 0;
/** Slot that function ids come from; never restarts, since functions outlive runtimes. */
const FUNCTION_SLOT = 1;
/** Slot holding the runtime's random tag, the prefix of its public ids. */
const TAG_SLOT = 2;
const ID_BYTES = 24;

interface GlobalState {
  backend: Backend | undefined;
  /** Starts a driver runtime with defaults; set by the driver API module. */
  autoInit: (() => Backend) | undefined;
  /** Starts the state recorder and dashboard of a new driver runtime; set by the dashboard module. */
  observe: ObserveHook | undefined;
  /** Every remote function defined in this thread, by id. */
  readonly functions: Map<number, FunctionDefinition>;
  /**
   * Two 64-bit counters shared by the driver and all its workers: object,
   * task, actor and block ids come from the first, function ids from the
   * second, so a worker can name a new object without a round trip to the
   * driver.
   */
  ids: BigInt64Array;
  /** The value codec of this thread (its block cache and argument buffers). */
  codec: Codec;
  /** The prefix of the public ids of the current runtime (hex of its random tag); empty before any runtime. */
  tag: string;
  /** Offered each task a worker submits once it can run (a cluster node places some on other nodes). */
  placeNested: NestedPlacer | undefined;
  /** Told of a cancelled task that runs on no worker here (a cluster node cancels it where it went). */
  cancelNested: ((task: Task, force: boolean) => void) | undefined;
  /** Actors living on other machines, reached through handles in this runtime (a cluster node routes their calls). */
  remoteActors: RemoteActors | undefined;
}

/** Actors of other machines, as a runtime's actor manager sees them (see src/cluster/node-actors.ts). */
export interface RemoteActors {
  /** A runtime starts: the parts its calls are settled with. */
  attach(parts: DriverParts): void;
  /** Creates actor `id`, made by a task, on another machine when its options place it there; false: it lives here. */
  create(id: number, cls: number, args: readonly Encoded[], options: ResolvedActorOptions, methods: readonly string[]): boolean;
  /** Takes a call to actor `task.actor` when it is one of these; false otherwise. */
  call(task: Task): boolean;
  /** The queued calls of actor `actor` may have their arguments now. */
  pump(actor: number): void;
  /** Kills actor `actor` when it is one of these; false otherwise. */
  kill(actor: number): boolean;
  /** The named ones, for a thread that starts. */
  named(): NamedActor[];
}

const KEY = Symbol.for("rayts.state");

function create(): GlobalState {
  return {
    backend: undefined,
    autoInit: undefined,
    observe: undefined,
    functions: new Map(),
    ids: new BigInt64Array(new SharedArrayBuffer(ID_BYTES)),
    codec: new Codec(false, nextId, ""),
    tag: "",
    placeNested: undefined,
    cancelNested: undefined,
    remoteActors: undefined,
  };
}

const holder = globalThis as unknown as { [KEY]?: GlobalState };
/** The state of this thread. */
export const state: GlobalState = holder[KEY] ?? (holder[KEY] = create());

/** A fresh id, unique across the driver and its workers for the life of the runtime. */
export function nextId(): number {
  return Number(Atomics.add(state.ids, RUNTIME_SLOT, 1n)) + 1;
}

/** A fresh function id, unique across the driver and its workers for the life of the process. */
export function nextFunctionId(): number {
  return Number(Atomics.add(state.ids, FUNCTION_SLOT, 1n)) + 1;
}

/**
 * Starts the per-runtime state of the driver thread: a new id counter (object
 * ids start again from 1; function ids go on) and a new codec. Called before
 * each driver runtime is made, so a runtime started after `shutdown()` owes
 * nothing to the one before it; its public ids get a new random prefix.
 */
export function beginRuntime(): void {
  const ids = new BigInt64Array(new SharedArrayBuffer(ID_BYTES));
  ids[FUNCTION_SLOT] = Atomics.load(state.ids, FUNCTION_SLOT);
  ids[TAG_SLOT] = BigInt(randomInt(1, 2 ** 48 - 1));
  adopt(ids);
  state.codec = new Codec(false, nextId, state.tag);
}

function adopt(ids: BigInt64Array): void {
  state.ids = ids;
  state.tag = ids[TAG_SLOT] === 0n ? "" : (ids[TAG_SLOT] as bigint).toString(16).padStart(12, "0");
}

/** Makes this worker thread draw ids from the driver's counter and keep the blocks it receives. */
export function adoptIdCounter(buffer: SharedArrayBuffer): void {
  adopt(new BigInt64Array(buffer));
  state.codec = new Codec(true, nextId, state.tag);
}

/** The runtime of this thread, initialising the driver with defaults on first use (as Ray >= 1.5 does). */
export function currentBackend(): Backend {
  const backend = state.backend;
  if (backend !== undefined) return backend;
  if (state.autoInit === undefined) throw new Error("rayts runtime is not available in this thread");
  return state.autoInit();
}

const SCOPED = Symbol.for("rayts.runtimeScoped");
/** Stands for "no runtime yet" in the table of runtime-scoped values. */
const NO_RUNTIME = {};

/**
 * A value kept for the life of this thread's current runtime: made by
 * `make` on first use and gone with the runtime, so `shutdown()` and a new
 * `init()` start without it. Before any runtime runs, values are kept for
 * "no runtime" and are not seen by the runtime that starts next. Never
 * starts a runtime itself.
 */
export function runtimeScoped<T>(key: symbol, make: () => T): T {
  const holder = state as unknown as { [SCOPED]?: WeakMap<object, Map<symbol, unknown>> };
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- false positive: an optional symbol-keyed property reads as never undefined
  const byRuntime = (holder[SCOPED] ??= new WeakMap());
  const runtime: object = state.backend ?? NO_RUNTIME;
  let values = byRuntime.get(runtime);
  if (values === undefined) byRuntime.set(runtime, (values = new Map<symbol, unknown>()));
  if (!values.has(key)) values.set(key, make());
  return values.get(key) as T;
}
