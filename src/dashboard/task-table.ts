/**
 * Columnar storage of task records: one typed array per field, indexed by a
 * slot, so recording a task allocates no object the collector must trace or
 * promote. Names and worker names are interned once; a record becomes an
 * object only when the state API, the dashboard or the timeline reads it.
 *
 * A live task holds its slot (in the task's `observed` field); an ended one
 * keeps it in {@link EndedSlots}, a ring of `maxTasks` slots that frees the
 * oldest slot when a newer task ends.
 */
import { TASK_STATES, canTransition, type TaskState } from "../core/runtime/events.js";
import type { ErrorData } from "../core/api/errors.js";

/** One task or actor call as recorded (a snapshot, made when read). */
export interface TaskRecord {
  readonly id: number;
  readonly name: string;
  readonly actor: number | undefined;
  readonly state: TaskState;
  readonly attempts: number;
  readonly worker: string | undefined;
  readonly parent: number | undefined;
  readonly submitted: number;
  readonly queued: number | undefined;
  readonly assigned: number | undefined;
  readonly started: number | undefined;
  readonly ended: number | undefined;
  readonly error: ErrorData | undefined;
}

/** State codes: the index of a state in TASK_STATES. */
export const STATE_CODE: Readonly<Record<TaskState, number>> = Object.fromEntries(TASK_STATES.map((state, code) => [state, code])) as Record<TaskState, number>;

const STATES = TASK_STATES.length;
/** `ALLOWED[from * STATES + to]` is 1 when a task may go from `from` to `to`. */
const ALLOWED = new Uint8Array(STATES * STATES);
for (const [from, fromState] of TASK_STATES.entries()) for (const [to, toState] of TASK_STATES.entries()) ALLOWED[from * STATES + to] = canTransition(fromState, toState) ? 1 : 0;

/** True when a task may go from state code `from` to `to`. */
export function allowed(from: number, to: number): boolean {
  return ALLOWED[from * STATES + to] === 1;
}

const INITIAL_SLOTS = 1024;
/** Interned ids of an absent worker name. */
const NO_WORKER = -1;

/** Strings interned to small ids; a run of the same string skips the map. */
class Interned {
  readonly values: string[] = [];
  readonly #ids = new Map<string, number>();
  #last = "";
  #lastId = -1;

  id(value: string): number {
    if (value === this.#last) return this.#lastId;
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.values.push(value) - 1;
      this.#ids.set(value, id);
    }
    this.#last = value;
    return (this.#lastId = id);
  }
}

const optional = (value: number): number | undefined => (Number.isNaN(value) ? undefined : value);

export class TaskTable {
  id = new Float64Array(INITIAL_SLOTS);
  name = new Int32Array(INITIAL_SLOTS);
  /** Actor and parent task ids; NaN when absent. */
  actor = new Float64Array(INITIAL_SLOTS);
  parent = new Float64Array(INITIAL_SLOTS);
  state = new Uint8Array(INITIAL_SLOTS);
  attempts = new Int32Array(INITIAL_SLOTS);
  worker = new Int32Array(INITIAL_SLOTS);
  /** `performance.now()` times; NaN until the task gets there. */
  submitted = new Float64Array(INITIAL_SLOTS);
  queued = new Float64Array(INITIAL_SLOTS);
  assigned = new Float64Array(INITIAL_SLOTS);
  started = new Float64Array(INITIAL_SLOTS);
  ended = new Float64Array(INITIAL_SLOTS);
  /** Errors of failed tasks, by slot (few tasks fail). */
  readonly errors = new Map<number, ErrorData>();
  readonly names = new Interned();
  readonly workers = new Interned();
  /** Free slots, used as a stack; slot 0 is never used (0 means "no slot"). */
  #free = new Int32Array(INITIAL_SLOTS);
  #freeCount = 0;
  #used = 1;

  /** Slots in use (live and retained ended tasks). */
  get slotsInUse(): number {
    return this.#used - 1 - this.#freeCount;
  }

  /** A slot for a new task, its fields set. */
  add(id: number, name: string, actor: number | undefined, parent: number | undefined, attempts: number, state: number, now: number, queued: number): number {
    const slot = this.#freeCount > 0 ? (this.#free[--this.#freeCount] as number) : this.#fresh();
    this.id[slot] = id;
    this.name[slot] = this.names.id(name);
    this.actor[slot] = actor ?? NaN;
    this.parent[slot] = parent ?? NaN;
    this.state[slot] = state;
    this.attempts[slot] = attempts;
    this.worker[slot] = NO_WORKER;
    this.submitted[slot] = now;
    this.queued[slot] = queued;
    this.assigned[slot] = NaN;
    this.started[slot] = NaN;
    this.ended[slot] = NaN;
    return slot;
  }

  release(slot: number): void {
    if (this.errors.size > 0) this.errors.delete(slot);
    if (this.#freeCount === this.#free.length) this.#free = grow(this.#free, this.#free.length * 2);
    this.#free[this.#freeCount++] = slot;
  }

  setWorker(slot: number, worker: string | undefined): void {
    this.worker[slot] = worker === undefined ? NO_WORKER : this.workers.id(worker);
  }

  nameOf(slot: number): string {
    return this.names.values[this.name[slot] as number] as string;
  }

  /** The record in `slot`, as an object. */
  record(slot: number): TaskRecord {
    const worker = this.worker[slot] as number;
    return {
      id: this.id[slot] as number,
      name: this.nameOf(slot),
      actor: optional(this.actor[slot] as number),
      state: TASK_STATES[this.state[slot] as number] as TaskState,
      attempts: this.attempts[slot] as number,
      worker: worker === NO_WORKER ? undefined : this.workers.values[worker],
      parent: optional(this.parent[slot] as number),
      submitted: this.submitted[slot] as number,
      queued: optional(this.queued[slot] as number),
      assigned: optional(this.assigned[slot] as number),
      started: optional(this.started[slot] as number),
      ended: optional(this.ended[slot] as number),
      error: this.errors.get(slot),
    };
  }

  #fresh(): number {
    if (this.#used === this.id.length) {
      const size = this.id.length * 2;
      this.id = grow(this.id, size);
      this.name = grow(this.name, size);
      this.actor = grow(this.actor, size);
      this.parent = grow(this.parent, size);
      this.state = grow(this.state, size);
      this.attempts = grow(this.attempts, size);
      this.worker = grow(this.worker, size);
      this.submitted = grow(this.submitted, size);
      this.queued = grow(this.queued, size);
      this.assigned = grow(this.assigned, size);
      this.started = grow(this.started, size);
      this.ended = grow(this.ended, size);
    }
    return this.#used++;
  }
}

type Column = Float64Array | Int32Array | Uint8Array;

function grow<C extends Column>(column: C, size: number): C {
  const bigger = new (column.constructor as new (size: number) => C)(size);
  bigger.set(column);
  return bigger;
}

/**
 * The slots of the newest `capacity` ended tasks, in the order they ended;
 * pushing past capacity frees the oldest slot and counts it as dropped.
 */
export class EndedSlots {
  readonly #table: TaskTable;
  readonly #slots: Int32Array;
  #next = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity: number, table: TaskTable) {
    this.#slots = new Int32Array(capacity);
    this.#table = table;
  }

  push(slot: number): void {
    const capacity = this.#slots.length;
    if (capacity === 0) {
      this.#dropped++;
      this.#table.release(slot);
      return;
    }
    if (this.#size === capacity) {
      this.#dropped++;
      this.#table.release(this.#slots[this.#next] as number);
    } else this.#size++;
    this.#slots[this.#next] = slot;
    this.#next = this.#next + 1 === capacity ? 0 : this.#next + 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Ended tasks no longer kept. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Slots, newest ended first. */
  slotsNewestFirst(): number[] {
    const out: number[] = [];
    const capacity = this.#slots.length;
    for (let index = 1; index <= this.#size; index++) out.push(this.#slots[(this.#next - index + capacity) % capacity] as number);
    return out;
  }

  /** Records, newest ended first; only those in `state`, at most `limit`, when given. */
  newestFirst(state?: TaskState, limit = Infinity): TaskRecord[] {
    const table = this.#table;
    const code = state === undefined ? -1 : STATE_CODE[state];
    const out: TaskRecord[] = [];
    for (const slot of this.slotsNewestFirst()) {
      if (out.length >= limit) break;
      if (code === -1 || table.state[slot] === code) out.push(table.record(slot));
    }
    return out;
  }
}
