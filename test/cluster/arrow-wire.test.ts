/**
 * Arrow values across machines: a Table with several column types, a
 * RecordBatch and a Vector keep their prototypes (their methods work) as
 * arguments and results of tasks, from the driver to a node, from that
 * node to a nested task on another node and back; through put/get and
 * actor calls; and a large Table takes the large-object path (held by the
 * node that made it and pulled by the one that needs it).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RecordBatch, Table, tableFromArrays, vectorFromArray, Vector } from "apache-arrow";
import * as ray from "../../src/index.js";
import { Cluster, nodeIdAt } from "./harness.js";

let cluster: Cluster;
const LIMIT = { timeout: 180_000 };

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

function sample(rows: number): Table {
  return tableFromArrays({
    x: Float64Array.from({ length: rows }, (_, i) => i * 0.5),
    n: Int32Array.from({ length: rows }, (_, i) => i - 3),
    s: Array.from({ length: rows }, (_, i) => `row-${i}`),
    b: Array.from({ length: rows }, (_, i) => i % 3 === 0),
  });
}

function assertSample(table: unknown, rows: number): void {
  assert.ok(table instanceof Table, `expected a Table, got ${Object.prototype.toString.call(table)}`);
  assert.equal(table.numRows, rows);
  assert.deepEqual(table.schema.fields.map((field) => `${field.name}: ${String(field.type)}`), ["x: Float64", "n: Int32", "s: Dictionary<Int32, Utf8>", "b: Bool"]);
  assert.deepEqual([...(table.getChild("x")?.toArray() as Float64Array)], Array.from({ length: rows }, (_, i) => i * 0.5));
  assert.deepEqual([...(table.getChild("n")?.toArray() as Int32Array)], Array.from({ length: rows }, (_, i) => i - 3));
  assert.equal(table.getChild("s")?.get(rows - 1), `row-${rows - 1}`);
  assert.equal(table.getChild("b")?.get(3), true);
  assert.equal(table.getChild("b")?.get(4), false);
}

describe("cluster: Arrow values keep their prototype across nodes", () => {
  for (const rows of [5, 40_000]) {
    test(`a Table of ${rows} rows goes driver -> node -> node -> driver`, LIMIT, async () => {
      // Each task checks what it got (its class, values read through its methods, where it runs) and passes the Table on.
      const outer = ray.remote(async function outer(table: Table, here: string, target: string, sum: number) {
        const inner = ray.remote((t: Table, where: string, expected: number) => {
          const total = (t.getChild("x")?.toArray() as Float64Array).reduce((a, b) => a + b, 0);
          const seen = `${(Object.getPrototypeOf(t) as { constructor: { name: string } }).constructor.name} ${t.numRows} ${total} ${String(t.getChild("s")?.get(t.numRows - 1))} on ${ray.getRuntimeContext().nodeId}`;
          if (seen !== `Table ${t.numRows} ${expected} row-${t.numRows - 1} on ${where}`) throw new Error(`the inner task saw ${seen}`);
          return t;
        });
        const seen = `${(Object.getPrototypeOf(table) as { constructor: { name: string } }).constructor.name} on ${ray.getRuntimeContext().nodeId}`;
        if (seen !== `Table on ${here}`) throw new Error(`the outer task saw ${seen}`);
        return ray.get(inner.options({ scheduling: { nodeId: target } }).remote(table, target, sum));
      });
      const sum = Array.from({ length: rows }, (_, i) => i * 0.5).reduce((a, b) => a + b, 0);
      const ref = outer.options({ scheduling: { nodeId: nodeIdAt(cluster, 0) } }).remote(sample(rows), nodeIdAt(cluster, 0), nodeIdAt(cluster, 1), sum);
      assertSample(await ray.get(ref), rows);
    });
  }

  test("a large Table made on a node comes back to the driver as a Table, and goes to the other node by ref", LIMIT, async () => {
    const big = ray.put(sample(40_000));
    const echo = ray.remote((t: Table) => t);
    const onNode = echo.options({ scheduling: { nodeId: nodeIdAt(cluster, 0) } }).remote(big);
    const count = ray.remote((t: Table) => ({ rows: t.numRows, node: ray.getRuntimeContext().nodeId, cls: (Object.getPrototypeOf(t) as { constructor: { name: string } }).constructor.name }));
    const counted = await ray.get(count.options({ scheduling: { nodeId: nodeIdAt(cluster, 1) } }).remote(onNode));
    assert.deepEqual(counted, { rows: 40_000, node: nodeIdAt(cluster, 1), cls: "Table" });
    assertSample(await ray.get(onNode), 40_000);
    assertSample(await ray.get(big), 40_000);
  });

  test("put/get keeps a small Table, and a task gets it by ref", LIMIT, async () => {
    const ref = ray.put(sample(7));
    assertSample(await ray.get(ref), 7);
    const rows = ray.remote((t: Table) => t.numRows);
    assert.equal(await ray.get(rows.remote(ref)), 7);
  });

  test("a Vector and a RecordBatch go to a node and back", LIMIT, async () => {
    const vector = vectorFromArray([1.5, 2.5, 4]);
    const batch = sample(3).batches[0] as RecordBatch;
    const kind = ray.remote((value: Vector | RecordBatch) => `${(Object.getPrototypeOf(value) as { constructor: { name: string } }).constructor.name} ${value instanceof Object && "numRows" in value ? value.numRows : value.length}`);
    const echo = ray.remote(<T>(value: T): T => value);
    const target = { scheduling: { nodeId: nodeIdAt(cluster, 1) } };
    assert.deepEqual(await ray.get([kind.options(target).remote(vector), kind.options(target).remote(batch)]), ["Vector 3", "RecordBatch 3"]);
    const [back, batchBack] = await ray.get([echo.options(target).remote(vector), echo.options(target).remote(batch)]);
    assert.ok(back instanceof Vector, "a returned Vector is a Vector");
    assert.deepEqual([...(back.toArray() as Float64Array)], [1.5, 2.5, 4]);
    assert.ok(batchBack instanceof RecordBatch, "a returned RecordBatch is a RecordBatch");
    assert.equal(batchBack.numRows, 3);
    assert.equal(batchBack.getChild("s")?.get(2), "row-2");
  });

  test("an actor on a node takes and returns Tables", LIMIT, async () => {
    const Keeper = ray.remote(
      class Keeper {
        tables: Table[] = [];
        add(t: Table): number {
          this.tables.push(t);
          return this.tables.reduce((total, each) => total + each.numRows, 0);
        }
        first(): Table | undefined {
          return this.tables[0];
        }
      },
    );
    const keeper = Keeper.options({ scheduling: { nodeId: nodeIdAt(cluster, 1) } }).remote();
    assert.equal(await ray.get(keeper.add.remote(sample(4))), 4);
    assert.equal(await ray.get(keeper.add.remote(sample(6))), 10);
    assertSample(await ray.get(keeper.first.remote()), 4);
  });
});
