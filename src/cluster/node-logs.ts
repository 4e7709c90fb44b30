/**
 * Worker output of a node sent on to the drivers: a line a task or actor
 * call printed goes, besides the node's log, to the driver that owns the
 * task, on the same per-owner path as its results (node-outbox.ts), so a
 * line printed before a task returned reaches the driver before its result.
 * The node's address goes into the line's prefix, as Ray prints
 * `(square pid=123, ip=127.0.0.2)`.
 */
import type { EventSink, RuntimeEvent } from "../core/runtime/events.js";
import type { OwnerLine } from "./wire.js";

/** A driver's id (driver-connect.ts): a node's id is 16 hex digits, a driver's `d` and 10. */
const DRIVER_ID = /^d[0-9a-f]{10}$/;
/** The worker's prefix, `(name pid=N worker=N)`, at the start of a line. */
const PREFIX_END = /^(\(.*? pid=\d+ worker=\d+)\)/;

/** True when `owner` is a driver (not a node that submitted nested work). */
export function isDriver(owner: string): boolean {
  return DRIVER_ID.test(owner);
}

/** `text` with ` ip=<address>` added to its worker prefix (a text without one is left as it is). */
export function withAddress(text: string, address: string): string {
  return text.replace(PREFIX_END, (_, head: string) => `${head} ip=${address})`);
}

/** What the sink needs from its node. */
export interface NodeLogsParts {
  readonly address: string;
  /** The owner of a task or call of the local runtime, while it runs for one. */
  ownerOf(task: number): string | undefined;
  /** Queues a line for its owner (with its results). */
  send(owner: string, line: OwnerLine): void;
}

/** An event sink on the node's runtime that sends each printed line to the driver owning its task. */
export class NodeLogs implements EventSink {
  readonly #parts: NodeLogsParts;

  constructor(parts: NodeLogsParts) {
    this.#parts = parts;
  }

  emit(event: RuntimeEvent): void {
    if (event.kind !== "log" || event.task === undefined) return;
    const owner = this.#parts.ownerOf(event.task);
    // Nested tasks (owned by a node) print to that node's log only.
    if (owner === undefined || !isDriver(owner)) return;
    this.#parts.send(owner, { s: event.stream, t: withAddress(event.text, this.#parts.address) });
  }
}
