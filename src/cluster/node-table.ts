/**
 * The driver's view of the cluster: live nodes (refreshed from Redis every
 * second and on every node event) and named actors (loaded once, then kept
 * current from the event channel), so that `nodes()`, `getActor(name)` and
 * the scheduler answer synchronously.
 */
import type { Redis } from "ioredis";
import { EVENTS, PREFIX, type ClusterEvent, type ControlPlane, type LiveNode, type NamedActorRecord } from "./control-plane.js";
import type { Demand, NodeView } from "./scheduling.js";

const REFRESH_MS = 1000;

/** A live node in the driver's view. */
export interface NodeEntry extends NodeView {
  live: LiveNode;
  /** CPU slots of this driver's tasks there (`inFlight` also weighs its actors, for placement only). */
  taskCpus: number;
  /** Work waiting here for custom resources to free up: `go` sends it (false while they are still in use). */
  readonly waiting: { readonly go: () => boolean; readonly demand: Demand }[];
}

/** The events about actors. */
export type ActorEvent = Extract<ClusterEvent, { kind: "actorNamed" | "actorMoved" | "actorGone" }>;

export class NodeTable {
  readonly #plane: ControlPlane;
  readonly #nodes = new Map<string, NodeEntry>();
  readonly names = new Map<string, NamedActorRecord>();
  readonly #onGone: (node: NodeEntry) => void;
  #subscriber: Redis | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #list: NodeEntry[] | undefined;
  readonly #suspects = new Set<string>();
  /** Told of every actor named, moved (restarted elsewhere) or gone, once `names` has changed. */
  onActor: ((event: ActorEvent) => void) | undefined;

  constructor(plane: ControlPlane, onGone: (node: NodeEntry) => void) {
    this.#plane = plane;
    this.#onGone = onGone;
  }

  /** Loads nodes and names and starts following changes. */
  async start(): Promise<void> {
    this.#subscriber = await this.#plane.connection("rayts-driver-events");
    this.#subscriber.on("message", (_channel: string, text: string) => this.#event(JSON.parse(text) as ClusterEvent));
    await this.#subscriber.subscribe(EVENTS);
    for (const actor of await this.#plane.namedActors()) this.names.set(actor.name, actor);
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
  }

  #event(event: ClusterEvent): void {
    switch (event.kind) {
      case "actorNamed":
        this.names.set(event.actor.name, event.actor);
        this.onActor?.(event);
        return;
      case "actorMoved": {
        const name = event.actor.name;
        const record = name === undefined ? undefined : this.names.get(name);
        if (name !== undefined && record?.actorId === event.actor.actorId) this.names.set(name, { ...record, nodeId: event.actor.nodeId });
        this.onActor?.(event);
        return;
      }
      case "actorGone":
        if (this.names.get(event.name)?.actorId === event.actorId) this.names.delete(event.name);
        this.onActor?.(event);
        return;
      case "nodeChanged":
        void this.refresh();
        return;
      case "nodeDied":
        this.drop(event.nodeId);
        return;
    }
  }

  /** Re-reads the live nodes; nodes that vanished are reported to `onGone`. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#plane
      .liveNodes()
      .then((live) => {
        const seen = new Set<string>();
        for (const node of live) {
          seen.add(node.record.nodeId);
          const known = this.#nodes.get(node.record.nodeId);
          if (known !== undefined) known.live = node;
          else {
            this.#list = undefined;
            this.#nodes.set(node.record.nodeId, {
              nodeId: node.record.nodeId,
              address: node.record.address,
              resources: node.record.resources,
              inFlight: 0,
              taskCpus: 0,
              used: {},
              live: node,
              waiting: [],
            });
          }
        }
        const vanished = [...this.#nodes.keys()].filter((id) => !seen.has(id));
        if (this.#suspects.size > 0 && vanished.length < this.#suspects.size) this.#list = undefined;
        this.#suspects.clear();
        if (vanished.length === 0) return;
        // A node whose key lapsed but that is still registered is suspect (not given work) until
        // it beats again or is declared dead (after a Redis restart, every key may have lapsed).
        return this.#plane.redis.hmget(`${PREFIX}nodes`, ...vanished).then((records) => {
          vanished.forEach((id, index) => {
            if (records[index] !== null) this.#suspects.add(id);
            else this.drop(id);
          });
          this.#list = undefined;
        });
      })
      .catch(() => undefined)
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** A node that left or was declared dead: reported to `onGone` once. */
  drop(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) return;
    this.#nodes.delete(nodeId);
    this.#suspects.delete(nodeId);
    this.#list = undefined;
    this.#onGone(node);
  }

  /** The live nodes; the same array until the set of nodes changes (the scheduler reads it per task). */
  list(): readonly NodeEntry[] {
    this.#list ??= [...this.#nodes.values()].filter((node) => !this.#suspects.has(node.nodeId));
    return this.#list;
  }

  /** Registered, but its heartbeat lapsed: not given work until it beats again or is declared dead. */
  isSuspect(nodeId: string): boolean {
    return this.#suspects.has(nodeId);
  }

  get(nodeId: string): NodeEntry | undefined {
    return this.#nodes.get(nodeId);
  }

  byAddress(address: string): NodeEntry | undefined {
    return this.list().find((node) => node.address === address);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refreshing;
  }
}
