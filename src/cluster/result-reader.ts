/**
 * The driver's read of its result stream. The entries it read last time are
 * deleted in the same round trip as the next blocking read (one pipeline
 * on the reader's connection), not in a command of their own: on a busy
 * machine every write to a socket costs a wake-up of Redis, and a stream of
 * short tasks reads a result entry every few milliseconds.
 */
import type { Redis } from "ioredis";

/** Entries read per call. */
const READ_COUNT = 512;
/** Longest block of one read, so that a closing driver notices soon. */
const BLOCK_MS = 1000;

/**
 * Deletes `done` (entry ids read before) from `stream`, then reads the
 * entries after `last` (blocking up to a second); resolves to XREAD's reply
 * with Buffers (null when nothing came). A failed delete is ignored: the
 * stream is deleted with the driver anyway.
 */
export async function readAfterDeleting(reader: Redis, stream: string, last: string, done: readonly string[]): Promise<unknown> {
  if (done.length === 0) return reader.callBuffer("XREAD", "COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", stream, last);
  const replies = await reader.pipeline().xdel(stream, ...done).callBuffer("XREAD", "COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", stream, last).exec();
  const [error, reply] = replies?.[1] ?? [new Error("the result read got no reply"), null];
  if (error !== null) throw error;
  return reply;
}
