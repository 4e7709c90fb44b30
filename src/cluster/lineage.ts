/**
 * Lineage reconstruction on a driver, as Ray's owners do: the owner keeps,
 * for every task output it owns, the work that made it (function, arguments,
 * options). When every copy of a large output was on nodes that died, `get`
 * re-runs that task, first rebuilding its own lost inputs (recursively, at
 * most {@link MAX_LINEAGE_DEPTH} levels), spending the task's `maxRetries`.
 * An object with no lineage (a `put`), or out of retries, fails with
 * `ObjectLostError`.
 */
import { errorToData, ObjectLostError } from "../core/api/errors.js";
import type { Work } from "./driver-actors.js";
import type { FaultSettings } from "./fault-settings.js";
import type { OwnedObject, OwnershipTable } from "./objects.js";

/** Levels of inputs rebuilt at most for one object. */
export const MAX_LINEAGE_DEPTH = 100;

export class Lineage {
  readonly #objects: OwnershipTable;
  readonly #whenReady: (work: Work) => void;
  readonly #work = new WeakMap<OwnedObject, Work>();
  readonly #recovering = new Map<OwnedObject, Promise<void>>();
  /** Nodes declared dead: no copy there is reachable. */
  readonly dead = new Set<string>();
  /** Tasks run again to rebuild lost objects. */
  reruns = 0;

  constructor(objects: OwnershipTable, whenReady: (work: Work) => void) {
    this.#objects = objects;
    this.#whenReady = whenReady;
  }

  /** Remembers how `object` was made (while the object lives). */
  record(object: OwnedObject, work: Work): void {
    this.#work.set(object, work);
  }

  #lost(object: OwnedObject): boolean {
    const settled = object.state;
    return settled?.ok === true && !settled.inline && object.local === undefined && settled.holders.every((holder) => this.dead.has(holder));
  }

  /**
   * Rebuilds `object` when its every copy is known lost (called once a pull
   * found no live holder); otherwise it is left alone. Settles it again,
   * with its value or with ObjectLostError.
   */
  recover(object: OwnedObject, depth = 0, known = true): Promise<void> {
    if (object.state === undefined) return this.#objects.whenSettled([object], 1, undefined).then(() => undefined);
    if (!(known || this.#lost(object))) return Promise.resolve();
    const settled = object.state;
    if (!settled.ok || settled.inline || object.local !== undefined) return Promise.resolve();
    const running = this.#recovering.get(object);
    if (running !== undefined) return running;
    const work = this.#work.get(object);
    if (work === undefined || object.retriesLeft <= 0 || depth >= MAX_LINEAGE_DEPTH) {
      const why =
        work === undefined
          ? "it was put, and a put object has no lineage to rebuild it from"
          : depth >= MAX_LINEAGE_DEPTH
            ? `its lineage is deeper than ${MAX_LINEAGE_DEPTH} tasks`
            : "the task that made it ran out of retries (maxRetries)";
      object.state = { ok: false, error: errorToData(new ObjectLostError(`object ${object.gid} was lost: every copy was on a node that died (${settled.holders.join(", ")}), and ${why}`)) };
      return Promise.resolve();
    }
    const rebuilt = (async () => {
      await Promise.all(work.deps.map((dep) => this.recover(dep, depth + 1, false)));
      object.retriesLeft--;
      this.reruns++;
      object.state = undefined;
      object.pulled = undefined;
      object.deps = [...work.deps];
      for (const dep of object.deps) this.#objects.pin(dep);
      this.#whenReady(work);
      await this.#objects.whenSettled([object], 1, undefined);
    })().finally(() => this.#recovering.delete(object));
    this.#recovering.set(object, rebuilt);
    return rebuilt;
  }

  /**
   * Waits until every one of `nodeIds` is declared dead (true), or gives up
   * after two times to live (false: some of them are alive after all).
   */
  async awaitDeath(nodeIds: readonly string[], settings: FaultSettings): Promise<boolean> {
    const deadline = Date.now() + 2 * settings.deadMs + 2 * settings.heartbeatMs;
    while (!nodeIds.every((id) => this.dead.has(id))) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, settings.heartbeatMs / 2));
    }
    return true;
  }

  /**
   * A task failed because an input was lost: rebuilds the lost inputs and
   * runs it again, spending one retry. False when it has none left.
   */
  retryAfterLoss(object: OwnedObject): boolean {
    const work = this.#work.get(object);
    if (work === undefined || object.retriesLeft <= 0) return false;
    object.retriesLeft--;
    this.reruns++;
    object.sent = false;
    void Promise.all(work.deps.map((dep) => this.recover(dep, 1, false))).then(() => this.#whenReady(work));
    return true;
  }
}
