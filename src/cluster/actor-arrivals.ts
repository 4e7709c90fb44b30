/**
 * Calls that reach a node before the actor they call. An actor's creation
 * (its first start, or its restart after its node died) travels in its
 * owner's messages, while the news of where it lives travels through the
 * actor registry (actor-registry.ts), which may name the new node first:
 * the owner's messages can be late (a slow or retried send), and another
 * driver or node may call the actor there on that news. Such a call waits
 * for the creation, in order with the calls behind it, while the registry
 * places the actor here (its placements last while its owner beats; checked
 * every heartbeat), at most the owner's time to live. An actor killed here,
 * or one the registry does not place here, fails its calls at once.
 */
import { placementOf } from "./actor-registry.js";
import type { ControlPlane } from "./control-plane.js";
import type { FaultSettings } from "./fault-settings.js";

/** Killed actors remembered for late calls (the oldest are forgotten first). */
const MAX_GONE = 10_000;

interface Awaited {
  readonly arrived: Promise<void>;
  /** Lets the waiting calls go: behind the actor's start, or (undefined) to fail. */
  readonly release: (started: Promise<void> | undefined) => void;
}

export class ActorArrivals {
  readonly #plane: ControlPlane;
  readonly #nodeId: string;
  readonly #settings: FaultSettings;
  readonly #awaited = new Map<string, Awaited>();
  /** Actors killed here: a late call to one of them fails without a look at the registry. */
  readonly #gone = new Set<string>();

  constructor(plane: ControlPlane, nodeId: string, settings: FaultSettings) {
    this.#plane = plane;
    this.#nodeId = nodeId;
    this.#settings = settings;
  }

  /**
   * A call for `actorId`, not known here, arrived: resolves once the actor
   * started here (the call then runs) or once it will not come (the call
   * then fails as a call to a dead actor). Calls chained behind keep their order.
   */
  expect(actorId: string): Promise<void> {
    const known = this.#awaited.get(actorId);
    if (known !== undefined) return known.arrived;
    if (this.#gone.has(actorId)) return Promise.resolve();
    let release!: Awaited["release"];
    const arrived = new Promise<void>((resolve) => {
      release = (started) => resolve(started?.catch(() => undefined));
    });
    const awaited: Awaited = { arrived, release };
    this.#awaited.set(actorId, awaited);
    void this.#watch(actorId, awaited);
    return arrived;
  }

  /** Actor `actorId` is being created here; true when calls were waiting for it (their chain is already in place, behind `started`). */
  arrived(actorId: string, started: Promise<void>): boolean {
    this.#gone.delete(actorId);
    const awaited = this.#awaited.get(actorId);
    if (awaited === undefined) return false;
    this.#awaited.delete(actorId);
    awaited.release(started);
    return true;
  }

  /** Actor `actorId` was killed here (or its owner exited). */
  gone(actorId: string): void {
    this.#gone.add(actorId);
    // Bounded: a late call to an actor forgotten here still fails, after one look at the registry.
    if (this.#gone.size > MAX_GONE) this.#gone.delete(this.#gone.values().next().value as string);
    const awaited = this.#awaited.get(actorId);
    if (awaited === undefined) return;
    this.#awaited.delete(actorId);
    awaited.release(undefined);
  }

  /** Checks every heartbeat whether the actor may still come; gives up when it may not, or after the owner's time to live. */
  async #watch(actorId: string, awaited: Awaited): Promise<void> {
    const { heartbeatMs, driverDeadMs } = this.#settings;
    const giveUpAt = Date.now() + driverDeadMs;
    for (;;) {
      let coming = false;
      try {
        coming = Date.now() < giveUpAt && (await this.#coming(actorId));
      } catch {
        coming = false;
      }
      if (this.#awaited.get(actorId) !== awaited) return; // arrived meanwhile
      if (!coming) {
        this.#awaited.delete(actorId);
        awaited.release(undefined);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, heartbeatMs));
      if (this.#awaited.get(actorId) !== awaited) return;
    }
  }

  /** True while the registry places the actor on this node (its owner's placements lapse with its beat). */
  async #coming(actorId: string): Promise<boolean> {
    return (await placementOf(this.#plane, actorId))?.nodeId === this.#nodeId;
  }
}
