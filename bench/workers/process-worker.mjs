// A child process that runs kernels on request: the peer that shares nothing
// with the driver (no address space, heap or allocator), so its speedup is
// what the machine's cores give, whatever any thread runtime does. Reads one
// JSON request per line on stdin ({ kernel, args }), answers one line on
// stdout ({ ms } or { error }).
import { createInterface } from "node:readline";
import * as kernels from "./kernels.mjs";

for await (const line of createInterface({ input: process.stdin })) {
  try {
    const { kernel, args } = JSON.parse(line);
    const start = performance.now();
    kernels[kernel](...args);
    process.stdout.write(`${JSON.stringify({ ms: performance.now() - start })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  }
}
