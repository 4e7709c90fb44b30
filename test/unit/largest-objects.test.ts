/**
 * The objects a node's snapshot lists: every entry without a limit, else the
 * `limit` largest by bytes, the newest first among equal sizes, the same as
 * sorting everything and cutting (fast-check, bounded runs, seed printed).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { largestObjects, type StoreEntryView } from "../../src/core/runtime/events.js";
import { params } from "../../property-tests/fc-config.js";

const entries = fc.uniqueArray(
  fc.record({
    id: fc.integer({ min: 1, max: 10_000 }),
    bytes: fc.constantFrom(0, 8, 16, 1024, 200_000),
    status: fc.constantFrom("pending" as const, "ready" as const, "error" as const),
    refCount: fc.integer({ min: 0, max: 3 }),
  }),
  { selector: (entry) => entry.id, maxLength: 60 },
);

test("without a limit every entry is listed, in store order", () => {
  const all: StoreEntryView[] = [
    { id: 1, bytes: 8, status: "ready", refCount: 1 },
    { id: 2, bytes: 900, status: "pending", refCount: 1 },
  ];
  assert.deepEqual(largestObjects(all, undefined), all);
});

test("a limit keeps the largest entries, newest first among equal sizes", () => {
  fc.assert(
    fc.property(entries, fc.integer({ min: 0, max: 70 }), (list, limit) => {
      const expected = [...list].sort((a, b) => b.bytes - a.bytes || b.id - a.id).slice(0, limit);
      const listed = largestObjects(list, limit);
      if (list.length <= limit) assert.deepEqual(listed, list);
      else assert.deepEqual(listed, expected);
    }),
    params(300),
  );
});
