/**
 * Fan-out of large objects: a process still pulling an object serves the
 * ranges it has to the next puller. In one process: a chain source ->
 * middle -> downstream where the source sends each byte once; a middle that
 * dies part way, stalls, or holds a serialized value leaves the downstream
 * to finish from the full holder. Across nodes: a broadcast to three nodes
 * flows down a chain (bytes served per node, from the cluster's stats), and
 * killing the middle node mid-broadcast still lets the others finish with
 * the right bytes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { ControlPlane, PREFIX } from "../../src/cluster/control-plane.js";
import { pullersKey, SERVED } from "../../src/cluster/holders.js";
import { CHUNK_BYTES, pullObjectFrom } from "../../src/cluster/object-pull.js";
import { ObjectServer, type ObjectServerOptions, type PayloadLookup } from "../../src/cluster/object-server.js";
import { PartialCopy } from "../../src/cluster/partial-copy.js";
import { toPayload, type Payload } from "../../src/cluster/wire.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster, nodeIdAt } from "./harness.js";

const TOKEN = "fanout-test-token";
const LIMIT = { timeout: 240_000 };

/** Deterministic content that differs in every range, so a misplaced range changes the digest. */
function pattern(length: number): Float64Array {
  return Float64Array.from({ length }, (_, i) => i * 1.5 + 0.25);
}

function digest(view: ArrayBufferView): string {
  return createHash("sha256").update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).digest("hex");
}

/** A promise with its resolver, to hold requests until a test lets them go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Waits until an asynchronous condition holds; fails naming `what` after the guard. */
async function eventuallyAsync(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Served {
  readonly server: ObjectServer;
  readonly address: string;
  /** Requests seen so far. */
  requests(): number;
}

/** An object server on loopback whose lookups go through `lookup` (given the 1-based request number). */
async function serve(lookup: (request: number) => ReturnType<PayloadLookup>, options: ObjectServerOptions = {}, token = TOKEN): Promise<Served> {
  let requests = 0;
  const server = new ObjectServer(token, () => lookup(++requests), () => undefined, options);
  const address = `127.0.0.1:${await server.listen("127.0.0.1")}`;
  return { server, address, requests: () => requests };
}

describe("fan-out: serving a copy still being pulled", () => {
  const values = pattern(5 * (CHUNK_BYTES / 8) + 777); // six ranges, the last one short
  const payload = toPayload(values);
  const size = payload.bytes.byteLength;

  test("a middle serves ranges as they land: the downstream gets every byte from it, and the source sends each byte once", LIMIT, async () => {
    const held = gate();
    const source = await serve(async (request) => {
      if (request > 1) await held.opened; // the middle gets its first range, then waits for the downstream
      return payload;
    });
    const copy = new PartialCopy("obj");
    let completeWhenAsked: boolean | undefined;
    const middle = await serve(() => {
      completeWhenAsked ??= copy.available(0) === size;
      held.open();
      return copy;
    });
    try {
      const middlePull = pullObjectFrom([{ address: source.address }], "obj", TOKEN, copy);
      const downstream = await pullObjectFrom([{ address: middle.address }, { address: source.address }], "obj", TOKEN);
      assert.equal(digest((await middlePull).value as Float64Array), digest(values));
      assert.equal(completeWhenAsked, false, "the downstream asked while the middle was still pulling");
      assert.equal(downstream.source, 0, "the middle completed the downstream's pull");
      assert.equal(digest(downstream.value as Float64Array), digest(values));
      assert.equal(source.server.sent.bytes, size, "the source sent each byte once");
      assert.deepEqual(middle.server.sent, { bytes: size, partialBytes: size });
    } finally {
      await source.server.close();
      await middle.server.close();
    }
  });

  test("a middle that dies part way: the downstream keeps the ranges it got and takes the rest from the full holder", LIMIT, async () => {
    const source = await serve(() => payload);
    const copy = new PartialCopy("obj");
    const middleHeld = gate();
    // The middle dies once it has sent one whole range to the downstream.
    const middle: Served = await serve(() => copy, {
      served: (bytes) => {
        if (bytes >= CHUNK_BYTES) void middle.server.close();
      },
    });
    try {
      // The middle's own pull takes one range, then waits, so the downstream cannot get everything from it.
      const slowSource = await serve(async (request) => {
        if (request > 1) await middleHeld.opened;
        return payload;
      });
      const middlePull = pullObjectFrom([{ address: slowSource.address }], "obj", TOKEN, copy);
      const downstream = await pullObjectFrom([{ address: middle.address }, { address: source.address }], "obj", TOKEN);
      assert.equal(downstream.source, 1, "the full holder completed the pull");
      assert.equal(digest(downstream.value as Float64Array), digest(values));
      assert.ok(source.server.sent.bytes <= size - CHUNK_BYTES, `the full holder sent only what was missing (${source.server.sent.bytes} of ${size} bytes)`);
      middleHeld.open();
      assert.equal(digest((await middlePull).value as Float64Array), digest(values));
      await slowSource.server.close();
    } finally {
      await source.server.close();
      await middle.server.close();
    }
  });

  test("a middle whose copy stops growing cuts its responses after the stall time; the downstream finishes from the full holder", LIMIT, async () => {
    const stuck = gate();
    const stalledSource = await serve(async (request) => {
      if (request > 1) await stuck.opened;
      return payload;
    });
    const source = await serve(() => payload);
    const copy = new PartialCopy("obj");
    const middle = await serve(() => copy, { stallMs: 50 });
    try {
      const middlePull = pullObjectFrom([{ address: stalledSource.address }], "obj", TOKEN, copy);
      const downstream = await pullObjectFrom([{ address: middle.address }, { address: source.address }], "obj", TOKEN);
      assert.equal(downstream.source, 1);
      assert.equal(digest(downstream.value as Float64Array), digest(values));
      assert.ok(middle.server.sent.partialBytes <= CHUNK_BYTES, "the middle sent at most the one range it had");
      stuck.open();
      assert.equal(digest((await middlePull).value as Float64Array), digest(values));
    } finally {
      await stalledSource.server.close();
      await source.server.close();
      await middle.server.close();
    }
  });

  test("a serialized value is never served from a copy still being pulled (another holder's serialization may differ)", LIMIT, async () => {
    const object = { text: "z".repeat(CHUNK_BYTES * 2) };
    const serialized: Payload = toPayload(object);
    const held = gate();
    const source = await serve(async (request) => {
      if (request > 1) await held.opened;
      return serialized;
    });
    const copy = new PartialCopy("obj");
    const middle = await serve(() => copy);
    try {
      const middlePull = pullObjectFrom([{ address: source.address }], "obj", TOKEN, copy);
      await assert.rejects(pullObjectFrom([{ address: middle.address }], "obj", TOKEN), /HTTP 404 object obj is not held here/);
      held.open();
      assert.deepEqual((await middlePull).value, object);
      assert.equal(middle.server.sent.bytes, 0);
    } finally {
      await source.server.close();
      await middle.server.close();
    }
  });
});

describe("fan-out across nodes", () => {
  let cluster: Cluster;
  let plane: ControlPlane;
  const checksum = ray.remote((data: Float64Array) => {
    // FNV-1a over the 32-bit words, computed where the task runs.
    const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    let hash = 0x811c9dc5;
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ (words[i] as number), 0x01000193) >>> 0;
    return { hash, where: ray.getRuntimeContext().nodeId };
  });
  function expectedHash(values: Float64Array): number {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.byteLength / 4);
    let hash = 0x811c9dc5;
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ (words[i] as number), 0x01000193) >>> 0;
    return hash;
  }
  /** Bytes each node's object server sent so far, by node id. */
  async function served(): Promise<Map<string, number>> {
    const all = await plane.redis.hgetall(SERVED);
    return new Map(cluster.nodes.map((node) => [node.nodeId, Number(all[node.nodeId] ?? 0)]));
  }
  /** The object id (gid) of the one large object put since `before`. */
  async function newObject(before: readonly string[]): Promise<string> {
    let key: string | undefined;
    await eventuallyAsync(async () => {
      key = (await plane.redis.keys(`${PREFIX}loc:*`)).find((candidate) => !before.includes(candidate));
      return key !== undefined;
    }, "the object to be listed in the directory");
    return (key as string).slice(`${PREFIX}loc:`.length);
  }
  /**
   * Puts `values` and has a stand-in server answer for the driver's copy of
   * it (the driver's entry in the holders hash points there until `restore`).
   */
  async function putBehind(values: Float64Array, lookup: (request: number) => ReturnType<PayloadLookup>): Promise<{ ref: ray.ObjectRef<Float64Array>; gid: string; source: Served; restore: () => Promise<void> }> {
    const keys = await plane.redis.keys(`${PREFIX}loc:*`);
    const ref = ray.put(values);
    const gid = await newObject(keys);
    const [driverId] = await plane.redis.smembers(`${PREFIX}loc:${gid}`);
    assert.ok(driverId !== undefined);
    const driverAddress = await plane.redis.hget(`${PREFIX}holders`, driverId);
    assert.ok(driverAddress !== null);
    const source = await serve(lookup, {}, await plane.token());
    await plane.redis.hset(`${PREFIX}holders`, driverId, source.address);
    const restore = async (): Promise<void> => {
      await plane.redis.hset(`${PREFIX}holders`, driverId, driverAddress);
      await source.server.close();
    };
    return { ref, gid, source, restore };
  }

  before(async () => {
    cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 1 }, { numCpus: 1 }]);
    await ray.init({ address: cluster.address, redisPassword: cluster.password });
    plane = await ControlPlane.connect(cluster.address, cluster.password, "fanout-test-observer");
  });
  after(async () => {
    await plane?.close();
    await ray.shutdown();
    await cluster?.shutdown();
  });

  test("a broadcast to three nodes flows down a chain: two nodes send the object once each, the third none", LIMIT, async () => {
    const values = pattern(5_000_000); // 40 MB: five ranges
    const size = values.byteLength;
    const before = await served();
    const keys = await plane.redis.keys(`${PREFIX}loc:*`);
    const ref = ray.put(values);
    const gid = await newObject(keys);
    const nodes = ray.nodes();
    assert.equal(nodes.length, 3);
    const results = await ray.get(nodes.map((node) => checksum.options({ scheduling: { nodeId: node.nodeId } }).remote(ref)));
    const expected = expectedHash(values);
    assert.deepEqual(results.map((result) => result.hash), [expected, expected, expected]);
    assert.deepEqual((await plane.redis.lrange(pullersKey(gid), 0, -1)).sort(), nodes.map((node) => node.nodeId).sort());
    // Counters land just after the responses they count.
    const sent = async (): Promise<number[]> => {
      const now = await served();
      return cluster.nodes.map((node) => (now.get(node.nodeId) ?? 0) - (before.get(node.nodeId) ?? 0));
    };
    await eventuallyAsync(async () => (await sent()).reduce((total, bytes) => total + bytes, 0) >= 2 * size, "the nodes to have sent the object twice in all");
    assert.deepEqual((await sent()).sort((a, b) => a - b), [0, size, size], "a chain: the first and second pullers sent the object once each");
  });

  test("the middle of the chain killed mid-broadcast: the other nodes finish with the right bytes, keeping what it sent them", LIMIT, async () => {
    const values = pattern(6 * (CHUNK_BYTES / 8) - 100); // six ranges
    const size = values.byteLength;
    const payload = toPayload(values);
    const held = gate();
    // The driver's copy, as a server that sends the first two ranges asked and holds the rest.
    const { ref, gid, source, restore } = await putBehind(values, async (request) => {
      if (request > 2) await held.opened;
      return payload;
    });
    try {
      const nodes = ray.nodes();
      const pending = nodes.map((node) => ({ node, result: checksum.options({ scheduling: { nodeId: node.nodeId } }).remote(ref) }));
      let chain: string[] = [];
      await eventuallyAsync(async () => {
        chain = await plane.redis.lrange(pullersKey(gid), 0, -1);
        return chain.length === 3;
      }, "three nodes to join the pullers");
      const middle = chain[1] as string;
      const partial = async (): Promise<number> => Number((await plane.redis.hget(SERVED, `${middle}:partial`)) ?? 0);
      const before = await partial();
      // The middle has sent a whole range from its partial copy to the last node.
      await eventuallyAsync(async () => (await partial()) - before >= CHUNK_BYTES, "the middle to send a range it was still pulling");
      const victim = cluster.nodes.find((node) => node.nodeId === middle);
      assert.ok(victim !== undefined);
      cluster.kill(victim);
      held.open();
      const expected = expectedHash(values);
      for (const { node, result } of pending) {
        if (node.nodeId === middle) continue;
        assert.deepEqual(await ray.get(result), { hash: expected, where: node.nodeId });
      }
      // The first node took every byte from the source; the last kept at least the range the middle sent it.
      assert.ok(source.server.sent.bytes <= 2 * size - CHUNK_BYTES, `the source sent ${source.server.sent.bytes} bytes for two pulls of ${size}`);
    } finally {
      held.open();
      await restore();
    }
  });

  test("a task whose argument cannot be pulled fails naming the object, and its node, which knew the function, keeps running tasks", LIMIT, async () => {
    const onNode = { scheduling: { nodeId: nodeIdAt(cluster, 0) } }; // alive: a killed node leaves cluster.nodes
    const small = new Float64Array([1, 2]);
    assert.equal((await ray.get(checksum.options(onNode).remote(small))).hash, expectedHash(small)); // the node knows the function now
    const { ref, gid, restore } = await putBehind(pattern(2_000_000), () => undefined);
    try {
      await assert.rejects(ray.get(checksum.options(onNode).remote(ref)), new RegExp(`pulling object ${gid.replace(/\./g, "\\.")} from .* failed: HTTP 404`));
      assert.equal((await ray.get(checksum.options(onNode).remote(small))).hash, expectedHash(small));
    } finally {
      await restore();
    }
  });
});
