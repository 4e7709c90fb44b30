/**
 * The channel between the driver runtime and one peer that runs its work:
 * today a worker thread (worker-pool.ts, a MessageChannel next to each
 * workerpool thread); a socket to another machine's node fits the same shape.
 *
 * Messages are queued and posted once per tick as one batch ({@link
 * Transport.flush}), batches arrive through the handler given to {@link
 * TransportHost.start}, and a peer's end (clean exit, crash, terminate) is
 * reported once through its exit handler. The runtime never sees threads or
 * sockets, only these two interfaces.
 */
import type { Encoded, FromWorker, ToWorker } from "../protocol/protocol.js";

/** One peer as the runtime sees it. */
export interface Transport {
  /** The peer's slot in its host (also its slot of the shared "running" table). */
  readonly index: number;
  /** True once the peer has ended; sends to a dead peer are dropped. */
  readonly dead: boolean;
  /** Called once the peer has announced itself (its hello). */
  onHello: (() => void) | undefined;
  /** Queues a message; everything queued in one tick is posted together by {@link flush}. */
  send(message: ToWorker): void;
  /**
   * Queues a task to run. Consecutive tasks may share one message (the
   * thread channel packs them into one flat array), so it is separate from `send`.
   */
  queueRun(task: number, fn: number, name: string | 0, args: readonly Encoded[], side: boolean): void;
  /** Posts what was queued as one batch. */
  flush(): void;
  /** Takes a batch that has arrived but not been dispatched yet (for a driver busy in a long synchronous loop). */
  receive(): FromWorker[] | undefined;
  /** The peer announced itself with its own id (a thread id, a node id). */
  attach(peerId: number): void;
  /** Stops the peer at once; its end is reported like a crash. */
  terminate(): void;
}

/** Receives each batch a peer sends. */
export type BatchHandler = (peer: Transport, batch: FromWorker[]) => void;
/** Called once when a peer ends, with the error that ended it if any. */
export type ExitHandler = (peer: Transport, error: unknown) => void;

/** Starts peers of one role and stops them all. */
export interface TransportHost {
  /** Starts the peer in slot `index`; batches go to `onBatch`, its end to `onExit`. */
  start(index: number, onBatch: BatchHandler, onExit: ExitHandler): Transport;
  /** Stops every peer. */
  close(): Promise<void>;
}
