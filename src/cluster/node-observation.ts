/**
 * What a node daemon adds for observability: an {@link EventPublisher} on
 * its local runtime (every node), and the cluster's dashboard (the head,
 * unless started with `--include-dashboard false`).
 */
import { RayError } from "../core/api/errors.js";
import { state } from "../core/runtime/global-state.js";
import { DriverRuntime } from "../core/runtime/runtime.js";
import { HeadDashboard, type HeadDashboardOptions } from "../dashboard/head-dashboard.js";
import type { ChainableCommander } from "ioredis";
import { DASHBOARD_KEY, type ControlPlane } from "./control-plane.js";
import { EventPublisher } from "./event-publisher.js";

/** Deletes the address only while it is this dashboard's (a newer head may have replaced it). */
const FORGET_DASHBOARD = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0`;

/** A node's observers, stopped with the node. */
export interface NodeObservation {
  /** The dashboard's address, on a head that serves one. */
  readonly dashboardUrl: string | undefined;
  /** Adds the pending events to `pipeline` (before the results that follow them there). */
  flushEvents(pipeline: ChainableCommander): void;
  close(): Promise<void>;
}

/** Starts publishing the node's events (and serving the dashboard when `dashboard` is given). */
export async function observeNode(
  plane: ControlPlane,
  nodeId: string,
  address: string,
  dashboard: HeadDashboardOptions | undefined,
  log: (line: string) => void,
): Promise<NodeObservation> {
  const runtime = state.backend;
  if (!(runtime instanceof DriverRuntime)) throw new RayError(`node ${nodeId} has no local runtime to observe`);
  const publisher = new EventPublisher(plane.redis, nodeId, address, runtime.probe, (error) => log(`publishing state failed: ${String(error)}`));
  const detach = runtime.observe(publisher);
  await publisher.writeSnapshot();
  let head: HeadDashboard | undefined;
  try {
    if (dashboard !== undefined) head = await HeadDashboard.start(plane, dashboard, log);
  } catch (error) {
    // As in local mode: a dashboard that cannot start never stops the node.
    log(`the dashboard could not start (${error instanceof Error ? error.message : String(error)}); the state API still works`);
  }
  if (head !== undefined) {
    log(`View the rayts dashboard at ${head.url}`);
    // Drivers print it when they connect, as a local driver prints its own.
    await plane.redis.set(DASHBOARD_KEY, head.url).catch((error: unknown) => log(`announcing the dashboard failed: ${String(error)}`));
  }
  return {
    dashboardUrl: head?.url,
    flushEvents: (pipeline) => publisher.flush(pipeline),
    async close() {
      if (head !== undefined) await plane.redis.eval(FORGET_DASHBOARD, 1, DASHBOARD_KEY, head.url).catch(() => undefined);
      await head?.close();
      detach();
      await publisher.close();
    },
  };
}
