/**
 * The driver's outbox: messages for each node gathered during one
 * synchronous stretch of the program and written together at the next
 * microtask, one Redis pipeline with a stream entry per node (of up to
 * {@link BATCH} messages), along with the object-directory entries of
 * objects freed meanwhile. A long stretch (a loop submitting thousands of
 * tasks) does not hold its messages back until it ends: every
 * {@link EARLY} messages, then twice as many each time, are written at once,
 * so that the nodes start on the first tasks while the program submits the
 * rest.
 */
import { serialize } from "node:v8";
import { PREFIX, type ControlPlane } from "./control-plane.js";
import type { FaultySender } from "./fault-injection.js";
import type { ToNode } from "./wire.js";

/** Messages per stream entry. */
const BATCH = 2000;
/** Messages queued in one synchronous stretch after which they are written before it ends. */
const EARLY = 256;

export class DriverOutbox {
  readonly #plane: ControlPlane;
  readonly #sender: FaultySender | undefined;
  #messages = new Map<string, ToNode[]>();
  #dropLocations: string[] = [];
  #scheduled = false;
  /** Messages queued since the last write, and how many make the next early one. */
  #queued = 0;
  #early = EARLY;
  /** Set at shutdown: nothing more is written. */
  closed = false;

  constructor(plane: ControlPlane, sender: FaultySender | undefined) {
    this.#plane = plane;
    this.#sender = sender;
  }

  /** Queues `message` for the node `nodeId`. */
  send(nodeId: string, message: ToNode): void {
    let list = this.#messages.get(nodeId);
    if (list === undefined) this.#messages.set(nodeId, (list = []));
    list.push(message);
    if (++this.#queued < this.#early) {
      this.#schedule();
      return;
    }
    // The stretch goes on: later early writes are larger, up to a full stream entry per node.
    this.#early = Math.min(2 * this.#early, BATCH);
    this.flush();
  }

  /** Queues the removal of the object directory's entry for `gid`. */
  dropLocation(gid: string): void {
    this.#dropLocations.push(gid);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#early = EARLY;
      this.flush();
    });
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#scheduled = false;
    this.#queued = 0;
    if (this.closed) return;
    const outbox = this.#messages;
    const dropLocations = this.#dropLocations;
    if (outbox.size === 0 && dropLocations.length === 0) return;
    this.#messages = new Map();
    this.#dropLocations = [];
    const write = (): Promise<unknown> => {
      const pipeline = this.#plane.redis.pipeline();
      for (const [nodeId, messages] of outbox) {
        for (let start = 0; start < messages.length; start += BATCH) {
          pipeline.xadd(`${PREFIX}tasks:${nodeId}`, "*", "m", serialize(messages.slice(start, start + BATCH)));
        }
      }
      if (dropLocations.length > 0) pipeline.del(...dropLocations.map((gid) => `${PREFIX}loc:${gid}`));
      return pipeline.exec();
    };
    const failed = (error: unknown): void => void process.stderr.write(`rayts driver: sending work failed: ${String(error)}\n`);
    // Fault injection: batches go one after another, a dropped one again after a backoff.
    if (this.#sender !== undefined) this.#sender.send("a task batch", write, failed);
    else void write().catch(failed);
  }
}
