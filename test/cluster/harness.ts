/**
 * The test harness: {@link LocalCluster} (Redis and node daemons on
 * loopback addresses, torn down even when a test fails), started after
 * making sure `redis-server` is installed.
 */
import { spawnSync } from "node:child_process";
import { LocalCluster, type NodeSpec } from "../../src/cluster/local-cluster.js";
import { findRedisServer } from "../../src/cluster/redis-server.js";

export type { NodeSpec } from "../../src/cluster/local-cluster.js";

/** Installs redis-server with apt-get when it is missing and we are root; otherwise fails saying how to install it. */
export function ensureRedisServer(): void {
  try {
    findRedisServer();
    return;
  } catch (error) {
    if (process.getuid?.() !== 0) throw error;
  }
  const installed = spawnSync("sh", ["-c", "apt-get install -y redis-server || (apt-get update && apt-get install -y redis-server)"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (installed.status !== 0) throw new Error("the cluster tests need redis-server and `apt-get install -y redis-server` failed");
  findRedisServer();
}

/** A local cluster for a test file; `shutdown()` in an `after` hook. */
export const Cluster = {
  async start(specs: readonly NodeSpec[]): Promise<LocalCluster> {
    ensureRedisServer();
    return LocalCluster.start(specs);
  },
};
export type Cluster = LocalCluster;
