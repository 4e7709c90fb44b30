/**
 * How a holder of an actor handle that is not the actor's owner (another
 * driver, or a task on a node) follows the actor through a restart. When
 * the node it sent the calls to died, the holder asks the registry where
 * the actor lives now (actor-registry.ts): on another node (its owner
 * restarted it there), still on the dead node (its owner has not handled
 * the death yet: the holder waits for the owner's `actorMoved` or
 * `actorGone`, reading the placement again every heartbeat), or nowhere
 * (gone for good, or its owner exited and took its placements with it).
 * Named and unnamed actors are followed the same way, by id.
 */
import { actorOwner, placementOf } from "./actor-registry.js";
import type { ActorPlacement, ClusterEvent, ControlPlane } from "./control-plane.js";

/** Where a followed actor is now: a placement on a live node, or why it is gone. */
export type Whereabouts = { readonly placement: ActorPlacement } | { readonly dead: string };

interface Search {
  readonly lost: string;
  readonly found: Promise<Whereabouts>;
  readonly settle: (whereabouts: Whereabouts) => void;
}

export class ActorFollow {
  readonly #plane: ControlPlane;
  readonly #heartbeatMs: number;
  readonly #searches = new Map<string, Search>();
  #stopped = false;

  constructor(plane: ControlPlane, heartbeatMs: number) {
    this.#plane = plane;
    this.#heartbeatMs = heartbeatMs;
  }

  /**
   * Resolves once actor `actorId`, last known on node `lost` (which died),
   * lives on another node, or once it is gone for good. One search per
   * actor at a time: holders asking together share it.
   */
  relocate(actorId: string, lost: string): Promise<Whereabouts> {
    const known = this.#searches.get(actorId);
    if (known?.lost === lost) return known.found;
    let settle!: (whereabouts: Whereabouts) => void;
    const found = new Promise<Whereabouts>((resolve) => (settle = resolve));
    const search: Search = { lost, found, settle };
    this.#searches.set(actorId, search);
    // A search from another lost node gives way: it ends with this one.
    if (known !== undefined) void found.then(known.settle);
    void this.#search(actorId, search);
    return found;
  }

  /** What the event channel says of an actor: a search for it ends on a move away from its lost node, or on its end. */
  event(event: Extract<ClusterEvent, { kind: "actorMoved" | "actorGone" }>): void {
    const actorId = event.kind === "actorMoved" ? event.actor.actorId : event.actorId;
    const search = this.#searches.get(actorId);
    if (search === undefined) return;
    if (event.kind === "actorGone") this.#end(actorId, search, { dead: "it was killed, or died past its restarts (maxRestarts)" });
    else if (event.actor.nodeId !== search.lost) this.#end(actorId, search, { placement: event.actor });
  }

  /** Ends every search: the actors count as gone (this process stops). */
  stop(): void {
    this.#stopped = true;
    for (const [actorId, search] of [...this.#searches]) this.#end(actorId, search, { dead: "this process stopped following it" });
  }

  #end(actorId: string, search: Search, whereabouts: Whereabouts): void {
    if (this.#searches.get(actorId) !== search) return;
    this.#searches.delete(actorId);
    search.settle(whereabouts);
  }

  async #search(actorId: string, search: Search): Promise<void> {
    while (this.#searches.get(actorId) === search && !this.#stopped) {
      let placement: ActorPlacement | undefined;
      try {
        placement = await placementOf(this.#plane, actorId);
      } catch {
        // Redis away for a moment: read again at the next beat (the liveness gives up on a long absence).
        await new Promise((resolve) => setTimeout(resolve, this.#heartbeatMs).unref());
        continue;
      }
      if (placement === undefined) {
        const reason = `its node ${search.lost} died and it was not restarted (killed, out of restarts, or its owner ${actorOwner(actorId)} exited)`;
        this.#end(actorId, search, { dead: reason });
        return;
      }
      if (placement.nodeId !== search.lost) {
        this.#end(actorId, search, { placement });
        return;
      }
      // Its owner has not restarted it yet: its move or its end comes as an event, or is read at the next beat.
      await new Promise((resolve) => setTimeout(resolve, this.#heartbeatMs).unref());
    }
  }
}
