/**
 * The test harness: {@link LocalCluster} (Redis and node daemons on
 * loopback addresses, torn down even when a test fails), started after
 * making sure `redis-server` is installed.
 */
import { LocalCluster, type NodeSpec } from "../../src/cluster/local-cluster.js";
import { findRedisServer } from "../../src/cluster/redis-server.js";
import { ensureDebianPackage } from "../support/system-package.js";

export type { NodeSpec } from "../../src/cluster/local-cluster.js";

/** Installs redis-server with apt-get when it is missing and we are root; otherwise fails saying how to install it. */
export function ensureRedisServer(): void {
  ensureDebianPackage("redis-server", "redis-server", "the cluster tests");
  findRedisServer();
}

/**
 * Node death is judged after 10 s in tests unless a test file sets its own
 * time: on a busy 2-core machine a node moving a 200 MB object can miss a
 * few beats.
 */
process.env["RAYTS_NODE_DEAD_MS"] ??= "10000";

/** A local cluster for a test file; `shutdown()` in an `after` hook. */
export const Cluster = {
  async start(specs: readonly NodeSpec[], options: { persistence?: boolean } = {}): Promise<LocalCluster> {
    ensureRedisServer();
    return LocalCluster.start(specs, options);
  },
};
export type Cluster = LocalCluster;

/** The id of the cluster's node at `index` (in start order: 0 is the head). */
export function nodeIdAt(cluster: LocalCluster, index: number): string {
  const node = cluster.nodes[index];
  if (node === undefined) throw new RangeError(`the cluster has ${cluster.nodes.length} nodes, none at index ${index}`);
  return node.nodeId;
}
