/**
 * `rayts start`: starts a head (Redis + the head's node daemon) or joins a
 * node to an existing cluster. Daemons run detached, log under the session
 * folder, and are recorded there for `rayts stop`.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { RayError } from "../../core/api/errors.js";
import { maxNumCpus } from "../../core/api/options.js";
import { ControlPlane, parseAddress } from "../../cluster/control-plane.js";
import { launchNode } from "../../cluster/launch.js";
import { newPassword, startRedisServer } from "../../cluster/redis-server.js";
import { Session } from "../../cluster/session.js";
import { checkHeadDashboard, type HeadDashboardOptions } from "../../dashboard/head-dashboard.js";
import { checkUsage, UsageError } from "../usage.js";
import { stopGroup } from "./stop.js";

export const summary = "start a head node (--head) or join a node to a cluster (--address)";

export const HELP = `Usage:
  rayts start --head [--port 6379] [--redis-password P] [--num-cpus N] [--node-ip-address IP] [--resources '{"GPU":1}']
  rayts start --head --address HOST:PORT --redis-password P ...   (use an existing Redis)
  rayts start --address HOST:PORT --redis-password P [--num-cpus N] [--node-ip-address IP] [--resources JSON]

Dashboard of the head (every node's tasks, actors, objects, logs):
  [--include-dashboard true|false] [--dashboard-port 8265] [--dashboard-host 127.0.0.1] [--dashboard-token T]
  (a --dashboard-host other than loopback requires --dashboard-token)

Object store of a node: [--object-store-memory BYTES] (bytes its store may hold in memory;
default: 30% of the machine's memory, as init's objectStoreMemory).

Defaults: --node-ip-address 127.0.0.1 (loopback only), --num-cpus: this machine's CPUs,
a generated Redis password when none is given.`;

/** The options `rayts start` takes (each one listed in {@link HELP}). */
export const OPTIONS = {
  head: { type: "boolean", default: false },
  address: { type: "string" },
  port: { type: "string" },
  "redis-password": { type: "string" },
  "num-cpus": { type: "string" },
  "node-ip-address": { type: "string" },
  resources: { type: "string" },
  "object-store-memory": { type: "string" },
  "include-dashboard": { type: "string" },
  "dashboard-port": { type: "string" },
  "dashboard-host": { type: "string" },
  "dashboard-token": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** The head's dashboard options, or undefined when it serves none. */
function dashboardOptions(values: Record<string, string | boolean | undefined>): HeadDashboardOptions | undefined {
  const include = values["include-dashboard"];
  if (include !== undefined && include !== "true" && include !== "false") {
    throw new UsageError(`Expected \`--include-dashboard\` to be true or false, got ${JSON.stringify(include)}`);
  }
  if (!values["head"] || include === "false") return undefined;
  const port = integerOption(values["dashboard-port"] as string | undefined, "dashboard-port", 8265, 0, 65535);
  const options = { host: (values["dashboard-host"] as string | undefined) ?? "127.0.0.1", port, token: values["dashboard-token"] as string | undefined };
  checkUsage(() => {
    checkHeadDashboard(options);
  });
  return options;
}

function resourcesOption(text: string | undefined): Record<string, number> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`Expected \`--resources\` to be a JSON object such as '{"GPU":1}', got ${JSON.stringify(text)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`Expected \`--resources\` to be a JSON object such as '{"GPU":1}', got ${JSON.stringify(text)}`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== "number" || !(value >= 0)) throw new UsageError(`Expected \`--resources\` entry "${key}" to be a number from 0 and up, got ${JSON.stringify(value)}`);
  }
  return parsed as Record<string, number>;
}

function integerOption(text: string | undefined, name: string, fallback: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `from ${min} and up` : `from ${min} to ${max}`;
    throw new UsageError(`Expected \`--${name}\` to be an integer ${range}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Fails unless nothing listens on `host:port` (redis-server would exit, and the check for its start would find the other listener). */
function portFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new RayError(`port ${port} on ${host} is in use: a cluster may already run there (\`rayts status\` shows it, \`rayts stop\` stops it), or pass another \`--port\``)
          : new RayError(`cannot listen on ${host}:${port} for the cluster's Redis: ${error.message}`),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const ip = values["node-ip-address"] ?? "127.0.0.1";
  const numCpus = integerOption(values["num-cpus"], "num-cpus", availableParallelism(), 1, maxNumCpus());
  const resources = resourcesOption(values.resources);
  const dashboard = dashboardOptions(values);
  const objectStoreMemory = values["object-store-memory"] === undefined ? undefined : integerOption(values["object-store-memory"], "object-store-memory", 0, 1);
  if (!values.head && values.address === undefined) {
    throw new UsageError("Expected `--head` to start a cluster, or `--address HOST:PORT --redis-password P` to join one, got neither");
  }
  if (values.address !== undefined && values["redis-password"] === undefined) {
    throw new UsageError("Expected `--redis-password` with `--address`: the cluster's Redis always has a password (printed by `rayts start --head`)");
  }
  if (values["redis-password"] === "") throw new UsageError("Expected `--redis-password` to be non-empty: Redis never runs without a password");
  if (values.address !== undefined) checkUsage(() => parseAddress(values.address as string, "--address"));
  const port = integerOption(values.port, "port", 6379, 1, 65535);
  let address: string;
  let password: string;
  let session: Session;
  let redisPid: number | undefined;
  if (values.head && values.address === undefined) {
    await portFree(ip, port);
    session = Session.create();
    password = values["redis-password"] ?? newPassword();
    const redis = await startRedisServer({ host: ip, port, password, logFile: join(session.logs, "redis-server.log"), detached: true });
    redis.child.unref();
    session.addPid("redis-server", redis.pid);
    redisPid = redis.pid;
    address = `${ip}:${port}`;
  } else {
    address = values.address as string;
    password = values["redis-password"] as string;
    // Fails here, clearly, on a wrong password or an unreachable Redis.
    await (await ControlPlane.connect(address, password, "rayts-start-check")).close();
    session = Session.create();
  }
  session.writeInfo({ address, redisPassword: password, nodeIpAddress: ip });
  const logFile = join(session.logs, `node-${ip}.log`);
  let node: Awaited<ReturnType<typeof launchNode>>;
  try {
    node = await launchNode(
      { redisAddress: address, redisPassword: password, nodeIpAddress: ip, numCpus, resources, objectStoreMemory, head: values.head, logDir: session.logs, ...(dashboard === undefined ? {} : { dashboard }) },
      logFile,
      true,
    );
  } catch (error) {
    // Nothing of a start that failed stays: not the Redis it started (the port stays free for the next try), nor its session.
    if (redisPid !== undefined) await stopGroup(redisPid);
    session.discard();
    throw error;
  }
  session.addPid(`node-${node.nodeId}`, node.pid);
  session.makeLatest();
  if (node.dashboardUrl !== undefined) session.writeInfo({ address, redisPassword: password, nodeIpAddress: ip, dashboardUrl: node.dashboardUrl });
  const lines = [
    `rayts: ${values.head ? "started the head node" : "joined the cluster as node"} ${node.nodeId} at ${ip} with ${numCpus} CPU${numCpus === 1 ? "" : "s"}${Object.keys(resources).length > 0 ? ` and ${JSON.stringify(resources)}` : ""}`,
    `  Redis:    ${address} (password protected)`,
    `  Logs:     ${session.logs}`,
    `  Session:  ${session.dir}`,
  ];
  if (node.dashboardUrl !== undefined && dashboard?.token !== undefined) {
    lines.push(`  Dashboard: ${node.dashboardUrl}/?token=${encodeURIComponent(dashboard.token)}  (the CLI reads it with --token)`);
  } else if (node.dashboardUrl !== undefined) lines.push(`  Dashboard: ${node.dashboardUrl}  (rayts list tasks, rayts logs --follow, ... read it)`);
  else if (dashboard !== undefined) lines.push(`  Dashboard: could not start; see ${logFile}`);
  if (values.head) {
    lines.push(
      "",
      "To add another node to this cluster, run:",
      `  rayts start --address='${address}' --redis-password='${password}'`,
      "",
      "To connect a driver:",
      `  await ray.init({ address: "${address}", redisPassword: "${password}" });`,
      '  (or { address: "auto" } on this machine)',
    );
  }
  lines.push("", "To stop the processes started here: rayts stop");
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
