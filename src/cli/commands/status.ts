/**
 * `rayts status`: the live nodes, resources used / total, and pending
 * demand, as `ray status` shows them.
 */
import { parseArgs } from "node:util";
import { RayError } from "../../core/api/errors.js";
import { ControlPlane, type LiveNode } from "../../cluster/control-plane.js";
import { Session } from "../../cluster/session.js";
import { formatDemand, pendingDemand, queuedOnNodes, readDriverDemand, type DriverDemand } from "../../cluster/status-demand.js";

export const summary = "the cluster's nodes, resources used/total and pending demand (--address HOST:PORT --redis-password P); a dashboard's status with --address of a driver or head dashboard";

const HIDDEN = new Set(["memory", "object_store_memory"]);

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The status report of a set of live nodes; pending demand counts the tasks
 * queued on them and those `drivers` hold back.
 */
export function formatStatus(address: string, nodes: readonly LiveNode[], drivers: readonly DriverDemand[] = []): string {
  const lines = [`======== Cluster status (${address}) ========`, `Nodes: ${nodes.length} alive`];
  const total: Record<string, number> = {};
  let busy = 0;
  for (const { record, load } of nodes) {
    const cpus = record.resources["CPU"] ?? 0;
    busy += load.busyCpus;
    for (const [name, amount] of Object.entries(record.resources)) if (!name.startsWith("node:")) total[name] = (total[name] ?? 0) + amount;
    const custom = Object.entries(record.resources)
      .filter(([name]) => name !== "CPU" && !HIDDEN.has(name) && !name.startsWith("node:"))
      .map(([name, amount]) => `${name} ${amount}`)
      .join(", ");
    lines.push(
      `  ${record.nodeId}  ${record.address.padEnd(15)} ${record.head ? "head" : "node"}  CPU ${load.busyCpus}/${cpus}  tasks ${load.inFlight}  actors ${load.actors}${custom === "" ? "" : `  ${custom}`}`,
    );
  }
  lines.push("Resources:", `  CPU: ${busy}/${total["CPU"] ?? 0} used`);
  for (const [name, amount] of Object.entries(total)) {
    if (name === "CPU") continue;
    lines.push(`  ${name}: ${HIDDEN.has(name) ? gib(amount) : amount} total`);
  }
  lines.push(...formatDemand(pendingDemand(queuedOnNodes(nodes), drivers)));
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  // A dashboard URL, or no cluster on this machine and no Redis to ask: the status of a running driver.
  const given = argv.find((_, i) => i > 0 && argv[i - 1] === "--address") ?? argv.find((arg) => arg.startsWith("--address="))?.slice(10);
  const session = Session.latest()?.info();
  // A dashboard: a URL, or a HOST:PORT that is not the Redis of the cluster started here and comes without a Redis password.
  const dashboard =
    /^https?:\/\//.test(process.env["RAYTS_ADDRESS"] ?? "") ||
    (given !== undefined && (/^https?:\/\//.test(given) || (given !== session?.address && !argv.some((arg) => arg.startsWith("--redis-password")))));
  if (dashboard || (Session.latest()?.info() === undefined && !argv.some((arg) => arg.startsWith("--redis-password") || arg === "-h" || arg === "--help"))) {
    const { dashboardStatus } = await import("./observe.js");
    return dashboardStatus.run(argv);
  }
  const { values } = parseArgs({
    args: argv,
    options: { address: { type: "string" }, "redis-password": { type: "string" }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "Usage: rayts status [--address HOST:PORT --redis-password P]   (default: the cluster started on this machine)\n" +
        "       rayts status [--address http://127.0.0.1:8265]          (a running driver, through its dashboard)\n",
    );
    return 0;
  }
  const info = Session.latest()?.info();
  const address = values.address ?? info?.address;
  const password = values["redis-password"] ?? info?.redisPassword;
  if (address === undefined || password === undefined) {
    throw new RayError("no cluster was started on this machine; pass --address HOST:PORT --redis-password P");
  }
  const plane = await ControlPlane.connect(address, password, "rayts-status");
  try {
    const [nodes, drivers] = await Promise.all([plane.liveNodes(), readDriverDemand(plane.redis)]);
    process.stdout.write(`${formatStatus(address, nodes, drivers)}\n`);
  } finally {
    await plane.close();
  }
  return 0;
}
