/**
 * What a node sends to other nodes for the actors its tasks use (see
 * node-actors.ts): calls to an actor of another node (their results come
 * back to this node's result stream and settle the calls as nested tasks'
 * results do, see nested-submit.ts), the creation of an actor a task here
 * made and the driver's policies place elsewhere (this node its owner), and
 * kills, and where actors of other nodes went after their node died
 * (actor-follow.ts). The node's nested-task placer lends its node view,
 * arguments and message outbox through {@link SpillPort}.
 */
import { DEFAULT_NAMESPACE } from "../core/api/actor-options.js";
import { errorToData, RayError } from "../core/api/errors.js";
import type { ResolvedActorOptions } from "../core/api/options.js";
import type { Encoded } from "../core/protocol/protocol.js";
import type { DriverParts } from "../core/runtime/driver-parts.js";
import type { Task } from "../core/scheduling/scheduler.js";
import { claimActorName, placeActor, releaseActor } from "./actor-registry.js";
import { ActorFollow, type Whereabouts } from "./actor-follow.js";
import type { ControlPlane } from "./control-plane.js";
import { faultSettings } from "./fault-settings.js";
import type { ActorEvent } from "./node-table.js";
import type { ActorCreation, SendOutcome } from "./node-actors.js";
import type { Choice, Demand } from "./scheduling.js";
import type { ArgWire, ToNode } from "./wire.js";

/** What the sends need from the node's nested-task placer. */
export interface SpillPort {
  readonly nodeId: string;
  readonly plane: ControlPlane;
  /** "dead": declared dead (or this node stops); "unknown": not in this node's view of the cluster yet. */
  status(nodeId: string): "live" | "dead" | "unknown";
  /** Reads the live nodes from the cluster again. */
  refresh(): Promise<void>;
  send(nodeId: string, message: ToNode): void;
  /** The wires of `args`, lending large ones (their ids go to `lent`), or why they cannot leave. */
  lend(args: readonly Encoded[], parts: DriverParts, lent: string[]): { readonly wires: ArgWire[] } | { readonly stays: string };
  /** Frees lent arguments. */
  free(lent: readonly string[]): void;
  /** Follows call `task` sent to `nodeId` until its result comes (it fails with its actor if the node dies); returns the id it is sent under. */
  track(task: Task, parts: DriverParts, nodeId: string, lent: readonly string[], actor: string): string;
  /** The published key of function or class `fn`, or "" when it cannot leave this node. */
  fnKey(fn: number, parts: DriverParts): string;
  /** The driver's policy over the live nodes, this one with its own load. */
  choose(demand: Demand, parts: DriverParts): Choice;
  /** True when this node's declared resources hold `demand` and no hard affinity sends it elsewhere. */
  fitsHere(demand: { readonly numCpus: number; readonly scheduling?: Demand["scheduling"]; readonly resources?: Readonly<Record<string, number>> }): boolean;
}

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});
const NO_LOCALITY: ReadonlyMap<string, number> = new Map();

export class ActorSends {
  readonly #port: SpillPort;
  readonly #follow: ActorFollow;
  /** The time to live of this node's placements past its last beat as an owner. */
  readonly #placementTtl: number;

  constructor(port: SpillPort) {
    this.#port = port;
    const settings = faultSettings();
    this.#follow = new ActorFollow(port.plane, settings.heartbeatMs);
    this.#placementTtl = settings.driverDeadMs;
  }

  /** Where `actor`, last known on `lost` (which died), lives now, or why it is gone. */
  relocate(actor: string, lost: string): Promise<Whereabouts> {
    return this.#follow.relocate(actor, lost);
  }

  /** What the event channel says of an actor moved or gone. */
  event(event: Exclude<ActorEvent, { kind: "actorNamed" }>): void {
    this.#follow.event(event);
  }

  /** Stops following actors (the node stops). */
  stop(): void {
    this.#follow.stop();
  }

  /**
   * Sends call `task` (its method and arguments) of actor `actor` living on
   * `nodeId`. A call of a generator method (`streams`) streams its items to
   * the task's consumer here as the actor yields them (see node-generators.ts
   * for the actor's side): the actor's node is told the consumer's
   * backpressure, what it took, and when it stopped early.
   */
  sendCall(task: Task, parts: DriverParts, actor: string, nodeId: string, streams = false): SendOutcome {
    const port = this.#port;
    const status = port.status(nodeId);
    if (status !== "live") return status;
    const lent: string[] = [];
    const args = port.lend(task.args, parts, lent);
    if ("stays" in args) {
      port.free(lent);
      parts.tasks.settle(task, { ok: false, error: errorToData(new RayError(`cannot send call ${task.name} to node ${nodeId}: ${args.stays}`)) });
      return "sent";
    }
    const id = port.track(task, parts, nodeId, lent, actor);
    port.send(nodeId, { k: "call", id, owner: port.nodeId, actor, method: task.method ?? "", args: args.wires });
    if (streams) {
      let backpressure = 0;
      parts.streams.produceRemotely(task.id, {
        opened: (taken) => {
          backpressure = taken > 0 ? taken : 0;
          port.send(nodeId, { k: "stream", id, backpressure });
        },
        consumed: (consumed) => {
          if (backpressure > 0 && port.status(nodeId) === "live") port.send(nodeId, { k: "ack", id, consumed });
        },
        stop: () => {
          if (port.status(nodeId) === "live") port.send(nodeId, { k: "cancel", id, force: false });
        },
      });
    }
    return "sent";
  }

  /** Reads the live nodes until `nodeId` is known (a read under way may have started before it joined). */
  async refreshNodes(nodeId: string): Promise<void> {
    await this.#port.refresh();
    if (this.#port.status(nodeId) === "unknown") await this.#port.refresh();
  }

  /** Where an actor a task here makes goes: undefined for this node, else a node id or why none fits. */
  placeActor(options: ResolvedActorOptions, parts: DriverParts): string | { readonly error: string } | undefined {
    const port = this.#port;
    if (port.status(port.nodeId) === "dead") return undefined;
    const scheduling = options.scheduling ?? "DEFAULT";
    const resources = options.resources ?? NO_RESOURCES;
    // The creating node when it fits, unless SPREAD or an affinity to another node asks otherwise.
    const elsewhere = scheduling === "SPREAD" || (typeof scheduling === "object" && scheduling.nodeId !== port.nodeId);
    if (!elsewhere && port.fitsHere({ numCpus: 1, scheduling, resources })) return undefined;
    const choice = port.choose({ numCpus: 1, resources, scheduling, locality: NO_LOCALITY }, parts);
    if ("error" in choice) return { error: choice.error };
    return choice.node.nodeId === port.nodeId ? undefined : choice.node.nodeId;
  }

  /** Sends the creation of an actor a task here made to `nodeId`, this node its owner; returns why it cannot go, or undefined. */
  sendActor(actor: ActorCreation, parts: DriverParts, nodeId: string): string | undefined {
    const port = this.#port;
    if (port.status(nodeId) !== "live") return "that node is not live";
    const key = port.fnKey(actor.cls, parts);
    if (key === "") return `class ${actor.className} has a capture that cannot leave this node`;
    // Lent for as long as this node lives: the actor's constructor reads them there.
    const lent: string[] = [];
    const args = port.lend(actor.args, parts, lent);
    if ("stays" in args) {
      port.free(lent);
      return args.stays;
    }
    const { options } = actor;
    const name = options.name === undefined ? undefined : options.namespace === DEFAULT_NAMESPACE ? options.name : `${options.namespace}/${options.name}`;
    // Before the creation, on the same connection: a call reaching its node first finds it placed there.
    const placement = { actorId: actor.gid, nodeId, incarnation: 0, maxTaskRetries: options.maxTaskRetries, ...(name === undefined ? {} : { name }) };
    void placeActor(port.plane, port.nodeId, placement, this.#placementTtl).catch(() => undefined);
    port.send(nodeId, {
      k: "actor",
      id: actor.gid,
      owner: port.nodeId,
      cls: key,
      name: actor.className,
      args: args.wires,
      options: { ...options, name: undefined, displayName: options.name, getIfExists: false },
      methods: actor.methods,
    });
    if (name !== undefined) {
      void claimActorName(port.plane, { name, actorId: actor.gid, nodeId, className: actor.className, methods: [...actor.methods], streaming: [...actor.streaming] }).catch(() => undefined);
    }
    return undefined;
  }

  /** Tells `nodeId` to kill `actor` (`name`: its registry name, when named). */
  sendKill(actor: string, nodeId: string, name: string | undefined): void {
    const port = this.#port;
    if (port.status(nodeId) !== "dead") port.send(nodeId, { k: "kill", actor });
    // Through any handle, as in Ray: every holder is told, and its owner does not restart it.
    this.release(actor, name);
  }

  /** An actor is gone for good: its placement and name are released, every holder told. */
  release(actor: string, name: string | undefined): void {
    void releaseActor(this.#port.plane, actor, name).catch(() => undefined);
  }
}
