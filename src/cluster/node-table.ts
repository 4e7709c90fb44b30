/**
 * The driver's view of the cluster: live nodes (refreshed from Redis every
 * second and on every node event) and named actors (loaded once, then kept
 * current from the event channel), so that `nodes()`, `getActor(name)` and
 * the scheduler answer synchronously.
 */
import type { Redis } from "ioredis";
import { EVENTS, type ClusterEvent, type ControlPlane, type LiveNode, type NamedActorRecord } from "./control-plane.js";
import type { NodeView } from "./scheduling.js";

const REFRESH_MS = 1000;

/** A live node in the driver's view. */
export interface NodeEntry extends NodeView {
  live: LiveNode;
  /** Work waiting here for custom resources to free up. */
  readonly waiting: (() => boolean)[];
}

export class NodeTable {
  readonly #plane: ControlPlane;
  readonly #nodes = new Map<string, NodeEntry>();
  readonly names = new Map<string, NamedActorRecord>();
  readonly #onGone: (node: NodeEntry) => void;
  #subscriber: Redis | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #list: NodeEntry[] | undefined;

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
        return;
      case "actorGone":
        if (this.names.get(event.name)?.actorId === event.actorId) this.names.delete(event.name);
        return;
      case "nodeChanged":
        void this.refresh();
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
              used: {},
              live: node,
              waiting: [],
            });
          }
        }
        for (const [id, node] of this.#nodes) {
          if (!seen.has(id)) {
            this.#nodes.delete(id);
            this.#list = undefined;
            this.#onGone(node);
          }
        }
      })
      .catch(() => undefined)
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** The live nodes; the same array until the set of nodes changes (the scheduler reads it per task). */
  list(): readonly NodeEntry[] {
    this.#list ??= [...this.#nodes.values()];
    return this.#list;
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
