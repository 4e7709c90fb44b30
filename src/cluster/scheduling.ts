/**
 * Where a task or actor goes: Ray's scheduling policies over the driver's
 * view of the live nodes. A pure function of that view, so that it can be
 * swapped and tested alone.
 * - Node affinity `{ nodeId, soft }`: that node; when it is gone or lacks
 *   the resources, the default policy if `soft`, else an error.
 * - `"SPREAD"`: round robin over the nodes that fit.
 * - `"DEFAULT"` (hybrid): the node holding most bytes of the task's large
 *   arguments while it is not overloaded; else the submitter's node while it
 *   is under {@link HYBRID_THRESHOLD} busy; else the least-loaded node.
 */
import type { SchedulingStrategy } from "../core/api/options.js";

/** Load fraction under which the submitter's node keeps its work (Ray's `scheduler_spread_threshold`). */
export const HYBRID_THRESHOLD = 0.5;

/** A node as the policy sees it. */
export interface NodeView {
  readonly nodeId: string;
  readonly address: string;
  /** Declared totals: CPU and custom resources. */
  readonly resources: Readonly<Record<string, number>>;
  /** CPU slots the work this driver placed there holds (tasks not finished yet). */
  inFlight: number;
  /** Custom resources in use by this driver's work there. */
  readonly used: Record<string, number>;
}

/** What is being placed. */
export interface Demand {
  readonly numCpus: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly scheduling: SchedulingStrategy;
  /** Bytes of large arguments per holder node. */
  readonly locality: ReadonlyMap<string, number>;
}

/** Chosen node, or why none fits. */
export type Choice = { readonly node: NodeView } | { readonly error: string };

/** A policy: picks a node for a demand. */
export type SchedulingPolicy = (nodes: readonly NodeView[], demand: Demand, local: string | undefined) => Choice;

/** True when the node's totals can ever hold the demand. */
export function feasible(node: NodeView, demand: Demand): boolean {
  if ((node.resources["CPU"] ?? 0) < demand.numCpus) return false;
  for (const [name, amount] of Object.entries(demand.resources)) if ((node.resources[name] ?? 0) < amount) return false;
  return true;
}

/** True when the custom resources are free now (CPU demand queues on the node itself). */
export function available(node: NodeView, demand: Demand): boolean {
  for (const [name, amount] of Object.entries(demand.resources)) {
    if ((node.resources[name] ?? 0) - (node.used[name] ?? 0) < amount) return false;
  }
  return true;
}

function load(node: NodeView): number {
  return node.inFlight / Math.max(1, node.resources["CPU"] ?? 1);
}

function describe(demand: Demand): string {
  return JSON.stringify({ CPU: demand.numCpus, ...demand.resources });
}

/** Ray's policies, with a round-robin cursor for SPREAD. */
export class DefaultPolicy {
  #spread = 0;

  readonly choose: SchedulingPolicy = (nodes, demand, local) => {
    const strategy = demand.scheduling;
    // The common case (one CPU, no custom resources, default policy, no large arguments) allocates nothing.
    if (strategy === "DEFAULT" && demand.locality.size === 0 && demand.numCpus === 1 && Object.keys(demand.resources).length === 0) {
      const fast = this.#hybrid(nodes, local);
      if (fast !== undefined) return { node: fast };
    }
    const fits = nodes.filter((node) => feasible(node, demand));
    if (typeof strategy === "object") {
      const target = nodes.find((node) => node.nodeId === strategy.nodeId);
      if (target !== undefined && feasible(target, demand)) return { node: target };
      if (strategy.soft !== true) {
        return {
          error:
            target === undefined
              ? `node ${strategy.nodeId} is not alive in the cluster (node affinity, soft: false)`
              : `node ${strategy.nodeId} lacks the resources ${describe(demand)} (node affinity, soft: false)`,
        };
      }
    }
    if (fits.length === 0) {
      return { error: `no live node has the resources ${describe(demand)}; nodes: ${nodes.map((n) => `${n.nodeId} ${JSON.stringify(n.resources)}`).join(", ")}` };
    }
    const ready = fits.filter((node) => available(node, demand));
    const pool = ready.length > 0 ? ready : fits;
    if (strategy === "SPREAD") return { node: pool[this.#spread++ % pool.length] as NodeView };
    let best: NodeView | undefined;
    let bestBytes = 0;
    for (const node of pool) {
      const bytes = demand.locality.get(node.nodeId) ?? 0;
      if (bytes > bestBytes && load(node) < 2) [best, bestBytes] = [node, bytes];
    }
    if (best !== undefined) return { node: best };
    const home = pool.find((node) => node.nodeId === local);
    if (home !== undefined && load(home) < HYBRID_THRESHOLD) return { node: home };
    let least = pool[0] as NodeView;
    for (const node of pool) if (load(node) < load(least) || (load(node) === load(least) && node === home)) least = node;
    return { node: least };
  };

  /** The hybrid choice among nodes with at least one CPU, without building lists. */
  #hybrid(nodes: readonly NodeView[], local: string | undefined): NodeView | undefined {
    let home: NodeView | undefined;
    let least: NodeView | undefined;
    for (const node of nodes) {
      if ((node.resources["CPU"] ?? 0) < 1) continue;
      if (node.nodeId === local) home = node;
      if (least === undefined || load(node) < load(least)) least = node;
    }
    if (home !== undefined && (load(home) < HYBRID_THRESHOLD || (least !== undefined && load(home) <= load(least)))) return home;
    return least;
  }
}
