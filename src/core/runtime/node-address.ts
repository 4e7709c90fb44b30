/**
 * This machine's address as Ray reports a node's address. A module of its
 * own so that worker threads (getRuntimeContext in a task) can read it
 * without loading the driver's control plane.
 */
import { networkInterfaces } from "node:os";

/** This machine's first external IPv4 address, else 127.0.0.1. */
export function nodeAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}
