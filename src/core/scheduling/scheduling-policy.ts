/**
 * Which worker gets a ready task. The runtime pushes ready tasks on the
 * policy's queue, calls {@link SchedulingPolicy.dispatch} once per tick (or
 * sooner in a long submit loop), and the policy hands tasks to workers
 * through the `assign` callback it was made with; the runtime tells it when
 * a task ends ({@link SchedulingPolicy.release}) and how long it ran
 * ({@link SchedulingPolicy.record}).
 *
 * A policy is injected as a factory (like a pool's load balancer), so the
 * runtime does not know how placement is decided: scheduler.ts's
 * micro-batching policy is the default, and a cluster driver places tasks
 * on nodes with its own (src/cluster/scheduling.ts).
 */
import type { Task, TaskWorker } from "./scheduler.js";
import type { TaskQueue } from "./task-queue.js";

/** Placement of ready tasks on task workers. */
export interface SchedulingPolicy {
  /** Ready tasks not yet placed (a retried task goes back to its front). */
  readonly queue: TaskQueue<Task>;
  /** The workers tasks are placed on, by slot. */
  readonly workers: TaskWorker[];
  /** Places as many queued tasks as the policy allows now. */
  dispatch(): void;
  /** A task of `fn` reported that it ran for `us` microseconds. */
  record(fn: number, us: number): void;
  /** A placed task ended (or is to be placed again): its worker forgets it. */
  release(task: Task): void;
  /** CPU slots in use, fractions included. */
  usedSlots(): number;
}

/** Makes a policy for `numCpus` CPU slots; `assign` puts a task on a worker's outbox. */
export type SchedulingPolicyFactory = (numCpus: number, assign: (worker: TaskWorker, task: Task) => void) => SchedulingPolicy;
