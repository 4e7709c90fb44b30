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
import { candidates, pullFromHolders, SERVING } from "../../src/cluster/holders.js";
import { CHUNK_BYTES, ObjectServer, pullObject } from "../../src/cluster/object-server.js";
import { pullObjectFrom } from "../../src/cluster/object-pull.js";
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

/** An object server for `payload` whose lookups go through `decide` (called with the 1-based request number). */
async function servingServer(decide: (request: number, server: ObjectServer) => Payload | undefined): Promise<{ server: ObjectServer; address: string; requests: () => number }> {
  let requests = 0;
  const server: ObjectServer = new ObjectServer(TOKEN, () => decide(++requests, server), () => undefined);
  const address = `127.0.0.1:${await server.listen("127.0.0.1")}`;
  return { server, address, requests: () => requests };
}

describe("object transfer: a holder failing part way", () => {
  const values = pattern(5 * (CHUNK_BYTES / 8) + 1000, 5); // six ranges, the last one short
  const payload = toPayload(values);
  const ranges = Math.ceil(values.byteLength / CHUNK_BYTES);

  test("a holder that stops holding the object after three ranges: the next one sends only the ranges still missing", async () => {
    const first = await servingServer((request) => (request <= 3 ? payload : undefined));
    const second = await servingServer(() => payload);
    try {
      const { value, source } = await pullObjectFrom([{ address: first.address }, { address: second.address }], "obj", TOKEN);
      assert.equal(source, 1);
      assert.equal(digest(value as Float64Array), digest(values));
      // The first holder answered three ranges and refused the next ones it was asked for (at most one per range in flight).
      assert.equal(second.requests(), ranges - 3, "the second holder sends only the missing ranges");
    } finally {
      await first.server.close();
      await second.server.close();
    }
  });

  test("a holder that dies while serving: the pull completes from the next one, byte for byte", async () => {
    const first = await servingServer((request, server) => {
      if (request === 3) void server.close(); // every connection of this holder is cut, ranges in flight included
      return payload;
    });
    const second = await servingServer(() => payload);
    try {
      const { value, source } = await pullObjectFrom([{ address: first.address }, { address: second.address }], "obj", TOKEN);
      assert.equal(source, 1);
      assert.equal(digest(value as Float64Array), digest(values));
      assert.ok(second.requests() >= 1 && second.requests() <= ranges, `the second holder served ${second.requests()} of ${ranges} ranges`);
    } finally {
      await second.server.close();
    }
  });

  test("a serialized value starts over on the next holder, whose serialization may differ byte for byte", async () => {
    const mine = toPayload({ text: "x".repeat(CHUNK_BYTES * 2) });
    const theirs = toPayload({ text: "y".repeat(CHUNK_BYTES * 2) }); // same length, other bytes
    assert.equal(mine.bytes.byteLength, theirs.bytes.byteLength);
    const first = await servingServer((request) => (request <= 1 ? mine : undefined));
    const second = await servingServer(() => theirs);
    try {
      const { value, source } = await pullObjectFrom([{ address: first.address }, { address: second.address }], "obj", TOKEN);
      assert.equal(source, 1);
      assert.deepEqual(value, { text: "y".repeat(CHUNK_BYTES * 2) });
      assert.equal(second.requests(), Math.ceil(theirs.bytes.byteLength / CHUNK_BYTES), "every range comes from the second holder");
    } finally {
      await first.server.close();
      await second.server.close();
    }
  });

  test("every holder failing: the last error is thrown, naming the object", async () => {
    const gone = await servingServer(() => undefined);
    try {
      await assert.rejects(pullObjectFrom([{ address: gone.address }, { address: gone.address }], "obj", TOKEN), /pulling object obj from .* failed: HTTP 404/);
      await assert.rejects(pullObjectFrom([], "obj", TOKEN), /object obj could not be pulled: no holder was given/);
    } finally {
      await gone.server.close();
    }
  });

  test("through the object directory: a dying holder's pull finishes from another holder, and no pull stays counted as in progress", async () => {
    const cluster = await Cluster.start([]);
    const plane = await ControlPlane.connect(cluster.address, cluster.password, "transfer-test-directory");
    let dying: Awaited<ReturnType<typeof servingServer>> | undefined;
    let healthy: Awaited<ReturnType<typeof servingServer>> | undefined;
    try {
      dying = await servingServer((request, server) => {
        if (request === 2) void server.close();
        return payload;
      });
      healthy = await servingServer(() => payload);
      await plane.registerHolder("dying", dying.address);
      await plane.registerHolder("healthy", healthy.address);
      await plane.addLocation("obj", "dying");
      await plane.addLocation("obj", "healthy");
      // The dying holder looks least loaded, so it is tried first.
      await plane.redis.hset(SERVING, "healthy", 3);
      const { value, holder } = await pullFromHolders(plane.redis, "obj", [], TOKEN, "puller");
      assert.equal(holder, "healthy");
      assert.equal(digest(value as Float64Array), digest(values));
      assert.ok(dying.requests() >= 2, "the dying holder was tried first");
      assert.deepEqual(await plane.redis.hgetall(SERVING), { dying: "0", healthy: "3" });
    } finally {
      await healthy?.server.close();
      await plane.close();
      await cluster.shutdown();
    }
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
