/**
 * How a driver joins a cluster (`init({ address })`): resolves `"auto"` to
 * the cluster started on this machine, checks the password is given,
 * connects to the cluster's Redis and starts the driver's backend.
 */
import { randomBytes } from "node:crypto";
import { RayError } from "../core/api/errors.js";
import type { ResolvedInitOptions } from "../core/api/options.js";
import { ControlPlane, DASHBOARD_KEY } from "./control-plane.js";
import { ClusterBackend } from "./driver.js";
import { Session } from "./session.js";

/** Connects a driver to the cluster named by `options.address`. */
export async function connectCluster(options: ResolvedInitOptions): Promise<ClusterBackend> {
  let address = options.address as string;
  let password = options.redisPassword;
  if (address === "auto") {
    const info = Session.latest()?.info();
    if (info === undefined) throw new RayError('init({ address: "auto" }) found no cluster started on this machine; run `rayts start --head` first');
    address = info.address;
    password ??= info.redisPassword;
  }
  if (password === undefined) {
    throw new TypeError(`Expected \`redisPassword\` with \`address\` "${address}": the cluster's Redis always has a password (printed by \`rayts start --head\`)`);
  }
  const driverId = `d${randomBytes(5).toString("hex")}`;
  const plane = await ControlPlane.connect(address, password, `rayts-driver-${driverId}`);
  try {
    const backend = new ClusterBackend(plane, driverId, options.objectStoreMemory);
    // Read before the backend starts: it unrefs the connections, and a reply pending on them then keeps no process alive.
    const dashboard = options.includeDashboard ? await plane.redis.get(DASHBOARD_KEY) : null;
    await backend.start();
    if (dashboard !== null) process.stderr.write(`View the rayts dashboard at ${dashboard}\n`);
    return backend;
  } catch (error) {
    await plane.close();
    throw error;
  }
}
