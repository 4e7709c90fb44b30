/**
 * The driver's outbox over a recording stand-in for Redis: messages of one
 * synchronous stretch go together at its end, but a long stretch writes
 * its first messages before it ends (so nodes start while the program
 * still submits), every message exactly once and in order per node.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deserialize } from "node:v8";
import type { ControlPlane } from "../../src/cluster/control-plane.js";
import { DriverOutbox } from "../../src/cluster/driver-outbox.js";
import type { ToNode } from "../../src/cluster/wire.js";

/** One executed pipeline: the stream entries it added, decoded. */
interface Write {
  readonly entries: { stream: string; messages: ToNode[] }[];
  readonly deleted: string[];
}

/** A control plane whose pipelines record what they would write. */
function recordingPlane(writes: Write[]): ControlPlane {
  const pipeline = (): object => {
    const write: Write = { entries: [], deleted: [] };
    const chain = {
      xadd(stream: string, _id: string, _field: string, bytes: Buffer) {
        write.entries.push({ stream, messages: deserialize(bytes) as ToNode[] });
        return chain;
      },
      del(...keys: string[]) {
        write.deleted.push(...keys);
        return chain;
      },
      exec() {
        writes.push(write);
        return Promise.resolve([]);
      },
    };
    return chain;
  };
  return { redis: { pipeline } } as unknown as ControlPlane;
}

const cancel = (index: number): ToNode => ({ k: "cancel", id: `t${index}`, force: false });
const ids = (writes: readonly Write[], stream: string): string[] =>
  writes.flatMap((write) => write.entries.filter((entry) => entry.stream === stream).flatMap((entry) => entry.messages.map((message) => (message as { id: string }).id)));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a short stretch of messages is written once, at its end", async () => {
  const writes: Write[] = [];
  const outbox = new DriverOutbox(recordingPlane(writes), undefined);
  for (let i = 0; i < 100; i++) outbox.send(i % 2 === 0 ? "a" : "b", cancel(i));
  outbox.dropLocation("gone");
  assert.equal(writes.length, 0, "nothing is written before the stretch ends");
  await turn();
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.entries.length, 2, "one stream entry per node");
  assert.deepEqual(writes[0]?.deleted, ["rayts:loc:gone"]);
  assert.deepEqual(ids(writes, "rayts:tasks:a"), Array.from({ length: 50 }, (_, i) => `t${2 * i}`));
});

test("a long stretch writes its first messages before it ends, each message once and in order", async () => {
  const writes: Write[] = [];
  const outbox = new DriverOutbox(recordingPlane(writes), undefined);
  const TOTAL = 10_000;
  let writtenBeforeEnd = 0;
  let firstWriteAt: number | undefined;
  for (let i = 0; i < TOTAL; i++) {
    outbox.send(i % 2 === 0 ? "a" : "b", cancel(i));
    if (firstWriteAt === undefined && writes.length > 0) firstWriteAt = i + 1;
  }
  writtenBeforeEnd = writes.length;
  assert.equal(firstWriteAt, 256, "the first early write comes after 256 messages");
  assert.ok(writtenBeforeEnd >= 5, `writes before the stretch ended: ${writtenBeforeEnd}`);
  // Early writes grow (256, 512, ...) up to a full stream entry per node.
  const sizes = writes.map((write) => write.entries.reduce((n, entry) => n + entry.messages.length, 0));
  assert.deepEqual(sizes.slice(0, 4), [256, 512, 1024, 2000]);
  await turn();
  assert.equal(writes.length, writtenBeforeEnd + 1, "the rest goes at the end of the stretch");
  const expected = (parity: number): string[] => Array.from({ length: TOTAL / 2 }, (_, i) => `t${2 * i + parity}`);
  assert.deepEqual(ids(writes, "rayts:tasks:a"), expected(0));
  assert.deepEqual(ids(writes, "rayts:tasks:b"), expected(1));

  // The next stretch starts small again.
  writes.length = 0;
  for (let i = 0; i < 300; i++) outbox.send("a", cancel(i));
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.entries[0]?.messages.length, 256);
  await turn();
  assert.equal(writes.length, 2);
  assert.equal(writes[1]?.entries[0]?.messages.length, 44);
});

test("a closed outbox writes nothing", async () => {
  const writes: Write[] = [];
  const outbox = new DriverOutbox(recordingPlane(writes), undefined);
  outbox.closed = true;
  for (let i = 0; i < 1000; i++) outbox.send("a", cancel(i));
  await turn();
  assert.equal(writes.length, 0);
});
