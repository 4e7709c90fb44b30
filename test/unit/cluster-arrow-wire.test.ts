/**
 * The cluster wire's Arrow form: an Arrow value becomes a marker holding
 * its IPC bytes where values are copied for the wire, survives v8
 * serialization (which places views at unaligned offsets), and is rebuilt
 * with its class; plain values are left as they are (same object).
 */
import assert from "node:assert/strict";
import { deserialize, serialize } from "node:v8";
import { before, test } from "node:test";
import { RecordBatch, Table, tableFromArrays, vectorFromArray, Vector } from "apache-arrow";
import { holdsArrowMarkers, isArrowMarker, preloadArrow, reviveArrows, withArrows } from "../../src/cluster/arrow-wire.js";
import { holdsMarkers } from "../../src/cluster/nested-refs.js";
import { fromPayload, toPayload, unshare } from "../../src/cluster/wire.js";

before(async () => {
  await preloadArrow();
});

const table = tableFromArrays({ x: new Float64Array([1, 2, 3]), s: ["a", "b", "c"], b: [true, false, true] });

test("an Arrow value becomes a marker on the wire and comes back with its class and values", () => {
  for (const value of [table, table.batches[0] as RecordBatch, vectorFromArray([1, 2, 3])]) {
    const wire = unshare(value);
    assert.ok(isArrowMarker(wire));
    const received: unknown = deserialize(serialize(wire));
    assert.ok(holdsMarkers(received) && holdsArrowMarkers(received));
    const back = reviveArrows(received);
    assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(value));
  }
  const back = reviveArrows(deserialize(serialize(unshare(table)))) as Table;
  assert.deepEqual([...(back.getChild("x")?.toArray() as Float64Array)], [1, 2, 3]);
  assert.equal(back.getChild("s")?.get(2), "c");
  assert.equal(back.getChild("b")?.get(1), false);
});

test("Arrow values inside arrays and plain objects become markers too; plain values stay the same object", async () => {
  const plain = { list: [1, 2, 3], text: "t", nested: { n: 1 } };
  assert.equal(unshare(plain), plain);
  assert.equal(holdsMarkers(plain), false);
  const mixed = { name: "m", parts: [vectorFromArray([4, 5])] };
  const wire = unshare(mixed);
  assert.notEqual(wire, mixed);
  const back = (await withArrows(deserialize(serialize(wire)))) as { name: string; parts: Vector[] };
  assert.equal(back.name, "m");
  assert.ok(back.parts[0] instanceof Vector);
  assert.deepEqual([...(back.parts[0].toArray() as Float64Array)], [4, 5]);
});

test("a large Arrow value takes the v8 payload form and is rebuilt from it", async () => {
  const big = tableFromArrays({ x: Float64Array.from({ length: 50_000 }, (_, i) => i) });
  const payload = toPayload(big);
  assert.equal(payload.kind, "v8");
  const back = (await withArrows(fromPayload(payload.kind, payload.type, new Uint8Array(payload.bytes)))) as Table;
  assert.ok(back instanceof Table);
  assert.equal(back.numRows, 50_000);
  assert.equal(back.getChild("x")?.get(49_999), 49_999);
});
