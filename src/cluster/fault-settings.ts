/**
 * The timing of cluster fault tolerance, read from the environment so that
 * every process of a cluster (node daemons started by `rayts start` or the
 * test harness inherit it) agrees:
 * - `RAYTS_HEARTBEAT_MS` (default 1000): how often a node or driver renews
 *   its heartbeat key.
 * - `RAYTS_NODE_DEAD_MS` (default 5000): the key's time to live; a node (or
 *   driver) whose key lapses is declared dead.
 * - `RAYTS_DRIVER_DEAD_MS` (default 30000): the same for a driver, longer
 *   since a driver's own code may hold its event loop for a while; nodes
 *   then clean up the work of a driver whose key lapsed.
 * - `RAYTS_RECONNECT_WINDOW_MS` (default 60000): how long a process keeps
 *   trying to reach a restarted Redis before it gives up with a clear error.
 * - `RAYTS_TESTING_RPC_FAILURE`: fault injection, see fault-injection.ts.
 */

/** Timing of liveness and reconnection, in milliseconds. */
export interface FaultSettings {
  readonly heartbeatMs: number;
  readonly deadMs: number;
  readonly driverDeadMs: number;
  readonly reconnectWindowMs: number;
}

function positive(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Expected the environment variable ${name} to be a positive number of milliseconds, got "${text}"`);
  }
  return value;
}

/** The settings of this process, from its environment (checked: a bad value is an error naming the variable). */
export function faultSettings(): FaultSettings {
  const heartbeatMs = positive("RAYTS_HEARTBEAT_MS", 1000);
  const deadMs = positive("RAYTS_NODE_DEAD_MS", 5000);
  if (deadMs <= heartbeatMs) {
    throw new RangeError(`Expected RAYTS_NODE_DEAD_MS (${deadMs}) to be longer than RAYTS_HEARTBEAT_MS (${heartbeatMs}), so that a live node renews its key in time`);
  }
  const driverDeadMs = positive("RAYTS_DRIVER_DEAD_MS", 30_000);
  if (driverDeadMs <= heartbeatMs) {
    throw new RangeError(`Expected RAYTS_DRIVER_DEAD_MS (${driverDeadMs}) to be longer than RAYTS_HEARTBEAT_MS (${heartbeatMs})`);
  }
  return { heartbeatMs, deadMs, driverDeadMs, reconnectWindowMs: positive("RAYTS_RECONNECT_WINDOW_MS", 60_000) };
}
