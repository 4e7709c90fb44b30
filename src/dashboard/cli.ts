/**
 * The observability commands of the `rayts` CLI: `status`, `list`,
 * `summary tasks`, `memory`, `logs [--follow]` and `timeline`, each read
 * from the dashboard JSON API of a running driver or cluster head
 * (`--address`; `--token` or `RAYTS_DASHBOARD_TOKEN` when it asks for
 * one), or straight from a cluster's Redis (`--address HOST:PORT
 * --redis-password P`), which needs no dashboard. The default is
 * `RAYTS_ADDRESS`, else the Redis of the cluster started on this machine
 * (its session keeps the password), else http://127.0.0.1:8265.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "../cluster/session.js";
import { formatDemand } from "../cluster/status-demand.js";
import { openTarget, type Target } from "./cli-target.js";
import type { ActorInfo, ClusterStatus, ListResult, LogLine, MemorySummary, NodeState, ObjectInfo, TaskInfo, TaskSummary, WorkerInfo } from "./state-source.js";

const DEFAULT_ADDRESS = "http://127.0.0.1:8265";

/** Parsed flags of one command. */
interface Flags {
  address: string;
  /** The address is the default one of the cluster started here (a local driver's dashboard when it is gone). */
  fromSession: boolean;
  /** Read the cluster's Redis at `address` with this password instead of a dashboard. */
  redisPassword: string | undefined;
  follow: boolean;
  token: string | undefined;
  format: "table" | "json";
  filters: [string, string][];
  limit: number | undefined;
  output: string | undefined;
  positional: string[];
}

class UsageError extends Error {}

function parse(argv: readonly string[]): Flags {
  const info = Session.latest()?.info();
  const flags: Flags = {
    // By default the cluster started on this machine (read from its Redis), else a local driver's dashboard.
    address: process.env["RAYTS_ADDRESS"] ?? info?.address ?? DEFAULT_ADDRESS,
    redisPassword: undefined,
    fromSession: process.env["RAYTS_ADDRESS"] === undefined && info !== undefined,
    follow: false,
    token: process.env["RAYTS_DASHBOARD_TOKEN"],
    format: "table",
    filters: [],
    limit: undefined,
    output: undefined,
    positional: [],
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++index];
      if (next === undefined) throw new UsageError(`${name} expects a value`);
      return next;
    };
    switch (name) {
      case "--address":
        flags.address = value().replace(/\/+$/, "");
        flags.fromSession = false;
        break;
      case "--token":
        flags.token = value();
        break;
      case "--redis-password":
        flags.redisPassword = value();
        break;
      case "-f":
      case "--follow":
        flags.follow = true;
        break;
      case "--format": {
        const format = value();
        if (format !== "json" && format !== "table") throw new UsageError(`Expected --format to be json or table, got "${format}"`);
        flags.format = format;
        break;
      }
      case "--filter": {
        const filter = value();
        const eq = filter.indexOf("=");
        if (eq <= 0) throw new UsageError(`Expected --filter to be key=value, got "${filter}"`);
        flags.filters.push([filter.slice(0, eq), filter.slice(eq + 1)]);
        break;
      }
      case "--limit": {
        const limit = Number(value());
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`Expected --limit to be an integer from 1 and up, got "${argv[index]}"`);
        flags.limit = limit;
        break;
      }
      case "-o":
      case "--output":
        flags.output = value();
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        flags.positional.push(arg);
    }
  }
  // The Redis address of the cluster started here: read it directly with its password.
  if (flags.redisPassword === undefined && info !== undefined && flags.address === info.address) flags.redisPassword = info.redisPassword;
  if (flags.redisPassword === undefined && !/^https?:\/\//.test(flags.address)) flags.address = `http://${flags.address}`;
  return flags;
}

/** The dashboard or Redis the command reads, opened once per run. */
let target: Target | undefined;

async function open(flags: Flags): Promise<Target> {
  try {
    return await openTarget(flags);
  } catch (error) {
    // The cluster started here was stopped: a local driver's dashboard, then. While its processes still
    // run (its Redis died, say), the error is the answer: another program's dashboard would be mistaken for it.
    if (!flags.fromSession || Session.latest()?.running() === true) throw error;
    flags.address = DEFAULT_ADDRESS;
    flags.redisPassword = undefined;
    return openTarget(flags);
  }
}

async function fetchJson<T>(flags: Flags, path: string, query: [string, string][] = []): Promise<T> {
  target ??= await open(flags);
  return target.get<T>(path, query);
}

/** Renders rows as an aligned text table. */
export function table(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- cells are strings and numbers; anything else shows as String() makes it
  const cells = rows.map((row) => row.map((cell) => (cell === undefined || cell === null ? "" : String(cell))));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((row) => (row[index] ?? "").length)));
  const line = (row: readonly string[]): string => row.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join("  ").trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...cells.map(line)].join("\n") + "\n";
}

const iso = (time: number | undefined): string => (time === undefined ? "" : new Date(time).toISOString());
const ms = (from: number | undefined, to: number | undefined): string => (from === undefined || to === undefined ? "" : (to - from).toFixed(2));

type Lister = (result: ListResult<never>) => string;

/**
 * A table whose rows come from several nodes (cluster mode) gets a `node`
 * column before `worker`: worker names such as `task-0` repeat on every node.
 */
function withNodes<T extends { readonly nodeId?: string | undefined }>(columns: readonly string[], items: readonly T[], row: (item: T) => unknown[]): string {
  const at = columns.indexOf("worker");
  if (new Set(items.map((item) => item.nodeId)).size <= 1 || at < 0) return table(columns, items.map(row));
  return table(
    [...columns.slice(0, at), "node", ...columns.slice(at)],
    items.map((item) => {
      const cells = row(item);
      return [...cells.slice(0, at), item.nodeId, ...cells.slice(at)];
    }),
  );
}

const LISTS: Record<string, { path: string; render: Lister }> = {
  tasks: {
    path: "tasks",
    render: (result) =>
      withNodes(
        ["task", "name", "state", "worker", "attempts", "parent", "run ms", "error"],
        result.items as TaskInfo[],
        (t) => [t.taskId, t.name, t.state, t.worker, t.attempts, t.parentTaskId, ms(t.startedAt, t.endedAt), t.error?.message.split("\n")[0]],
      ),
  },
  actors: {
    path: "actors",
    render: (result) =>
      withNodes(
        ["actor", "name", "class", "state", "worker", "restarts", "death cause"],
        result.items as ActorInfo[],
        (a) => [a.actorId, a.name, a.className, a.state, a.worker, a.restarts, a.deathCause],
      ),
  },
  objects: {
    path: "objects",
    render: (result) =>
      table(
        ["object", "bytes", "status", "owner", "reference type", "pinned by", "borrowed by"],
        (result.items as ObjectInfo[]).map((o) => [o.objectId, o.bytes, o.status, o.owner, o.referenceType, o.pinnedBy.join(","), Object.keys(o.borrowedBy).join(",")]),
      ),
  },
  nodes: {
    path: "nodes",
    render: (result) =>
      table(
        ["node", "address", "alive", "cpus used", "cpus", "store bytes", "store capacity"],
        (result.items as NodeState[]).map((n) => [n.nodeId, n.address, n.alive, n.cpusUsed, n.cpus, n.objectStoreBytes, n.objectStoreCapacity]),
      ),
  },
  workers: {
    path: "workers",
    render: (result) =>
      withNodes(
        ["worker", "type", "alive", "running task", "exit reason"],
        result.items as WorkerInfo[],
        (w) => [w.worker, w.type, w.alive, w.runningTask, w.exitReason],
      ),
  },
};

function footer(result: ListResult<unknown>): string {
  const shown = `${result.items.length} of ${result.total} shown`;
  return result.dropped > 0 ? `${shown}; ${result.dropped} older records were dropped to stay bounded\n` : `${shown}\n`;
}

function print(flags: Flags, data: unknown, render: () => string): void {
  process.stdout.write(flags.format === "json" ? `${JSON.stringify(data, null, 2)}\n` : render());
}

async function status(flags: Flags): Promise<void> {
  const status = await fetchJson<ClusterStatus>(flags, "status");
  print(flags, status, () => {
    const nodes = table(
      ["node", "address", "cpus used", "cpus", "store bytes"],
      status.nodes.map((n) => [n.nodeId, n.address, n.cpusUsed, n.cpus, n.objectStoreBytes]),
    );
    const tasks = Object.entries(status.tasks).map(([state, count]) => `${state} ${count}`).join(", ") || "none";
    const actors = Object.entries(status.actors).map(([state, count]) => `${state} ${count}`).join(", ") || "none";
    const errors = status.recentErrors.map((t) => `  ${t.name} (${t.taskId}): ${t.error?.message.split("\n")[0] ?? ""}\n`).join("");
    // A dashboard of an older rayts has no demand figure.
    const demand = (status as Partial<ClusterStatus>).demand;
    return `${nodes}\n${demand === undefined ? "" : `${formatDemand(demand).join("\n")}\n`}Tasks: ${tasks}\nActors: ${actors}\nFinished ${status.finishedTotal}, failed ${status.failedTotal}\n${errors === "" ? "" : `Recent errors:\n${errors}`}`;
  });
}

async function list(flags: Flags): Promise<void> {
  const kind = flags.positional[0];
  const entry = kind === undefined ? undefined : LISTS[kind];
  if (entry === undefined) throw new UsageError(`Expected list ${Object.keys(LISTS).join("|")}, got ${kind === undefined ? "nothing" : `"${kind}"`}`);
  const query: [string, string][] = [...flags.filters, ["limit", String(flags.limit ?? 100)]];
  const result = await fetchJson<ListResult<never>>(flags, entry.path, query);
  print(flags, result, () => entry.render(result) + footer(result));
}

async function summary(flags: Flags): Promise<void> {
  if (flags.positional[0] !== "tasks") throw new UsageError(`Expected summary tasks, got ${flags.positional[0] === undefined ? "nothing" : `"${flags.positional[0]}"`}`);
  const summary = await fetchJson<TaskSummary>(flags, "tasks/summary");
  const states = ["pendingArgs", "queued", "assigned", "running", "finished", "failed", "cancelled"] as const;
  print(flags, summary, () =>
    table(
      ["function", "type", "total", ...states, "retries", "mean run ms"],
      summary.byFunction.map((f) => [f.name, f.type, f.total, ...states.map((state) => f.states[state] ?? 0), f.retries, f.meanRunMs?.toFixed(3)]),
    ),
  );
}

async function memory(flags: Flags): Promise<void> {
  const memory = await fetchJson<MemorySummary>(flags, "memory");
  print(flags, memory, () => {
    const head = `Object store: ${memory.bytesUsed} of ${memory.capacity} bytes, ${memory.numObjects} objects\n\n`;
    const types = table(["reference type", "objects", "bytes"], Object.entries(memory.byReferenceType).map(([type, v]) => [type, v.count, v.bytes]));
    const owners = table(["owner", "objects", "bytes"], memory.byOwner.map((o) => [o.owner, o.count, o.bytes]));
    const objects = table(
      ["object", "bytes", "status", "owner", "reference type", "pinned by"],
      memory.objects.slice(0, flags.limit ?? 20).map((o) => [o.objectId, o.bytes, o.status, o.owner, o.referenceType, o.pinnedBy.join(",")]),
    );
    return `${head}${types}\n${owners}\n${objects}`;
  });
}

function logLine(line: LogLine): string {
  return `${iso(line.time)} [${line.nodeId === undefined ? "" : `${line.nodeId} `}${line.worker}] ${line.text}\n`;
}

async function logs(flags: Flags): Promise<void> {
  if (!flags.follow) {
    const result = await fetchJson<ListResult<LogLine>>(flags, "logs", [...flags.filters, ["limit", String(flags.limit ?? 100)]]);
    print(flags, result, () => result.items.slice().reverse().map(logLine).join(""));
    return;
  }
  // Subscribe first, then print the recent lines, then the new ones (each once).
  target ??= await open(flags);
  const early: LogLine[] = [];
  let seen: Set<string> | undefined;
  const key = (line: LogLine): string => `${line.time}|${line.nodeId ?? ""}|${line.worker}|${line.text}`;
  const matches = (line: LogLine): boolean => flags.filters.every(([field, value]) => String((line as unknown as Record<string, unknown>)[field]) === value);
  const show = (line: LogLine): void => {
    if (!matches(line)) return;
    process.stdout.write(flags.format === "json" ? `${JSON.stringify(line)}\n` : logLine(line));
  };
  const following = await target.follow((line) => {
    if (seen === undefined) early.push(line);
    else if (!seen.has(key(line))) show(line);
  });
  const recent = await target.get<ListResult<LogLine>>("logs", [...flags.filters, ["limit", String(flags.limit ?? 100)]]);
  const lines = recent.items.slice().reverse();
  seen = new Set(lines.map(key));
  for (const line of lines) show(line);
  for (const line of early) if (!seen.has(key(line))) show(line);
  seen = new Set();
  process.stderr.write(`rayts: following new lines from ${flags.address} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    void following.ended.then(stop);
  });
  await following.stop();
}

async function timeline(flags: Flags): Promise<void> {
  const trace = await fetchJson<{ traceEvents: unknown[] }>(flags, "timeline");
  const output = flags.output ?? `rayts-timeline-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  await writeFile(output, JSON.stringify(trace));
  process.stdout.write(`Wrote ${trace.traceEvents.length} trace events to ${output}; open it in https://ui.perfetto.dev or chrome://tracing\n`);
}

/** Usage of the observability commands. */
export const OBSERVABILITY_USAGE = `Observability, against the dashboard of a running driver or cluster head (--address URL or HOST:PORT)
or a cluster's Redis (--address HOST:PORT --redis-password P); default: the cluster started here, else ${DEFAULT_ADDRESS}:
  rayts status                                   nodes, tasks by state, recent errors
  rayts list tasks|actors|objects|nodes|workers [--filter key=value]... [--limit N] [--format json|table]
  rayts summary tasks                            tasks by function and state
  rayts memory                                   objects by size, owner and reference type
  rayts logs [--limit N] [--follow]              recent lines tasks printed; --follow prints new ones until Ctrl-C
  rayts timeline [-o trace.json]                 Chrome trace / Perfetto JSON of task spans
`;

function command(run: (flags: Flags) => Promise<void>): (argv: string[]) => Promise<number> {
  return async (argv) => {
    if (argv.includes("--help") || argv.includes("-h")) {
      process.stdout.write(OBSERVABILITY_USAGE);
      return 0;
    }
    try {
      await run(parse(argv));
      return 0;
    } catch (error) {
      process.stderr.write(`rayts: ${error instanceof Error ? error.message : String(error)}\n`);
      if (error instanceof UsageError) process.stderr.write(OBSERVABILITY_USAGE);
      return error instanceof UsageError ? 2 : 1;
    } finally {
      await target?.close();
      target = undefined;
    }
  };
}

/** The commands by name; each takes the arguments after its name and resolves with an exit code. */
export const observabilityCommands: Record<string, (argv: string[]) => Promise<number>> = {
  status: command(status),
  list: command(list),
  summary: command(summary),
  memory: command(memory),
  logs: command(logs),
  timeline: command(timeline),
};
