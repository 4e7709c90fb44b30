/**
 * Task records and their dependencies: a task's top-level ObjectRef
 * arguments must settle before it runs. Settled ones are swapped for their
 * values at once; the task counts the rest and subscribes once per object,
 * however many tasks wait for it.
 */
import { errorToData, RayError } from "../api/errors.js";
import type { ObjectStore, Settled } from "../store/object-store.js";
import { isBoxed, nestedIds, refId, type Encoded, type ResolvedTaskOptions } from "../protocol/protocol.js";
import type { Task } from "./scheduler.js";

/** The pins of a task that needs no object kept alive: shared, never written. */
const NO_PINS: number[] = [];

/** A task record; it pins its ref arguments and the refs nested in the others. */
export function newTask(id: number, fn: number, args: Encoded[], options: ResolvedTaskOptions, actor?: number, method?: string): Task {
  let pins: number[] = NO_PINS;
  for (const arg of args) {
    if (!isBoxed(arg)) continue;
    const ref = refId(arg);
    if (ref !== undefined) (pins === NO_PINS ? (pins = []) : pins).push(ref);
    else {
      const ids = nestedIds(arg);
      if (ids !== undefined) (pins === NO_PINS ? (pins = []) : pins).push(...ids);
    }
  }
  return {
    id,
    fn,
    name: options.name,
    args,
    options,
    deps: 0,
    pins,
    attempts: 0,
    worker: undefined,
    cancelled: "no",
    actor,
    method,
    depError: undefined,
    observed: undefined,
  };
}

export class Dependencies {
  readonly #store: ObjectStore;
  readonly #ready: (task: Task) => void;
  /** Tasks waiting for a dependency, by the id they wait for. */
  readonly #waitingOn = new Map<number, Task[]>();

  /** `ready` is called once a task's last dependency has settled. */
  constructor(store: ObjectStore, ready: (task: Task) => void) {
    this.#store = store;
    this.#ready = ready;
  }

  /** Swaps settled dependencies in `args` for their values; counts and subscribes to the rest. */
  resolve(task: Task, args: Encoded[]): void {
    for (let index = 0; index < args.length; index++) {
      const id = refId(args[index]);
      if (id === undefined) continue;
      const settled = this.#store.peek(id);
      if (settled !== undefined) {
        if (settled.ok) args[index] = settled.value;
        else task.depError ??= settled.error;
        continue;
      }
      if (!this.#store.has(id)) {
        task.depError ??= errorToData(new RayError(`argument ${index} of ${task.name} refers to object ${id}, which no longer exists`));
        continue;
      }
      task.deps++;
      const waiting = this.#waitingOn.get(id);
      if (waiting === undefined) {
        this.#waitingOn.set(id, [task]);
        this.#store.onSettled(id, (settled) => this.#settled(id, settled));
      } else waiting.push(task);
    }
  }

  #settled(id: number, settled: Settled): void {
    const waiting = this.#waitingOn.get(id);
    if (waiting === undefined) return;
    this.#waitingOn.delete(id);
    for (const task of waiting) {
      // (An actor constructor's pseudo-task shares its args array with the actor.)
      const args = task.args;
      for (let index = 0; index < args.length; index++) {
        if (refId(args[index]) === id) {
          if (settled.ok) args[index] = settled.value;
          else task.depError ??= settled.error;
        }
      }
      if (--task.deps === 0) this.#ready(task);
    }
  }
}
