/**
 * What a node writes back, in one pipeline per flush: the object locations
 * of large values it now holds, each owner's results (one result-stream
 * entry per owner), and the acknowledgement of task-stream entries whose
 * messages are all done. A stream of short tasks sends its results in
 * batches: a result waits a little for others while more tasks run or wait
 * on this node, and one write is in flight at a time.
 */
import { serialize } from "node:v8";
import type { ChainableCommander, Redis } from "ioredis";
import { PREFIX } from "./control-plane.js";
import type { FaultySender } from "./fault-injection.js";
import type { FromNode, OwnerLine, ResultBatch } from "./wire.js";

/** Longest wait of a result for others to go with it while other tasks run on this node. */
const RESULT_LINGER_MS = 2;
/**
 * The same while tasks wait for a free CPU here: throughput matters more
 * than each result's latency then, and every write wakes Redis and the
 * owner (on a machine they share, each wake-up takes a core from the tasks).
 */
const QUEUED_LINGER_MS = 25;
/** Most printed lines waiting for a write (all owners); past it lines are dropped and counted, never waited for. */
export const MAX_PENDING_LINES = 10_000;

/** A task-stream entry: acknowledged once none of its messages is pending. */
export interface StreamEntry {
  readonly entry: string;
  pending: number;
}

/** What the outbox needs from its node. */
export interface OutboxOptions {
  readonly redis: Redis;
  readonly nodeId: string;
  /** The node's address (named in the note on dropped lines). */
  readonly address: string;
  /** The node's task stream (its consumer group is "node"). */
  readonly stream: string;
  readonly numCpus: number;
  /** Tasks running or waiting on this node, the one whose result is queued included. */
  running(): number;
  /** Owners found dead: their results are dropped. */
  readonly dead: ReadonlySet<string>;
  /** Adds the node's pending events first to each write (they go before the results of their runs). */
  beforeWrite(pipeline: ChainableCommander): void;
  /** Fault injection: batches go one after another, a dropped one again after a backoff. */
  readonly sender: FaultySender | undefined;
  log(line: string): void;
}

export class NodeOutbox {
  readonly #options: OutboxOptions;
  #results = new Map<string, FromNode[]>();
  /** Lines printed for each owner, and how many were dropped past {@link MAX_PENDING_LINES}. */
  #lines = new Map<string, OwnerLine[]>();
  #pendingLines = 0;
  #droppedLines = new Map<string, number>();
  #locations: string[] = [];
  readonly #entries: StreamEntry[] = [];
  #scheduled = false;
  /** When the scheduled flush is due (performance.now()). */
  #due = 0;
  #writing = false;

  constructor(options: OutboxOptions) {
    this.#options = options;
  }

  /** A task-stream entry read now, with one pending count held until {@link settled} is called for it. */
  entry(id: string): StreamEntry {
    const entry = { entry: id, pending: 1 };
    this.#entries.push(entry);
    return entry;
  }

  /** One message of an entry is done; the entry is acknowledged once all are (after their results are written). */
  settled(entry: StreamEntry): void {
    if (--entry.pending === 0) this.schedule();
  }

  /** Queues a result for its owner. */
  result(owner: string, result: FromNode): void {
    if (this.#options.dead.has(owner)) return;
    let list = this.#results.get(owner);
    if (list === undefined) this.#results.set(owner, (list = []));
    list.push(result);
    const others = this.#options.running() - 1;
    this.schedule(others >= this.#options.numCpus ? QUEUED_LINGER_MS : others > 0 ? RESULT_LINGER_MS : 0);
  }

  /**
   * Queues a line a task printed for its owner, to go before the results
   * queued after it. Lines past the cap are dropped (the owner is told how
   * many): a task that prints fast never holds up the node.
   */
  line(owner: string, line: OwnerLine): void {
    if (this.#options.dead.has(owner)) return;
    if (this.#pendingLines >= MAX_PENDING_LINES) {
      this.#droppedLines.set(owner, (this.#droppedLines.get(owner) ?? 0) + 1);
    } else {
      let list = this.#lines.get(owner);
      if (list === undefined) this.#lines.set(owner, (list = []));
      list.push(line);
      this.#pendingLines++;
    }
    this.schedule(this.#options.running() > 0 ? RESULT_LINGER_MS : 0);
  }

  /** Lists this node as a holder of `id` in the next write. */
  located(id: string): void {
    this.#locations.push(id);
  }

  /** Forgets the results queued for a dead owner. */
  drop(owner: string): void {
    this.#results.delete(owner);
    this.#pendingLines -= this.#lines.get(owner)?.length ?? 0;
    this.#lines.delete(owner);
    this.#droppedLines.delete(owner);
  }

  /** Each owner's lines, a note of the dropped ones last; taken from the queue. */
  #takeLines(): Map<string, OwnerLine[]> {
    const lines = this.#lines;
    for (const [owner, count] of this.#droppedLines) {
      let list = lines.get(owner);
      if (list === undefined) lines.set(owner, (list = []));
      list.push({ s: "err", t: `(rayts node ${this.#options.address}) ${String(count)} lines printed by tasks were dropped here (more than ${String(MAX_PENDING_LINES)} waited to be sent); the node's log has them` });
    }
    this.#lines = new Map();
    this.#droppedLines = new Map();
    this.#pendingLines = 0;
    return lines;
  }

  /**
   * Flushes on the next turn, or `linger` ms later when more results are due
   * soon (other tasks run or wait here), so that a stream of short tasks
   * sends its results in batches rather than one by one.
   */
  schedule(linger = 0): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#due = performance.now() + linger;
    // One result write in flight at a time: results finished meanwhile go together in the next one.
    if (this.#writing) return;
    this.#wake();
  }

  #wake(): void {
    const wait = this.#due - performance.now();
    if (wait > 0) setTimeout(() => void this.#flush(), wait);
    else setImmediate(() => void this.#flush());
  }

  /** One pipeline per turn: object locations, then each owner's results, then acks of finished entries. */
  async #flush(): Promise<void> {
    this.#scheduled = false;
    const options = this.#options;
    const outbox = this.#results;
    const locations = this.#locations;
    this.#results = new Map();
    this.#locations = [];
    const lines = this.#takeLines();
    const done: string[] = [];
    while (this.#entries.length > 0 && (this.#entries[0] as StreamEntry).pending === 0) done.push((this.#entries.shift() as StreamEntry).entry);
    if (outbox.size === 0 && lines.size === 0 && locations.length === 0 && done.length === 0) return;
    const owners = new Set([...lines.keys(), ...outbox.keys()]);
    const results = [...owners].map((owner) => {
      const printed = lines.get(owner);
      const batch: ResultBatch = printed === undefined ? { node: options.nodeId, results: outbox.get(owner) ?? [] } : { node: options.nodeId, results: outbox.get(owner) ?? [], lines: printed };
      return [owner, serialize(batch)] as const;
    });
    const write = (): Promise<unknown> => {
      const pipeline = options.redis.pipeline();
      options.beforeWrite(pipeline);
      for (const id of locations) pipeline.sadd(`${PREFIX}loc:${id}`, options.nodeId);
      for (const [owner, bytes] of results) pipeline.xadd(`${PREFIX}results:${owner}`, "*", "m", bytes);
      if (done.length > 0) {
        pipeline.xack(options.stream, "node", ...done);
        pipeline.xdel(options.stream, ...done);
      }
      return pipeline.exec();
    };
    if (options.sender !== undefined) {
      options.sender.send("a result batch", write, (error) => options.log(`writing results failed: ${String(error)}`));
    } else {
      this.#writing = true;
      try {
        await write();
      } catch (error) {
        options.log(`writing results failed: ${String(error)}`);
      } finally {
        this.#writing = false;
      }
      // Results that came during the write wait out their own linger, not less.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- results may come during the await
      if (this.#scheduled) this.#wake();
    }
    if (this.#entries.length > 0 && (this.#entries[0] as StreamEntry).pending === 0) this.schedule();
  }
}
