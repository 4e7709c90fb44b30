/**
 * The driver's outbox: messages for each node gathered during one
 * synchronous stretch of the program and written together at the next
 * microtask, one Redis pipeline with a stream entry per node (of up to
 * {@link BATCH} messages), along with the object-directory entries of
 * objects freed meanwhile.
 */
import { serialize } from "node:v8";
import { PREFIX, type ControlPlane } from "./control-plane.js";
import type { FaultySender } from "./fault-injection.js";
import type { ToNode } from "./wire.js";

/** Messages per stream entry. */
const BATCH = 2000;

export class DriverOutbox {
  readonly #plane: ControlPlane;
  readonly #sender: FaultySender | undefined;
  #messages = new Map<string, ToNode[]>();
  #dropLocations: string[] = [];
  #scheduled = false;
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
    this.#schedule();
  }

  /** Queues the removal of the object directory's entry for `gid`. */
  dropLocation(gid: string): void {
    this.#dropLocations.push(gid);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#scheduled = false;
    if (this.closed) return;
    const outbox = this.#messages;
    const dropLocations = this.#dropLocations;
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
