/**
 * Every protocol message kind survives the bytes-only wire form: encoded to
 * bytes that hold no shared memory, decoded to the same message, with
 * shared buffers back as (fresh) SharedArrayBuffers; bytes of another
 * protocol version or format are refused, and so is a value that leans on a
 * worker's block cache. Values of any shape round-trip through a codec and
 * the wire form (fast-check, bounded runs, seed printed).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Codec } from "../../src/core/codec/codec.js";
import { errorToData, RayTaskError } from "../../src/core/api/errors.js";
import { PROTOCOL_VERSION, batchFromBytes, batchToBytes, messageKind, type Message } from "../../src/core/protocol/protocol-bytes.js";
import type { DoneCells, Encoded, FromWorker, RunCells, ToWorker } from "../../src/core/protocol/protocol.js";
import { params } from "../../property-tests/fc-config.js";

let nextBlock = 0;
const codec = (): Codec => new Codec(false, () => ++nextBlock, "0123456789ab");
const encoder = codec();

function sharedBytes(...bytes: number[]): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(bytes.length);
  new Uint8Array(shared).set(bytes);
  return shared;
}

/** One value of each encoded form, shared memory included. */
const values: Encoded[] = [
  7,
  "text",
  true,
  12n,
  null,
  undefined,
  encoder.encode({ a: [1, 2], m: new Map([["k", new Set([1])]]) }, "value"),
  encoder.encode("x".repeat(70_000), "long string"), // serialized into shared memory
  { t: "ta", c: "Float64Array", b: sharedBytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 240, 63, 0, 0, 0, 0, 0, 0, 0, 64), k: 3, o: 8, n: 2 },
  { t: "ab", b: sharedBytes(1, 2, 3), k: 4, n: 3 },
  { t: "tc", v: new Int32Array([5, 6, 7]) },
  { t: "ar", k: "table", b: new Uint8Array(sharedBytes(9, 8, 7)) },
  { t: "r", id: 42 },
];
const error = errorToData(new RayTaskError("square", "boom", { cause: new TypeError("bad") }));
const actorOptions = {
  maxRestarts: 1,
  maxTaskRetries: 0,
  name: "counter",
  namespace: "default",
  getIfExists: false,
  detached: false,
  maxConcurrency: 1,
  concurrencyGroups: {},
  methodGroups: {},
  dedicatedThread: false,
};
const taskOptions = { numCpus: 1, maxRetries: 3, retryExceptions: false, name: "square", resources: { GPU: 1 } };

/** Samples of runs and results, which travel as flat cells rather than message objects. */
const runCells: RunCells = [10, 1, 0, false, 2, ...values.slice(0, 2), 11, 1, "renamed", true, 1, values[2]];
const doneCells: DoneCells = [10, 12, values[6], 11, 30, values[7]];

/** A sample of every driver-to-worker kind (a missing kind is a compile error). */
const toWorker: { [K in Exclude<ToWorker, RunCells>["kind"]]: Extract<ToWorker, { kind: K }> } = {
  define: { kind: "define", fn: 1, def: { kind: "module", name: "f", url: "file:///m.js", exportName: "f", captures: { A: 3 } }, captures: { A: values[9] } },
  cancel: { kind: "cancel", task: 10 },
  evict: { kind: "evict", blocks: [3, 4] },
  recycle: { kind: "recycle", blocks: [5] },
  names: { kind: "names", set: [{ name: "c", namespace: "default", id: 5, actorName: "Counter", cls: 2, methods: ["inc"] }], removed: [{ name: "old", namespace: "x" }] },
  values: { kind: "values", req: 1, values: [values[8], error], errors: [false, true] },
  waited: { kind: "waited", req: 2, ready: [10] },
  timeout: { kind: "timeout", req: 3 },
  actorInit: { kind: "actorInit", cells: [5, 2, "Counter", { max: 2, groups: { io: 2 }, methods: { read: "io" } }, 1, values[10], 6, 2, "Counter", { max: 1, groups: {}, methods: {} }, 0] },
  call: { kind: "call", actor: 5, task: 12, method: "inc", name: "Counter.inc", args: [values[11]] },
  actorKill: { kind: "actorKill", actor: 5 },
  streamCredit: { kind: "streamCredit", task: 16, upTo: 4 },
};

/** A sample of every worker-to-driver kind. */
const fromWorker: { [K in Exclude<FromWorker, DoneCells>["kind"]]: Extract<FromWorker, { kind: K }> } = {
  fail: { kind: "fail", task: 12, error, us: 4 },
  blocked: { kind: "blocked", task: 12 },
  unblocked: { kind: "unblocked", task: 12 },
  hello: { kind: "hello", threadId: 3 },
  submit: { kind: "submit", task: 13, fn: 1, args: [values[12]], options: taskOptions },
  submitCall: { kind: "submitCall", task: 14, actor: 5, method: "inc", args: [] },
  createActor: { kind: "createActor", actor: 6, cls: 2, args: [1], options: actorOptions, methods: ["inc"] },
  defineFn: { kind: "defineFn", fn: 7, def: { kind: "source", name: "g", source: "(x) => x" } },
  get: { kind: "get", req: 4, ids: [10, 11], timeout: undefined },
  wait: { kind: "wait", req: 5, ids: [10], numReturns: 1, timeout: 100 },
  put: { kind: "put", id: 15, value: values[9] },
  release: { kind: "release", ids: [15] },
  cancelTask: { kind: "cancelTask", id: 13, force: true },
  kill: { kind: "kill", actor: 6 },
  log: { kind: "log", stream: "err", text: "hello\n", task: 12 },
  actorInitFailed: { kind: "actorInitFailed", actor: 6, error },
  streamYield: { kind: "streamYield", task: 16, index: 0, value: values[1] },
  streamWait: { kind: "streamWait", task: 16, index: 3 },
  streamOpen: { kind: "streamOpen", task: 16, backpressure: 4 },
  streamNext: { kind: "streamNext", req: 6, task: 16 },
  streamClose: { kind: "streamClose", task: 16 },
};

/** How many SharedArrayBuffers and views on one a value holds. */
function countShared(value: unknown): number {
  if (value instanceof SharedArrayBuffer) return 1;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer ? 1 : 0;
  if (typeof value !== "object" || value === null) return 0;
  return Object.values(value).reduce((sum: number, item) => sum + countShared(item), 0);
}

for (const [direction, samples, cells] of [
  ["driver to worker", toWorker, runCells],
  ["worker to driver", fromWorker, doneCells],
] as const) {
  for (const message of [...(Object.values(samples) as Message[]), cells]) {
    test(`${direction}: "${messageKind(message)}" round-trips through the bytes-only form`, () => {
      const bytes = batchToBytes([message]);
      assert.equal(bytes.buffer instanceof SharedArrayBuffer, false);
      assert.equal(bytes[2], PROTOCOL_VERSION);
      const [back] = batchFromBytes(bytes.slice());
      assert.deepEqual(back, message);
      // Shared memory comes back shared (fresh memory, same bytes), so the receiver's store can hand it on.
      assert.equal(countShared(back), countShared(message));
    });
  }
}

test("a batch of every kind round-trips in one byte string, in order", () => {
  const batch = [...Object.values(toWorker), runCells, ...Object.values(fromWorker), doneCells] as Message[];
  assert.deepEqual(batchFromBytes(batchToBytes(batch)), batch);
});

test("a shared buffer decoded from bytes is a SharedArrayBuffer with the sender's bytes", () => {
  const [back] = batchFromBytes(batchToBytes([{ kind: "put", id: 1, value: { t: "ab", b: sharedBytes(4, 5, 6), k: 9, n: 3 } }]));
  const value = (back as Extract<FromWorker, { kind: "put" }>).value as { b: SharedArrayBuffer };
  assert.equal(value.b instanceof SharedArrayBuffer, true);
  assert.deepEqual([...new Uint8Array(value.b)], [4, 5, 6]);
});

test("a value that names a cached block without its bytes is refused, naming the message", () => {
  const cached: Message = [1, 1, 0, false, 1, { t: "ta", c: "Uint8Array", b: undefined, k: 77, o: 0, n: 4 }];
  assert.throws(() => batchToBytes([cached]), /message 0 \(cells\)\[5\] names shared block 77 without its bytes/);
});

test("bytes of another protocol version or of no batch at all are refused", () => {
  const bytes = batchToBytes([toWorker.cancel]);
  const other = bytes.slice();
  other[2] = PROTOCOL_VERSION + 1;
  assert.throws(() => batchFromBytes(other), new RegExp(`protocol version ${PROTOCOL_VERSION}, got version ${PROTOCOL_VERSION + 1}`));
  assert.throws(() => batchFromBytes(new Uint8Array([1, 2, 3, 4])), /Expected a rayts message batch/);
  assert.throws(() => batchFromBytes(new Uint8Array(0)), /Expected a rayts message batch/);
});

test("values of any shape survive codec, wire form and codec", () => {
  const receiver = codec();
  fc.assert(
    fc.property(fc.anything({ withMap: true, withSet: true, withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: false }), (value) => {
      const encoded = encoder.encode(value, "value");
      const [back] = batchFromBytes(batchToBytes([{ kind: "put", id: 1, value: encoded }]));
      const decoded = receiver.decode((back as Extract<FromWorker, { kind: "put" }>).value, () => assert.fail("no handles in plain values"));
      assert.deepEqual(decoded, value);
    }),
    params(200),
  );
});
