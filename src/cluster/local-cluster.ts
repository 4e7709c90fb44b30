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
  readonly redis: RedisServerProcess;
  readonly nodes: (LaunchedNode & { address: string })[] = [];
  #nextHost = 2;

  private constructor(dir: string, redis: RedisServerProcess) {
    this.dir = dir;
    this.redis = redis;
  }

  /** "HOST:PORT" of the Redis, for `init({ address })`. */
  get address(): string {
    return `${this.redis.host}:${this.redis.port}`;
  }

  get password(): string {
    return this.redis.password;
  }

  /** Starts Redis on 127.0.0.2 and one node per spec (the first one is the head, on 127.0.0.2). */
  static async start(specs: readonly NodeSpec[]): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), "rayts-cluster-"));
    const host = "127.0.0.2";
    const redis = await startRedisServer({ host, port: await freePort(host), password: newPassword(), logFile: join(dir, "redis.log"), detached: true });
    live.add(redis.pid);
    const cluster = new LocalCluster(dir, redis);
    try {
      for (const spec of specs) await cluster.addNode(spec);
    } catch (error) {
      await cluster.shutdown();
      throw error;
    }
    return cluster;
  }

  /** Starts one more node on the next loopback address. */
  async addNode(spec: NodeSpec = {}): Promise<LaunchedNode & { address: string }> {
    const address = `127.0.0.${this.#nextHost++}`;
    const node = await launchNode(
      {
        redisAddress: this.address,
        redisPassword: this.password,
        nodeIpAddress: address,
        numCpus: spec.numCpus ?? 2,
        resources: spec.resources ?? {},
        objectStoreMemory: spec.objectStoreMemory ?? 1024 * 1024 * 1024,
        head: this.nodes.length === 0,
        logDir: this.dir,
        ...(spec.dashboardPort === undefined || this.nodes.length > 0 ? {} : { dashboard: { host: "127.0.0.1", port: spec.dashboardPort, token: undefined } }),
      },
      join(this.dir, `node-${address}.log`),
      false,
    );
    live.add(node.pid);
    const entry = { ...node, address };
    this.nodes.push(entry);
    return entry;
  }

  /** Stops every node, then Redis, and removes the folder. Safe to call twice. */
  async shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((node) => killGroup(node.pid)));
    this.nodes.length = 0;
    await killGroup(this.redis.pid);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
