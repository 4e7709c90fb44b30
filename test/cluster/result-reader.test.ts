/**
 * The driver's result read: entries read before are deleted in the same
 * round trip as the next read, which returns what came after them (on
 * connections speaking RESP2, as the control plane's do).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { freePort, newPassword, startRedisServer, type RedisServerProcess } from "../../src/cluster/redis-server.js";
import { readAfterDeleting } from "../../src/cluster/result-reader.js";
import { ensureRedisServer } from "./harness.js";

const host = "127.0.0.7";
let dir: string;
let server: RedisServerProcess;
let redis: Redis;

before(async () => {
  ensureRedisServer();
  dir = mkdtempSync(join(tmpdir(), "rayts-result-reader-"));
  server = await startRedisServer({ host, port: await freePort(host), password: newPassword(), logFile: join(dir, "redis.log"), detached: true });
  redis = new Redis({ host, port: server.port, password: server.password, protocol: 2 });
});

after(async () => {
  redis.disconnect();
  try {
    process.kill(-server.pid, "SIGKILL");
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Entry ids and the field value of each entry in an XREAD reply with Buffers. */
function entries(reply: unknown): { id: string; value: string }[] {
  if (reply === null) return [];
  return (reply as [Buffer, [Buffer, Buffer[]][]][]).flatMap(([, list]) => list.map(([id, fields]) => ({ id: id.toString(), value: String(fields[1]) })));
}

test("a read deletes the entries read before and returns the ones after `last`", async () => {
  const stream = "rayts:results:test";
  const first = [await redis.xadd(stream, "*", "m", "a"), await redis.xadd(stream, "*", "m", "b")] as string[];
  const read = entries(await readAfterDeleting(redis, stream, "0-0", []));
  assert.deepEqual(read, [
    { id: first[0], value: "a" },
    { id: first[1], value: "b" },
  ]);
  const third = (await redis.xadd(stream, "*", "m", "c")) as string;
  const next = entries(await readAfterDeleting(redis, stream, first[1] as string, first));
  assert.deepEqual(next, [{ id: third, value: "c" }]);
  // Only the entry not read yet is left in the stream.
  assert.deepEqual((await redis.xrange(stream, "-", "+")).map(([id]) => id), [third]);
});

test("a read with nothing after `last` blocks until an entry comes", async () => {
  const stream = "rayts:results:blocking";
  const before = (await redis.xadd(stream, "*", "m", "old")) as string;
  const reader = new Redis({ host, port: server.port, password: server.password, protocol: 2 });
  try {
    const pending = readAfterDeleting(reader, stream, before, [before]);
    // The delete went ahead of the blocking read, on the same connection.
    for (;;) {
      if ((await redis.xlen(stream)) === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const id = (await redis.xadd(stream, "*", "m", "new")) as string;
    // The read blocks for at most a second: when it came back empty, the entry is there for the next one.
    let got = entries(await pending);
    if (got.length === 0) got = entries(await readAfterDeleting(reader, stream, before, []));
    assert.deepEqual(got, [{ id, value: "new" }]);
  } finally {
    reader.disconnect();
  }
});
