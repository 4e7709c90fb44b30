/**
 * A link-limited network on one machine, the way a real cluster's machines
 * each have their own network card: one network namespace per node, each
 * joined to a bridge in the root namespace by a veth pair whose two ends
 * are capped by a token bucket (`tc ... tbf`), so each node's link carries
 * at most `rateMbit` in and `rateMbit` out. Addresses are on a private
 * /24 this module creates (10.231.<n>.0); nothing is routed anywhere else.
 * Needs root and iproute2 (`ip`, `tc`). `destroy()` removes everything; it
 * also runs on exit and on SIGINT/SIGTERM/SIGHUP, and a topology left over
 * by a killed run is removed before a new one is made.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** One node's place on the network. */
export interface NetnsHost {
  /** Namespace name, for `ip netns exec`. */
  readonly ns: string;
  /** Its address on the bridge. */
  readonly address: string;
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why namespaces cannot be made here (undefined when they can). */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  try {
    run("ip", ["-V"]);
    run("tc", ["-V"]);
  } catch {
    return "needs iproute2 (ip, tc)";
  }
  return undefined;
}

const PREFIX = "rtsnb";
const live = new Set<Netns>();
function destroyAll(): void {
  for (const topology of live) topology.destroy();
}
process.on("exit", destroyAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    destroyAll();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

/** Removes namespaces and links this module made in an earlier run that did not clean up. */
function removeLeftovers(): void {
  for (const line of run("ip", ["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    if (name.startsWith(`${PREFIX}-`)) run("ip", ["netns", "del", name]);
  }
  for (const line of run("ip", ["-o", "link", "show"]).split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(PREFIX) === true) run("ip", ["link", "del", name]);
  }
}

/** The topology; see the file comment. */
export class Netns {
  readonly bridge: string;
  /** The bridge's address in the root namespace (where Redis and the driver listen). */
  readonly gateway: string;
  readonly hosts: NetnsHost[] = [];
  readonly rateMbit: number;
  #links: string[] = [];
  #destroyed = false;

  private constructor(tag: string, subnet: number, rateMbit: number) {
    this.bridge = `${PREFIX}${tag}`;
    this.gateway = `10.231.${subnet}.1`;
    this.rateMbit = rateMbit;
  }

  /** Makes the bridge and `count` namespaces, each with a link capped at `rateMbit` both ways. */
  static create(count: number, rateMbit: number): Netns {
    if (!Number.isInteger(count) || count < 1 || count > 200) throw new RangeError(`Expected count to be an integer from 1 to 200, got ${count}`);
    if (!Number.isFinite(rateMbit) || rateMbit <= 0) throw new RangeError(`Expected rateMbit to be a positive number, got ${rateMbit}`);
    removeLeftovers();
    const tag = randomBytes(2).toString("hex");
    const topology = new Netns(tag, 1 + (parseInt(tag, 16) % 250), rateMbit);
    live.add(topology);
    try {
      topology.#build(count, tag);
    } catch (error) {
      topology.destroy();
      throw error;
    }
    return topology;
  }

  #build(count: number, tag: string): void {
    const subnet = this.gateway.slice(0, this.gateway.lastIndexOf("."));
    run("ip", ["link", "add", this.bridge, "type", "bridge"]);
    this.#links.push(this.bridge);
    run("ip", ["addr", "add", `${this.gateway}/24`, "dev", this.bridge]);
    run("ip", ["link", "set", this.bridge, "up"]);
    // The token bucket holds a few large (offloaded) segments; its queue adds at most 20 ms.
    const tbf = ["tbf", "rate", `${this.rateMbit}mbit`, "burst", "256kb", "latency", "20ms"];
    for (let index = 0; index < count; index++) {
      const ns = `${PREFIX}-${tag}-${index}`;
      const outer = `${PREFIX}${tag}h${index}`;
      const address = `${subnet}.${10 + index}`;
      run("ip", ["netns", "add", ns]);
      this.hosts.push({ ns, address });
      run("ip", ["link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      this.#links.push(outer);
      run("ip", ["link", "set", outer, "master", this.bridge, "up"]);
      run("ip", ["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      // Into the node (the bridge's side sends) and out of it (the namespace's side sends).
      run("tc", ["qdisc", "add", "dev", outer, "root", ...tbf]);
      run("tc", ["-n", ns, "qdisc", "add", "dev", "eth0", "root", ...tbf]);
    }
  }

  /** The command prefix that runs a program inside `host`'s namespace. */
  exec(host: NetnsHost): string[] {
    return ["ip", "netns", "exec", host.ns];
  }

  /** Removes every namespace and link (idempotent; errors of parts already gone are ignored). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const host of this.hosts) {
      try {
        run("ip", ["netns", "del", host.ns]);
      } catch {
        // already gone
      }
    }
    for (const link of this.#links.reverse()) {
      try {
        run("ip", ["link", "del", link]);
      } catch {
        // deleting a namespace deletes its veth pair too
      }
    }
  }
}
