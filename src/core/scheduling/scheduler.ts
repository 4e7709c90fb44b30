/**
 * Placement of ready tasks on task workers, under the CPU-slot budget.
 *
 * A worker holding unfinished, unblocked tasks of one CPU or more uses one
 * slot, plus `numCpus - 1` more while it runs a multi-CPU task; a task
 * blocked in `get` gives its slot back (as in Ray), so nested tasks never
 * deadlock the pool. Tasks of less than one CPU (Ray's fractional and 0-CPU
 * tasks) are "side" tasks: they hold exactly their fraction of the budget,
 * counted in units of 1/10,000 CPU so sums stay exact, and a worker runs them
 * beside its other work (async ones overlap on its event loop). A worker
 * holds side tasks worth at most one CPU; 0-CPU tasks have no limit and are
 * spread over the workers by how many tasks each holds.
 *
 * Small tasks are micro-batched: the scheduler keeps a running estimate of
 * each function's duration and sends a worker as many queued short tasks as
 * fill ~BATCH_US of work in one message, and keeps a second batch in flight
 * on busy workers so they never idle during the round trip. Tasks up to
 * ~20 ms get one more task queued behind them for the same reason; tasks of
 * unknown or longer duration go one at a time, which keeps load balanced.
 */
import type { ErrorData } from "../api/errors.js";
import type { Encoded, ResolvedTaskOptions } from "../protocol/protocol.js";
import type { SchedulingPolicy, SchedulingPolicyFactory } from "./scheduling-policy.js";
import { FifoQueue, type TaskQueue } from "./task-queue.js";
import type { Transport } from "../transport/transport.js";

/** Work of a batch sent to one worker, in microseconds. */
const BATCH_US = 400;
/** Tasks estimated shorter than this are batched. */
const SHORT_US = 100;
const MAX_BATCH = 1024;
/** Tasks estimated shorter than this get the next one queued behind them on their worker. */
const PREFETCH_US = 20_000;
/** Budget units per CPU: fractions are kept to 4 decimals, as Ray does. */
const UNITS = 10_000;

/** A task's CPU request in budget units. */
function units(task: Task): number {
  return Math.round(task.options.numCpus * UNITS);
}

/** True for a task of less than one CPU: it runs beside the worker's other tasks. */
export function isSideTask(task: Task): boolean {
  return task.options.numCpus < 1;
}

/** A submitted task or actor call, from submit until its result is settled. */
export interface Task {
  /** Also the id of the object that will hold its result. */
  readonly id: number;
  readonly fn: number;
  readonly name: string;
  readonly args: Encoded[];
  readonly options: ResolvedTaskOptions;
  /** Top-level ObjectRef arguments not yet settled. */
  deps: number;
  /** Object ids this task keeps alive until it settles. */
  readonly pins: number[];
  attempts: number;
  worker: TaskWorker | undefined;
  cancelled: "no" | "soft" | "force";
  /** For actor calls. */
  readonly actor: number | undefined;
  readonly method: string | undefined;
  /** A dependency failed: the task settles with this error instead of running. */
  depError: ErrorData | undefined;
  /** The observer's own record of this task (see events.ts), so it needs no lookup table. */
  observed: number | undefined;
}

/** The scheduler's view of one task worker. */
export class TaskWorker {
  link: Transport;
  /** Functions already defined on the current thread. */
  defined = new Set<number>();
  readonly assigned = new Map<number, Task>();
  blocked = 0;
  /** Extra slots held by a running multi-CPU task. */
  extra = 0;
  /** Side tasks (less than one CPU) among `assigned`, and their CPU units. */
  side = 0;
  sideUnits = 0;
  /** Every assigned task is short: safe to keep a second batch in flight. */
  shortOnly = true;
  /** Object ids this thread borrows, with counts. */
  borrows = new Map<number, number>();
  /** Shared blocks the current thread holds in its cache. */
  blocks = new Set<number>();

  constructor(link: Transport) {
    this.link = link;
  }

  /** Unblocked tasks of one CPU or more. */
  get load(): number {
    // A side task blocked in `get` also reports itself blocked; clamp rather than go negative.
    return Math.max(0, this.assigned.size - this.side - this.blocked);
  }

  /** Forgets every task (the thread died and was replaced). */
  reset(): void {
    this.assigned.clear();
    this.blocked = 0;
    this.extra = 0;
    this.side = 0;
    this.sideUnits = 0;
    this.shortOnly = true;
  }
}

/** The default policy: CPU slots, side tasks, micro-batches of short tasks. */
export class Scheduler implements SchedulingPolicy {
  readonly queue: TaskQueue<Task> = new FifoQueue<Task>();
  readonly workers: TaskWorker[] = [];
  readonly #numCpus: number;
  readonly #estimates = new Map<number, number>();
  readonly #assign: (worker: TaskWorker, task: Task) => void;

  constructor(numCpus: number, assign: (worker: TaskWorker, task: Task) => void) {
    this.#numCpus = numCpus;
    this.#assign = assign;
  }

  /** Records a measured duration (us) for a function: an exponential moving average. */
  record(fn: number, us: number): void {
    const old = this.#estimates.get(fn);
    this.#estimates.set(fn, old === undefined ? us : old * 0.8 + us * 0.2);
  }

  /** CPU slots in use, fractions included. */
  usedSlots(): number {
    return this.#usedUnits() / UNITS;
  }

  #usedUnits(): number {
    let used = 0;
    for (const worker of this.workers) {
      if (worker.load > 0) used += (1 + worker.extra) * UNITS;
      used += worker.sideUnits;
    }
    return used;
  }

  /** Places as many queued tasks as the slots allow. */
  dispatch(): void {
    if (this.queue.size === 0) return;
    let free = this.#numCpus * UNITS - this.#usedUnits();
    // A worker's share of the queue counts every worker, busy ones too: they
    // free up soon, and tasks parked behind another on one worker cannot move.
    const share = (): number => Math.ceil(this.queue.size / this.workers.length);
    let next = 0;
    for (;;) {
      const head = this.#nextRunnable();
      if (head === undefined) return;
      const need = units(head);
      if (need > free) break;
      if (isSideTask(head)) {
        const worker = this.#sideWorker(need);
        if (worker === undefined) break;
        this.queue.shift();
        this.#place(worker, head);
        free -= need;
        continue;
      }
      let candidate = this.workers[next];
      while (candidate !== undefined && (candidate.load > 0 || candidate.link.dead)) candidate = this.workers[++next];
      const worker = this.workers[next++];
      if (worker === undefined) break;
      free -= need;
      this.#fill(worker, share());
    }
    // Busy workers running only short tasks get a second batch so they never
    // wait for the round trip, but only when there is work for every worker.
    if (this.queue.size < 2 * this.workers.length) return;
    for (const worker of this.workers) {
      if (this.queue.size === 0) return;
      if (worker.load === 0 || worker.extra > 0 || worker.link.dead) continue;
      if (worker.shortOnly) {
        // Room for a second batch: the worker runs one while the other is on its way.
        if (worker.assigned.size < 2 * this.#batchLimit()) this.#fill(worker, share());
        continue;
      }
      // A task of known, moderate length waits on the worker behind the
      // running one, so the round trip between them is not idle time.
      const head = this.#nextRunnable();
      const estimate = head === undefined ? undefined : this.#estimates.get(head.fn);
      if (worker.assigned.size < 2 && estimate !== undefined && estimate < PREFETCH_US && head?.options.numCpus === 1) {
        this.#fill(worker, 1);
      }
    }
  }

  /** The live worker holding the fewest tasks that has room for a side task of `need` units. */
  #sideWorker(need: number): TaskWorker | undefined {
    let best: TaskWorker | undefined;
    for (const worker of this.workers) {
      if (worker.link.dead || worker.sideUnits + need > UNITS) continue;
      if (best === undefined || worker.assigned.size < best.assigned.size) best = worker;
    }
    return best;
  }

  #place(worker: TaskWorker, task: Task): void {
    if (isSideTask(task)) {
      worker.side++;
      worker.sideUnits += units(task);
    }
    task.worker = worker;
    worker.assigned.set(task.id, task);
    this.#assign(worker, task);
  }

  /** Drops cancelled tasks from the head of the queue and returns the next one. */
  #nextRunnable(): Task | undefined {
    let head = this.queue.peek();
    while (head !== undefined && head.cancelled !== "no") {
      this.queue.shift();
      head = this.queue.peek();
    }
    return head;
  }

  #batchLimit(): number {
    const head = this.queue.peek();
    const estimate = head === undefined ? undefined : this.#estimates.get(head.fn);
    return estimate === undefined ? 1 : Math.min(MAX_BATCH, Math.max(1, Math.floor(BATCH_US / Math.max(estimate, 0.5))));
  }

  /** Sends a worker one task, or a batch of short ones up to `share` tasks. */
  #fill(worker: TaskWorker, share: number): void {
    let budget = BATCH_US;
    let count = 0;
    for (let task = this.#nextRunnable(); task !== undefined; task = this.#nextRunnable()) {
      if (isSideTask(task)) break; // placed by dispatch on the worker with room for it
      // A multi-CPU task's CPUs are budgeted by dispatch for an idle worker only, never behind a busy worker's batch.
      if (task.options.numCpus > 1 && worker.load > 0) break;
      const estimate = this.#estimates.get(task.fn);
      const short = estimate !== undefined && estimate < SHORT_US && task.options.numCpus === 1;
      if (count > 0 && (!short || budget <= 0 || count >= share || count >= MAX_BATCH)) break;
      this.queue.shift();
      count++;
      budget -= estimate ?? BATCH_US;
      if (!short) worker.shortOnly = false;
      if (task.options.numCpus > 1) worker.extra = task.options.numCpus - 1;
      this.#place(worker, task);
      if (!short) break;
    }
  }

  /** Forgets a finished task on its worker. */
  release(task: Task): void {
    const worker = task.worker;
    if (worker === undefined) return;
    if (!worker.assigned.delete(task.id)) return;
    task.worker = undefined;
    if (isSideTask(task)) {
      worker.side--;
      worker.sideUnits -= units(task);
    }
    if (task.options.numCpus > 1) worker.extra = 0;
    if (worker.assigned.size === 0) worker.shortOnly = true;
  }
}

/** Makes the default, micro-batching policy. */
export const microBatching: SchedulingPolicyFactory = (numCpus, assign) => new Scheduler(numCpus, assign);
