/**
 * The parts a driver runtime is composed of, as its pieces see each other.
 * runtime.ts builds one `DriverParts` and hands it to the task lifecycle,
 * the object API, the message handlers and the failure handling; each part
 * reaches the others only through the interfaces named here.
 */
import type { ActorManager } from "../actors/actor-manager.js";
import type { ActorThread } from "../actors/actor-threads.js";
import type { FinalizerTurns } from "../store/collector.js";
import type { MemoryMonitor } from "./memory-monitor.js";
import type { ChildReuse } from "./child-reuse.js";
import type { GeneratorStreams } from "./generator-task.js";
import type { ControlPlane } from "./control-plane.js";
import type { Dependencies } from "../scheduling/dependencies.js";
import type { DriverLoop } from "./driver-loop.js";
import type { DriverObjects } from "./driver-objects.js";
import type { TaskLifecycle } from "./driver-tasks.js";
import type { EventSink, TaskEventCalls, WorkerName } from "./events.js";
import type { Lending } from "../store/lending.js";
import type { LocalObjectStore } from "../store/local-object-store.js";
import type { ResolvedInitOptions } from "../api/options.js";
import type { OwnershipTable } from "../store/ownership.js";
import { TaskWorker } from "../scheduling/scheduler.js";
import type { SchedulingPolicy } from "../scheduling/scheduling-policy.js";
import type { FromWorker } from "../protocol/protocol.js";
import type { Transport, TransportHost } from "../transport/transport.js";

/** A thread the driver talks to: a task worker or an actor thread. */
export type Owner = TaskWorker | ActorThread;

/** The parts of one driver runtime, shared by its pieces. */
export interface DriverParts {
  readonly options: ResolvedInitOptions;
  readonly store: LocalObjectStore;
  readonly ownership: OwnershipTable<Owner>;
  readonly control: ControlPlane;
  readonly policy: SchedulingPolicy;
  readonly lending: Lending;
  readonly dependencies: Dependencies;
  readonly actors: ActorManager;
  readonly loop: DriverLoop;
  readonly tasks: TaskLifecycle;
  /** Children of retried tasks, reused by their next attempt (see child-reuse.ts). */
  readonly reuse: ChildReuse;
  readonly objects: DriverObjects;
  readonly turns: FinalizerTurns;
  /** The memory monitor, unless turned off (see memory-monitor.ts). */
  readonly memory: MemoryMonitor | undefined;
  /** Items of streaming generator tasks (see generator-task.ts). */
  readonly streams: GeneratorStreams<Transport, Owner>;
  /** Where task workers run. */
  readonly taskHost: TransportHost;
  /** Each live peer's owner. */
  readonly owners: Map<Transport, Owner>;
  /** One float per peer slot: the task it runs (written by the worker). */
  readonly running: Float64Array;
  /** Where lifecycle events go; undefined while nobody records (see events.ts). */
  events: EventSink | undefined;
  /** The same sink for the events every task emits (see events.ts); undefined when `events` is. */
  taskEvents: TaskEventCalls | undefined;
  /** Handles a batch from a peer (see worker-messages.ts). */
  readonly onBatch: (peer: Transport, batch: FromWorker[]) => void;
  readonly onExit: (peer: Transport, error: unknown) => void;
  /** Tells a new thread the named actors, so `getActor` works in its tasks. */
  readonly announceNames: (peer: Transport) => void;
}

/** The name the state API shows for a thread. */
export function workerName(peer: Transport, owner: Owner): WorkerName {
  return owner instanceof TaskWorker ? taskWorkerName(peer.index) : `actor-${peer.index}`;
}

/** Names of task worker slots, made once: every task's assignment carries one. */
const taskWorkerNames: WorkerName[] = [];

/** The name of task worker slot `index`. */
export function taskWorkerName(index: number): WorkerName {
  return (taskWorkerNames[index] ??= `task-${index}`);
}
