/**
 * Actor handles in values crossing machines: found inside arrays and plain
 * objects in the same walk that finds refs, replaced by markers holding the
 * actor's identity, and rebuilt from them on the other side; plain values
 * are left as they are.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeActorHandle } from "../../src/core/api/actor.js";
import { ACTOR_HANDLE, localHandle, markedActor, type ActorWire, type LocalHandle } from "../../src/cluster/actor-wire.js";
import { holdsMarkers, holdsRefs, markRefs, reviveRefs } from "../../src/cluster/nested-refs.js";
import { reviveReturnedRefs } from "../../src/cluster/returned-refs.js";

const toWire = (handle: LocalHandle): ActorWire => ({ id: `driver.${handle.id.toString(36)}`, name: handle.name, methods: handle.methods, node: "node-a" });
const noRef = (): never => {
  throw new Error("no ref expected");
};

test("a handle nested in arrays and plain objects is found, marked with its identity and rebuilt", async () => {
  const handle = makeActorHandle(7, "Server", ["push", "state"]);
  assert.deepEqual(localHandle(handle), { id: 7, name: "Server", methods: ["push", "state"] });
  const value = { config: { servers: [handle], rate: 0.5 }, tag: "x" };
  assert.equal(holdsRefs(value), true);
  const marked = markRefs(value, noRef, toWire) as { config: { servers: unknown[]; rate: number }; tag: string };
  assert.deepEqual(markedActor(marked.config.servers[0]), { id: "driver.7", name: "Server", methods: ["push", "state"], node: "node-a" });
  assert.equal(marked.config.rate, 0.5);
  assert.equal(holdsMarkers(marked), true);

  const rebuilt: ActorWire[] = [];
  const back = reviveReturnedRefs(marked, noRef, (wire) => (rebuilt.push(wire), `handle of ${wire.id}`));
  assert.deepEqual(back, { config: { servers: ["handle of driver.7"], rate: 0.5 }, tag: "x" });
  const revived = await reviveRefs(marked, noRef, undefined, (wire) => `arg handle of ${wire.id}`);
  assert.deepEqual(revived, { config: { servers: ["arg handle of driver.7"], rate: 0.5 }, tag: "x" });
  assert.equal(rebuilt.length, 1);
});

test("plain values hold no handle and no marker", () => {
  for (const value of [1, "s", null, [1, 2, [3]], { a: { b: [true] } }, new Float64Array(4)]) {
    assert.equal(holdsRefs(value), false, JSON.stringify(value));
    assert.equal(holdsMarkers(value), false);
    assert.equal(localHandle(value), undefined);
  }
  // A value that only looks like a marker under another key is not one.
  assert.equal(markedActor({ [`${ACTOR_HANDLE}x`]: {} }), undefined);
});
