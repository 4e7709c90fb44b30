/**
 * A copy still being pulled: the bytes it may serve from an offset are the
 * gap-free run of landed bytes from there, whatever order the ranges land
 * in (fast-check against a byte-by-byte model, bounded runs, seed printed);
 * readers wake as bytes land, and fail when the pull fails, starts over, or
 * stalls.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CHUNK_BYTES } from "../../src/cluster/object-pull.js";
import { PartialCopy } from "../../src/cluster/partial-copy.js";
import { params } from "../../property-tests/fc-config.js";

/** A copy of `size` bytes; its destination is never read here, so a small block stands in for it. */
function sizedCopy(size: number, kind: "ta" | "v8" = "ta"): PartialCopy {
  const copy = new PartialCopy("obj");
  copy.sized({ size, kind, type: "Uint8Array" }, new Uint8Array(1));
  return copy;
}

/** The model: which bytes landed, one flag per byte of a scaled-down object (CHUNK_BYTES stands for `scale` bytes). */
function modelAvailable(landed: readonly number[], chunk: number, size: number, offset: number): number {
  let at = offset;
  while (at < size) {
    const index = Math.floor(at / chunk);
    if (at - index * chunk >= (landed[index] ?? 0)) break;
    at++;
  }
  return at;
}

test("available(offset) is the gap-free run of landed bytes from offset, in any landing order", () => {
  const scale = CHUNK_BYTES / 8; // model in units of CHUNK_BYTES / 8 bytes, so a chunk is 8 units
  const chunkUnits = 8;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 * chunkUnits }).chain((units) =>
        fc.tuple(
          fc.constant(units),
          fc.array(fc.tuple(fc.nat({ max: Math.ceil(units / chunkUnits) - 1 }), fc.integer({ min: 1, max: chunkUnits })), { maxLength: 20 }),
          fc.nat({ max: units }),
        ),
      ),
      ([units, events, offset]) => {
        const copy = sizedCopy(units * scale);
        const landed: number[] = [];
        for (const [index, filled] of events) {
          const length = Math.min(chunkUnits, units - index * chunkUnits);
          const units_ = Math.min(filled, length);
          copy.landed(index * CHUNK_BYTES, units_ * scale);
          landed[index] = Math.max(landed[index] ?? 0, units_);
        }
        assert.equal(copy.available(offset * scale), modelAvailable(landed, chunkUnits, units, offset) * scale);
      },
    ),
    params(300),
  );
});

test("complete() makes every byte available; a serialized value or a failed pull is not servable", async () => {
  const copy = sizedCopy(CHUNK_BYTES * 2 + 5);
  copy.complete();
  assert.equal(copy.available(0), CHUNK_BYTES * 2 + 5);
  assert.equal(copy.available(CHUNK_BYTES + 1), CHUNK_BYTES * 2 + 5);
  assert.equal(copy.servable, true);
  assert.equal(await sizedCopy(10, "v8").whenSized(), undefined);
  const failed = sizedCopy(10);
  failed.fail(new Error("every holder failed"));
  assert.equal(failed.servable, false);
  assert.equal(await failed.whenSized(), undefined);
});

test("a reader waits for the size and then for bytes past its offset, and wakes as they land", async () => {
  const copy = new PartialCopy("obj");
  const sized = copy.whenSized();
  const readable = copy.readable(0);
  copy.sized({ size: CHUNK_BYTES * 2, kind: "ta", type: "Uint8Array" }, new Uint8Array(1));
  assert.deepEqual(await sized, { size: CHUNK_BYTES * 2, kind: "ta", type: "Uint8Array" });
  copy.landed(0, 1000);
  assert.equal(await readable, 1000);
  const further = copy.readable(1000);
  copy.landed(CHUNK_BYTES, 5); // a later range: not yet reachable from 1000
  copy.landed(0, CHUNK_BYTES);
  assert.equal(await further, CHUNK_BYTES + 5);
});

test("readers fail when the pull fails, starts over, or nothing lands for the stall time", async () => {
  const failing = sizedCopy(CHUNK_BYTES);
  const waiting = failing.readable(0);
  failing.fail(new Error("every holder failed"));
  await assert.rejects(waiting, /the partial copy of object obj here failed: every holder failed/);
  const restarting = sizedCopy(CHUNK_BYTES);
  const before = restarting.readable(0);
  restarting.reset();
  await assert.rejects(before, /the partial copy of object obj here started over/);
  await assert.rejects(sizedCopy(CHUNK_BYTES).readable(0, 20), /no byte of object obj landed here for 20 ms/);
  await assert.rejects(new PartialCopy("obj").whenSized(20), /no byte of object obj landed here for 20 ms/);
});
