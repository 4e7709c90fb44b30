/**
 * The driver's lineage bookkeeping, without a cluster: only outputs stored
 * on nodes keep their task spec, counted against the cap; past the cap the
 * oldest is evicted, and an evicted object whose copies are lost fails with
 * an ObjectLostError that says so; an input's lineage lives while an output
 * made from it keeps its own.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { errorFromData, errorToData, ObjectLostError, RayError, type ErrorData } from "../../src/core/api/errors.js";
import type { Work } from "../../src/cluster/driver-actors.js";
import { DEFAULT_MAX_LINEAGE_BYTES, Lineage, maxLineageBytes, taskSpecBytes } from "../../src/cluster/lineage.js";
import { OwnershipTable, type OwnedObject } from "../../src/cluster/objects.js";

/** A table, a lineage capped at `cap` bytes, and the works it ran again. */
function setup(cap: number): { objects: OwnershipTable; lineage: Lineage; reran: Work[]; freed: OwnedObject[] } {
  const reran: Work[] = [];
  const freed: OwnedObject[] = [];
  const objects = new OwnershipTable("d.", (object) => {
    freed.push(object);
    lineage.release(object); // called only after lineage is set below
  });
  const lineage = new Lineage(objects, (work) => {
    reran.push(work);
    work.send();
  }, cap);
  return { objects, lineage, reran, freed };
}

let num = 0;

/** A task output of `bytes` spec bytes made from `deps`; its work settles it on node `n2` when run again. */
function task(objects: OwnershipTable, lineage: Lineage, bytes: number, deps: OwnedObject[] = []): OwnedObject {
  const object = objects.create(++num);
  object.retriesLeft = 3;
  for (const dep of deps) objects.pin(dep);
  object.deps = [...deps];
  const work: Work = {
    deps,
    // As the driver does, the result finds its object by id.
    send: () => {
      const found = objects.byGid(object.gid);
      assert.ok(found, `${object.gid} is in the table when its task runs again`);
      objects.settle(found, { ok: true, inline: false, size: 1000, holders: ["n2"] });
    },
    fail: (error) => objects.settle(object, { ok: false, error }),
  };
  lineage.record(object, work, () => bytes);
  return object;
}

function storeOn(objects: OwnershipTable, object: OwnedObject, node: string): void {
  objects.settle(object, { ok: true, inline: false, size: 1000, holders: [node] });
}

test("only outputs stored on nodes count against the cap; past it the oldest is evicted", () => {
  const { objects, lineage } = setup(250);
  const inline = task(objects, lineage, 100);
  objects.settle(inline, { ok: true, inline: true, value: 1 });
  const failed = task(objects, lineage, 100);
  objects.settle(failed, { ok: false, error: errorToData(new RayError("boom")) });
  assert.equal(lineage.bytes, 0, "an inline value or an error keeps no lineage");
  const [a, b, c] = [task(objects, lineage, 100), task(objects, lineage, 100), task(objects, lineage, 100)];
  assert.equal(lineage.bytes, 0, "pending outputs are not counted yet");
  storeOn(objects, a, "n1");
  storeOn(objects, b, "n1");
  assert.equal(lineage.bytes, 200);
  assert.equal(lineage.evictions, 0);
  storeOn(objects, c, "n1");
  assert.equal(lineage.bytes, 200, "the oldest (a) was evicted to stay under 250 bytes");
  assert.equal(lineage.evictions, 1);
});

test("an evicted object whose copies died fails with ObjectLostError naming the cap; a kept one is rebuilt", async () => {
  const { objects, lineage, reran } = setup(150);
  const old = task(objects, lineage, 100);
  const recent = task(objects, lineage, 100);
  storeOn(objects, old, "n1");
  storeOn(objects, recent, "n1");
  lineage.dead.add("n1");
  await lineage.recover(old);
  assert.equal(old.state?.ok, false);
  const error = errorFromData((old.state as { error: ErrorData }).error);
  assert.ok(error instanceof ObjectLostError, String(error));
  assert.match(error.message, /its lineage was evicted .* under 150 bytes; raise RAYTS_MAX_LINEAGE_BYTES/);
  await lineage.recover(recent);
  assert.equal(reran.length, 1);
  assert.deepEqual(recent.state, { ok: true, inline: false, size: 1000, holders: ["n2"] });
  assert.equal(lineage.bytes, 100, "a rebuilt output keeps its one entry");
});

test("an input freed in the driver keeps its lineage while an output made from it does, and is rebuilt first", async () => {
  const { objects, lineage, reran, freed } = setup(10_000);
  const input = task(objects, lineage, 300);
  storeOn(objects, input, "n1");
  const output = task(objects, lineage, 200, [input]);
  storeOn(objects, output, "n1");
  objects.addRef(input, -1); // the driver dropped its last ref to the input
  assert.deepEqual(freed, [input]);
  assert.equal(lineage.bytes, 500, "the input's lineage is held by the output's");
  lineage.dead.add("n1");
  await lineage.recover(output);
  assert.deepEqual(reran.map((work) => work.deps.length), [0, 1], "the input ran again, then the output");
  assert.equal(objects.byGid(input.gid), undefined, "the input is freed again once the output was rebuilt");
  objects.addRef(output, -1);
  assert.equal(lineage.bytes, 0, "freeing the output lets both lineages go");
});

test("the cap is read from RAYTS_MAX_LINEAGE_BYTES, 1 GiB by default; a bad value names the variable", () => {
  assert.equal(maxLineageBytes({}), DEFAULT_MAX_LINEAGE_BYTES);
  assert.equal(DEFAULT_MAX_LINEAGE_BYTES, 1024 ** 3);
  assert.equal(maxLineageBytes({ RAYTS_MAX_LINEAGE_BYTES: "4096" }), 4096);
  assert.throws(() => maxLineageBytes({ RAYTS_MAX_LINEAGE_BYTES: "lots" }), /Expected the environment variable RAYTS_MAX_LINEAGE_BYTES to be a positive whole number of bytes, got "lots"/);
  assert.throws(() => maxLineageBytes({ RAYTS_MAX_LINEAGE_BYTES: "0" }), /got "0"/);
  assert.ok(taskSpecBytes("k", "f", [new Float64Array(1000)]) >= 8000, "a typed array argument counts its bytes");
});
