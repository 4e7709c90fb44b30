/**
 * A node's watch over the owners (drivers) of the work it runs: every owner
 * seen is checked on each liveness round; one whose heartbeat key is gone
 * (it exited, or was killed) has its tasks cancelled, its non-detached
 * actors killed and the objects it owned dropped on this node, as Ray
 * cleans up a job's workers when its driver exits. Later messages from a
 * dead owner are dropped.
 */
import type { ControlPlane } from "./control-plane.js";
import { driverKey } from "./liveness.js";

/** What an owner has on this node. */
export interface OwnerWork {
  readonly tasks: Set<string>;
  /** Actor id -> detached. */
  readonly actors: Map<string, boolean>;
}

export class OwnerWatch {
  readonly #plane: ControlPlane;
  readonly #onDied: (owner: string, work: OwnerWork) => void;
  readonly #work = new Map<string, OwnerWork>();
  /** Owners found dead; their messages are dropped. */
  readonly dead = new Set<string>();

  constructor(plane: ControlPlane, onDied: (owner: string, work: OwnerWork) => void) {
    this.#plane = plane;
    this.#onDied = onDied;
  }

  #of(owner: string): OwnerWork {
    let work = this.#work.get(owner);
    if (work === undefined) this.#work.set(owner, (work = { tasks: new Set(), actors: new Map() }));
    return work;
  }

  /** An owner seen (for objects it owns here). */
  seen(owner: string): void {
    if (!this.dead.has(owner)) this.#of(owner);
  }

  task(owner: string, id: string): void {
    this.#of(owner).tasks.add(id);
  }

  taskDone(owner: string, id: string): void {
    this.#work.get(owner)?.tasks.delete(id);
  }

  actor(owner: string, id: string, detached: boolean): void {
    this.#of(owner).actors.set(id, detached);
  }

  actorGone(owner: string, id: string): void {
    this.#work.get(owner)?.actors.delete(id);
  }

  /** Checks every owner seen; the dead ones are cleaned up (once). */
  async check(): Promise<void> {
    const owners = [...this.#work.keys()];
    if (owners.length === 0) return;
    const alive = await this.#plane.redis.mget(owners.map(driverKey));
    owners.forEach((owner, index) => {
      if (alive[index] !== null) return;
      const work = this.#work.get(owner) as OwnerWork;
      this.#work.delete(owner);
      this.dead.add(owner);
      this.#onDied(owner, work);
    });
  }
}
