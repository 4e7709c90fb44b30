/**
 * Where a cluster driver places its work: the scheduling policy over the
 * live nodes (see scheduling.ts), and the driver's own account of what it
 * has in flight on each node, so a node is not sent more than its
 * resources hold (work waits in the node's queue until some are released).
 *
 * Tasks of the default and SPREAD policies are also not sent far ahead of
 * what a node gets through: each node is sent at most about
 * {@link AHEAD_MS} of work at the pace it has been finishing it (never
 * less than {@link AHEAD_MIN_PER_CPU} tasks a CPU, which covers the round
 * trip through Redis), and the rest waits in the driver, in submission
 * order, until a node has room, where it is placed then. A burst of 10,000
 * tasks is thus split by how fast each node works rather than evenly up
 * front, and no node sits idle at the end while another still has a queue.
 */
import { RayError } from "../core/api/errors.js";
import type { NodeEntry, NodeTable } from "./node-table.js";
import { DefaultPolicy, type Demand } from "./scheduling.js";
import { addShape, type DemandShape } from "./status-demand.js";

/** Work a node is sent ahead, in milliseconds of its recent pace. */
export const AHEAD_MS = 50;
/** Fewest tasks a CPU is sent ahead, whatever the pace. */
export const AHEAD_MIN_PER_CPU = 32;
/** How long a node's pace is measured over. */
const PACE_WINDOW_MS = 100;

/** CPU slots a node released in the current window, and its pace over the last one. */
interface Pace {
  start: number;
  released: number;
  perMs: number;
}

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});

/** A task held back: how to send it, and the CPUs it asks. */
interface Held {
  readonly send: () => void;
  readonly numCpus: number;
}

/** The options of a task or actor that bear on its placement. */
export interface PlacementOptions {
  readonly scheduling?: Demand["scheduling"];
  readonly resources?: Readonly<Record<string, number>>;
}

export class Placement {
  readonly #policy = new DefaultPolicy();
  readonly #nodes: NodeTable;
  readonly #pace = new WeakMap<NodeEntry, Pace>();
  /** Sends of tasks held back until a node has room, oldest first from `#head`. */
  #backlog: (Held | undefined)[] = [];
  #head = 0;
  #draining = false;
  /** Held-back tasks by CPUs asked (what `rayts status` reports as pending demand). */
  readonly #heldCpus = new Map<number, number>();
  /** The node on this driver's machine, preferred by the hybrid policy. */
  local: string | undefined;
  /** Told when what is held back may have changed (see status-demand.ts). */
  onChange: () => void = () => undefined;

  constructor(nodes: NodeTable) {
    this.#nodes = nodes;
  }

  demand(numCpus: number, options: PlacementOptions, locality: ReadonlyMap<string, number>): Demand {
    return { numCpus, resources: options.resources ?? NO_RESOURCES, scheduling: options.scheduling ?? "DEFAULT", locality };
  }

  /** The node for `demand`; throws when no live node can run it. */
  choose(demand: Demand): NodeEntry {
    const choice = this.#policy.choose(this.#nodes.list(), demand, this.local);
    if ("error" in choice) throw new RayError(`cannot place the task: ${choice.error}`);
    return choice.node as NodeEntry;
  }

  /**
   * True when a task placed by `options` should wait in the driver (see the
   * module comment): it follows the default or SPREAD policy without custom
   * resources, and every live node already has its share in flight, or
   * older tasks are waiting.
   */
  held(options: PlacementOptions): boolean {
    const scheduling = options.scheduling ?? "DEFAULT";
    if ((scheduling !== "DEFAULT" && scheduling !== "SPREAD") || (options.resources !== undefined && Object.keys(options.resources).length > 0)) return false;
    if (!this.#draining && this.#head < this.#backlog.length) return true;
    return this.#full();
  }

  /** Keeps `send`, a task asking `numCpus`, until a node has room (see {@link held}). */
  later(send: () => void, numCpus: number): void {
    this.#backlog.push({ send, numCpus });
    this.#heldCpus.set(numCpus, (this.#heldCpus.get(numCpus) ?? 0) + 1);
    this.onChange();
  }

  /** Tasks held back in this driver by resource shape: the backlog, and tasks waiting on a node for custom resources. */
  pending(): DemandShape[] {
    const groups = new Map<string, DemandShape>();
    for (const [numCpus, count] of this.#heldCpus) addShape(groups, { CPU: numCpus }, count);
    for (const node of this.#nodes.list()) for (const { demand } of node.waiting) addShape(groups, { CPU: demand.numCpus, ...demand.resources }, 1);
    return [...groups.values()];
  }

  /** Tasks held back in the driver. */
  get backlog(): number {
    return this.#backlog.length - this.#head;
  }

  /** Sends held-back tasks while some node has room (after a release, a new node or a dead one). */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#head < this.#backlog.length && !this.#full()) {
        const { send, numCpus } = this.#backlog[this.#head] as Held;
        this.#backlog[this.#head++] = undefined;
        const left = (this.#heldCpus.get(numCpus) ?? 0) - 1;
        if (left > 0) this.#heldCpus.set(numCpus, left);
        else this.#heldCpus.delete(numCpus);
        send();
      }
    } finally {
      this.#draining = false;
      if (this.#head === this.#backlog.length) {
        this.#backlog = [];
        this.#head = 0;
      }
      this.onChange();
    }
  }

  /** True when every live node has at least its share of work in flight (false with no live node: placing then fails). */
  #full(): boolean {
    const nodes = this.#nodes.list();
    if (nodes.length === 0) return false;
    for (const node of nodes) if (node.inFlight < this.#ahead(node)) return false;
    return true;
  }

  /** CPU slots of work `node` is sent ahead. */
  #ahead(node: NodeEntry): number {
    const cpus = Math.max(1, node.resources["CPU"] ?? 1);
    return Math.max(cpus * AHEAD_MIN_PER_CPU, (this.#pace.get(node)?.perMs ?? 0) * AHEAD_MS);
  }

  /** Counts `demand` as in flight on `node`. */
  hold(node: NodeEntry, demand: Demand): void {
    node.inFlight += demand.numCpus;
    node.taskCpus += demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) + amount;
  }

  /** Gives `demand` back to `node` and sends the work waiting there that now fits. */
  release(node: NodeEntry, demand: Demand): void {
    node.inFlight -= demand.numCpus;
    node.taskCpus -= demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) - amount;
    if (node.waiting.length > 0) {
      while (node.waiting.length > 0 && (node.waiting[0] as NodeEntry["waiting"][number]).go()) node.waiting.shift();
      this.onChange();
    }
    const now = performance.now();
    let pace = this.#pace.get(node);
    if (pace === undefined) this.#pace.set(node, (pace = { start: now, released: 0, perMs: 0 }));
    pace.released += demand.numCpus;
    if (now - pace.start >= PACE_WINDOW_MS) {
      pace.perMs = pace.released / (now - pace.start);
      pace.start = now;
      pace.released = 0;
    }
    if (this.#head < this.#backlog.length) this.drain();
  }
}
