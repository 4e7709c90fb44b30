/**
 * Where a cluster driver places its work: the scheduling policy over the
 * live nodes (see scheduling.ts), and the driver's own account of what it
 * has in flight on each node, so a node is not sent more than its
 * resources hold (work waits in the node's queue until some are released).
 */
import { RayError } from "../core/api/errors.js";
import type { NodeEntry, NodeTable } from "./node-table.js";
import { DefaultPolicy, type Demand } from "./scheduling.js";

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});

/** The options of a task or actor that bear on its placement. */
export interface PlacementOptions {
  readonly scheduling?: Demand["scheduling"];
  readonly resources?: Readonly<Record<string, number>>;
}

export class Placement {
  readonly #policy = new DefaultPolicy();
  readonly #nodes: NodeTable;
  /** The node on this driver's machine, preferred by the hybrid policy. */
  local: string | undefined;

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

  /** Counts `demand` as in flight on `node`. */
  hold(node: NodeEntry, demand: Demand): void {
    node.inFlight += demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) + amount;
  }

  /** Gives `demand` back to `node` and sends the work waiting there that now fits. */
  release(node: NodeEntry, demand: Demand): void {
    node.inFlight -= demand.numCpus;
    for (const [name, amount] of Object.entries(demand.resources)) node.used[name] = (node.used[name] ?? 0) - amount;
    while (node.waiting.length > 0 && (node.waiting[0] as () => boolean)()) node.waiting.shift();
  }
}
