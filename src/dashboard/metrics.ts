/**
 * Prometheus text exposition of the cluster's status, served at `/metrics`
 * for scrapers; the dashboard itself needs no Prometheus.
 */
import type { ClusterStatus } from "./state-source.js";

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The status as Prometheus text format 0.0.4. */
export function metricsText(status: ClusterStatus): string {
  const lines: string[] = [];
  const metric = (name: string, type: "gauge" | "counter", help: string, samples: [Record<string, string>, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const text = Object.entries(labels).map(([key, label]) => `${key}="${escape(label)}"`).join(",");
      lines.push(`${name}${text === "" ? "" : `{${text}}`} ${value}`);
    }
  };
  metric("rayts_tasks", "gauge", "Recorded tasks by state.", Object.entries(status.tasks).map(([state, count]) => [{ state }, count]));
  metric("rayts_tasks_finished_total", "counter", "Tasks that finished.", [[{}, status.finishedTotal]]);
  metric("rayts_tasks_failed_total", "counter", "Tasks that failed.", [[{}, status.failedTotal]]);
  metric("rayts_pending_tasks", "gauge", "Tasks waiting for resources: queued on nodes, or held back in drivers.", [
    [{ where: "nodes" }, status.demand.queuedOnNodes],
    [{ where: "drivers" }, status.demand.heldByDrivers],
  ]);
  metric("rayts_actors", "gauge", "Actors by state.", Object.entries(status.actors).map(([state, count]) => [{ state }, count]));
  metric("rayts_node_cpus", "gauge", "CPU slots of each node.", status.nodes.map((node) => [{ node: node.nodeId }, node.cpus]));
  metric("rayts_node_cpus_used", "gauge", "CPU slots in use.", status.nodes.map((node) => [{ node: node.nodeId }, node.cpusUsed]));
  metric("rayts_object_store_bytes", "gauge", "Bytes held by the object store.", status.nodes.map((node) => [{ node: node.nodeId }, node.objectStoreBytes]));
  metric("rayts_object_store_capacity_bytes", "gauge", "Capacity of the object store.", status.nodes.map((node) => [{ node: node.nodeId }, node.objectStoreCapacity]));
  metric("rayts_records_dropped_total", "counter", "Records the bounded buffers dropped.", Object.entries(status.dropped).map(([kind, count]) => [{ kind }, count]));
  return `${lines.join("\n")}\n`;
}
