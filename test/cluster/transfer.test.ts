/**
 * Object transfer: a chunked pull of a 200 MB typed array arrives intact
 * (checksum) in shared memory over kept-alive connections; odd sizes,
 * ArrayBuffers and serialized values; refusals. Then a broadcast on three
 * nodes: each gets the same bytes and the object directory lists every one
 * of them as a holder; pullers take the least-loaded holder first. Refs
 * nested inside arguments reach tasks on other nodes and stay alive while
 * those tasks are pending.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { candidates, SERVING } from "../../src/cluster/holders.js";
import { CHUNK_BYTES, ObjectServer, pullObject } from "../../src/cluster/object-server.js";
import { toPayload, type Payload } from "../../src/cluster/wire.js";
import { Cluster } from "./harness.js";

const TOKEN = "transfer-test-token";
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Deterministic non-constant content (xorshift), so a misplaced chunk changes the checksum. */
function pattern(length: number, seed: number): Float64Array {
  const values = new Float64Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = x;
  }
  return values;
}

function digest(view: ArrayBufferView): string {
  return createHash("sha256").update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).digest("hex");
}

describe("object transfer: chunked pulls", () => {
  const served = new Map<string, Payload>();
  const ranges: string[] = [];
  let server: ObjectServer;
  let address: string;

  before(async () => {
    server = new ObjectServer(
      TOKEN,
      (id) => {
        ranges.push(id);
        return served.get(id);
      },
      () => undefined,
    );
    address = `127.0.0.1:${await server.listen("127.0.0.1")}`;
  });
  after(() => server.close());

  test("a 200 MB Float64Array arrives byte for byte, in shared memory, in 8 MiB ranges", async () => {
    const values = pattern(25_000_000, 7);
    served.set("big", toPayload(values));
    ranges.length = 0;
    const pulled = (await pullObject(address, "big", TOKEN)) as Float64Array;
    assert.ok(pulled instanceof Float64Array);
    assert.equal(pulled.length, values.length);
    assert.ok(pulled.buffer instanceof SharedArrayBuffer, "a pulled typed array lands in shared memory");
    assert.equal(digest(pulled), digest(values));
    assert.equal(ranges.length, Math.ceil(values.byteLength / CHUNK_BYTES));
    // Pulled again over the kept-alive connections: still intact.
    const again = (await pullObject(address, "big", TOKEN)) as Float64Array;
    assert.equal(digest(again), digest(values));
    served.delete("big");
  });

  test("sizes off the chunk boundary, empty values, ArrayBuffers and serialized values", async () => {
    const odd = new Uint8Array(CHUNK_BYTES * 2 + 13).map((_, i) => (i * 31) & 255);
    const exact = new Int32Array(CHUNK_BYTES / 4).map((_, i) => i);
    const buffer = new Uint8Array(CHUNK_BYTES + 1).fill(9).buffer;
    const object = { name: "x".repeat(CHUNK_BYTES + 5), list: [1, 2, 3] };
    served.set("odd", toPayload(odd));
    served.set("exact", toPayload(exact));
    served.set("empty", toPayload(new Float32Array(0)));
    served.set("buffer", toPayload(buffer));
    served.set("object", toPayload(object));
    assert.equal(digest((await pullObject(address, "odd", TOKEN)) as Uint8Array), digest(odd));
    assert.equal(digest((await pullObject(address, "exact", TOKEN)) as Int32Array), digest(exact));
    assert.deepEqual(await pullObject(address, "empty", TOKEN), new Float32Array(0));
    const pulledBuffer = await pullObject(address, "buffer", TOKEN);
    assert.ok(pulledBuffer instanceof ArrayBuffer, "an ArrayBuffer stays an ArrayBuffer");
    assert.deepEqual(new Uint8Array(pulledBuffer), new Uint8Array(buffer));
    assert.deepEqual(await pullObject(address, "object", TOKEN), object);
  });

  test("an object the server does not hold, and a wrong token, are refused with clear errors", async () => {
    await assert.rejects(pullObject(address, "missing", TOKEN), /pulling object missing from .* failed: HTTP 404 object missing is not held here/);
    served.set("small", toPayload(new Float64Array(10)));
    await assert.rejects(pullObject(address, "small", "not-the-token"), /refused the cluster token while pulling object small/);
    // The connections stay usable after refusals.
    assert.deepEqual(await pullObject(address, "small", TOKEN), new Float64Array(10));
  });
});

describe("object transfer: broadcast over three nodes", () => {
  let cluster: Cluster;
  let plane: ControlPlane;

  before(async () => {
    cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 1 }, { numCpus: 1 }]);
    await ray.init({ address: cluster.address, redisPassword: cluster.password });
    plane = await ControlPlane.connect(cluster.address, cluster.password, "transfer-test-observer");
  });
  after(async () => {
    await plane?.close();
    await ray.shutdown();
    await cluster?.shutdown();
  });

  test("three nodes each pull the same bytes of one object and all become its holders", async () => {
    const values = pattern(3_000_000, 11); // 24 MB: three ranges
    const ref = ray.put(values);
    const checksum = ray.remote((data: Float64Array) => {
      // FNV-1a over the bytes, computed where the task runs.
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let hash = 0x811c9dc5;
      for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193) >>> 0;
      return { hash, where: ray.getRuntimeContext().nodeId };
    });
    const nodes = ray.nodes();
    assert.equal(nodes.length, 3);
    const results = await ray.get(nodes.map((node) => checksum.options({ scheduling: { nodeId: node.nodeId } }).remote(ref)));
    const bytes = new Uint8Array(values.buffer);
    let expected = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) expected = Math.imul(expected ^ (bytes[i] as number), 0x01000193) >>> 0;
    assert.deepEqual(
      results.map((result) => result.hash),
      [expected, expected, expected],
    );
    assert.deepEqual(results.map((result) => result.where).sort(), nodes.map((node) => node.nodeId).sort());
    const keys = await plane.redis.keys(`${PREFIX}loc:*`);
    assert.equal(keys.length, 1, `expected one object in the directory, got ${keys.join(", ")}`);
    const holders = await plane.redis.smembers(keys[0] as string);
    for (const node of nodes) assert.ok(holders.includes(node.nodeId), `node ${node.nodeId} is not listed as a holder: ${holders.join(", ")}`);
    const inProgress = (await plane.redis.hvals(SERVING)).reduce((total, count) => total + Number(count), 0);
    assert.equal(inProgress, 0, "no pull is counted as in progress once all are done");
    // The next puller takes the least-loaded holder first.
    const gid = (keys[0] as string).slice(`${PREFIX}loc:`.length);
    const [busy, ...rest] = nodes.map((node) => node.nodeId);
    await plane.redis.hincrby(SERVING, busy as string, 5);
    try {
      const order = await candidates(plane.redis, gid, [], "someone-else");
      assert.equal(order.length, holders.length);
      assert.equal(order.at(-1)?.holder, busy, "the busiest holder comes last");
      for (const id of rest) assert.ok(order.some((candidate) => candidate.holder === id));
    } finally {
      await plane.redis.hincrby(SERVING, busy as string, -5);
    }
  });

  test("refs nested in an argument reach a task on another node, which gets their values there", async () => {
    const [first, second] = ray.nodes();
    assert.ok(first !== undefined && second !== undefined);
    const onFirst = { scheduling: { nodeId: first.nodeId } };
    const onSecond = { scheduling: { nodeId: second.nodeId } };
    const make = ray.remote((length: number) => new Float64Array(length).fill(2));
    const read = ray.remote(async (bag: { small: ray.ObjectRef<number[]>; list: ray.ObjectRef<Float64Array>[] }) => {
      const small = await ray.get(bag.small);
      const arrays = await ray.get(bag.list);
      return { small, sums: arrays.map((values) => values.reduce((total, value) => total + value, 0)), where: ray.getRuntimeContext().nodeId };
    });
    // A large result made on the first node (still pending when passed), a large and a small value the driver put.
    const remoteBig = make.options(onFirst).remote(1_000_000);
    const result = await ray.get(
      read.options(onSecond).remote({ small: ray.put([1, 2, 3]), list: [remoteBig, ray.put(new Float64Array(200_000).fill(3))] }),
    );
    assert.deepEqual(result, { small: [1, 2, 3], sums: [2_000_000, 600_000], where: second.nodeId });
  });

  test("a nested ref keeps its object alive while the task that holds it is pending, after the driver dropped its own refs", async () => {
    const [, , third] = ray.nodes();
    assert.ok(third !== undefined);
    const gate = ray.remote((length: number) => new Float64Array(length).fill(5));
    const read = ray.remote(async (refs: ray.ObjectRef<Float64Array>[]) => (await ray.get(refs[0] as ray.ObjectRef<Float64Array>)).length);
    const submit = (): ray.ObjectRef<number> =>
      read.options({ scheduling: { nodeId: third.nodeId } }).remote([gate.options({ scheduling: { nodeId: third.nodeId } }).remote(300_000)]);
    const pending = submit(); // the only ref to the nested object died with submit's frame
    for (let round = 0; round < 3; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await ray.get(pending), 300_000);
  });
});
