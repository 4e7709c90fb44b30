/**
 * A cluster on one machine, like Ray's `cluster_utils.Cluster`, for tests,
 * benchmarks and the demo: a `redis-server` on a free loopback port with a
 * password, and node daemons on distinct loopback addresses (127.0.0.2,
 * 127.0.0.3, ...). Every process runs in its own process group, and
 * `shutdown()` (also run on exit and on SIGINT/SIGTERM/SIGHUP) kills the
 * groups, so no redis-server or node outlives its user.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchNode, type LaunchedNode } from "./launch.js";
import { freePort, newPassword, startRedisServer, type RedisServerProcess } from "./redis-server.js";

/** Options of one node. */
export interface NodeSpec {
  numCpus?: number;
  resources?: Record<string, number>;
  /** Bytes of the node's object store (default 1 GiB). */
  objectStoreMemory?: number;
  /** The head's dashboard (first node only): its port (0: a free one). None when undefined. */
  dashboardPort?: number;
}

const live = new Set<number>();
function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

async function killGroup(pid: number): Promise<void> {
  const gone = (): boolean => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    live.delete(pid);
    return;
  }
  for (let waited = 0; waited < 5000 && !gone(); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // exited on SIGTERM
  }
  live.delete(pid);
}

/** Redis and node daemons on loopback addresses of this machine. */
export class LocalCluster {
  readonly dir: string;
  redis: RedisServerProcess;
  readonly #dataDir: string | undefined;
  readonly nodes: (LaunchedNode & { address: string })[] = [];
  #nextHost = 2;

  private constructor(dir: string, redis: RedisServerProcess, dataDir: string | undefined) {
    this.dir = dir;
    this.redis = redis;
    this.#dataDir = dataDir;
  }

  /** "HOST:PORT" of the Redis, for `init({ address })`. */
  get address(): string {
    return `${this.redis.host}:${this.redis.port}`;
  }

  get password(): string {
    return this.redis.password;
  }

  /** Starts Redis on 127.0.0.2 and one node per spec (the first one is the head, on 127.0.0.2). */
  static async start(specs: readonly NodeSpec[], options: { persistence?: boolean } = {}): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), "rayts-cluster-"));
    const host = "127.0.0.2";
    const dataDir = options.persistence === true ? dir : undefined;
    const redis = await startRedisServer({ host, port: await freePort(host), password: newPassword(), logFile: join(dir, "redis.log"), detached: true, ...(dataDir === undefined ? {} : { dataDir }) });
    live.add(redis.pid);
    const cluster = new LocalCluster(dir, redis, dataDir);
    // The nodes start side by side (each is a process that spends its start-up loading code), listed in spec order.
    const started = await Promise.allSettled(specs.map((spec, index) => cluster.#launch(spec, `127.0.0.${cluster.#nextHost++}`, index === 0)));
    for (const outcome of started) if (outcome.status === "fulfilled") cluster.nodes.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === "rejected");
    if (failed !== undefined) {
      await cluster.shutdown();
      throw failed.reason;
    }
    return cluster;
  }

  /** Starts one more node on the next loopback address. */
  async addNode(spec: NodeSpec = {}): Promise<LaunchedNode & { address: string }> {
    const entry = await this.#launch(spec, `127.0.0.${this.#nextHost++}`, this.nodes.length === 0);
    this.nodes.push(entry);
    return entry;
  }

  async #launch(spec: NodeSpec, address: string, head: boolean): Promise<LaunchedNode & { address: string }> {
    const node = await launchNode(
      {
        redisAddress: this.address,
        redisPassword: this.password,
        nodeIpAddress: address,
        numCpus: spec.numCpus ?? 2,
        resources: spec.resources ?? {},
        objectStoreMemory: spec.objectStoreMemory ?? 1024 * 1024 * 1024,
        head,
        logDir: this.dir,
        ...(spec.dashboardPort === undefined || !head ? {} : { dashboard: { host: "127.0.0.1", port: spec.dashboardPort, token: undefined } }),
      },
      join(this.dir, `node-${address}.log`),
      false,
    );
    live.add(node.pid);
    return { ...node, address };
  }

  /** Kills a node at once (SIGKILL), as a machine that dies; the cluster only learns it from its lapsed heartbeat. */
  kill(node: LaunchedNode): void {
    try {
      process.kill(-node.pid, "SIGKILL");
    } catch {
      // already gone
    }
    live.delete(node.pid);
    const index = this.nodes.findIndex((entry) => entry.pid === node.pid);
    if (index >= 0) this.nodes.splice(index, 1);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) a node's processes, as a machine cut off from the network for a while. */
  pause(node: LaunchedNode, paused: boolean): void {
    process.kill(-node.pid, paused ? "SIGSTOP" : "SIGCONT");
  }

  /**
   * Stops Redis (SIGTERM: it writes its append-only file) and starts it again
   * on the same address and password; `whileDown` runs in between. Needs
   * `persistence` at start for the state to survive.
   */
  async restartRedis(whileDown?: () => Promise<void>): Promise<void> {
    const { host, port, password } = this.redis;
    await killGroup(this.redis.pid);
    await whileDown?.();
    const dataDir = this.#dataDir;
    this.redis = await startRedisServer({ host, port, password, logFile: join(this.dir, "redis.log"), detached: true, ...(dataDir === undefined ? {} : { dataDir }) });
    live.add(this.redis.pid);
  }

  /** Stops every node, then Redis, and removes the folder. Safe to call twice. */
  async shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((node) => killGroup(node.pid)));
    this.nodes.length = 0;
    await killGroup(this.redis.pid);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
