/**
 * The examples of the seed articles (000, 001, 002), as a Ray user would
 * write them in TypeScript.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

describe("seed 002: Ray Core tutorial", () => {
  test("square tasks give [0, 1, 4, 9]", async () => {
    const square = ray.remote((x: number) => x * x);
    const futures = [0, 1, 2, 3].map((i) => square.remote(i));
    assert.deepEqual(await ray.get(futures), [0, 1, 4, 9]);
  });

  test("a Counter actor incremented ten times reads 10", async () => {
    const Counter = ray.remote(
      class Counter {
        i = 0;
        get(): number {
          return this.i;
        }
        incr(value: number): void {
          this.i += value;
        }
      },
    );
    const c = Counter.remote();
    for (let k = 0; k < 10; k++) c.incr.remote(1);
    assert.equal(await ray.get(c.get.remote()), 10);
    ray.kill(c);
  });

  test("sum_matrix of a 100x100 ones array passed by value is 10000", async () => {
    const sumMatrix = ray.remote((matrix: Float64Array) => {
      let sum = 0;
      for (let i = 0; i < matrix.length; i++) sum += matrix[i] as number;
      return sum;
    });
    assert.equal(await ray.get(sumMatrix.remote(new Float64Array(100 * 100).fill(1))), 10000);
  });

  test("sum_matrix of a put 1000x1000 ones array is 1e6", async () => {
    const sumMatrix = ray.remote((matrix: Float64Array) => {
      let sum = 0;
      for (let i = 0; i < matrix.length; i++) sum += matrix[i] as number;
      return sum;
    });
    const matrixRef = ray.put(new Float64Array(1000 * 1000).fill(1));
    assert.equal(await ray.get(sumMatrix.remote(matrixRef)), 1e6);
  });

  test("sum_matrix of a 100x100 ones array as nested number[][] is 10000", async () => {
    const sumMatrix = ray.remote((matrix: number[][]) => matrix.reduce((acc, row) => acc + row.reduce((a, b) => a + b, 0), 0));
    const ones = Array.from({ length: 100 }, () => new Array<number>(100).fill(1));
    assert.equal(await ray.get(sumMatrix.remote(ones)), 10000);
  });
});

describe("seed 001: counters", () => {
  test("four counters incremented three times each read [3, 3, 3, 3]", async () => {
    const Counter = ray.remote(
      class Counter {
        n = 0;
        increment(): void {
          this.n += 1;
        }
        read(): number {
          return this.n;
        }
      },
    );
    const counters = [0, 1, 2, 3].map(() => Counter.remote());
    for (let round = 0; round < 3; round++) for (const c of counters) c.increment.remote();
    const futures = counters.map((c) => c.read.remote());
    assert.deepEqual(await ray.get(futures), [3, 3, 3, 3]);
    for (const c of counters) ray.kill(c);
  });

  test("f(x) = x * x over range(4) gives [0, 1, 4, 9]", async () => {
    const f = ray.remote(function f(x: number) {
      return x * x;
    });
    assert.deepEqual(await ray.get([0, 1, 2, 3].map((i) => f.remote(i))), [0, 1, 4, 9]);
  });
});

describe("seed 000: task dependencies", () => {
  test("multiply_matrices(create_matrix, create_matrix) with number[][] matrices", async () => {
    const createMatrix = ray.remote((rows: number, cols: number, fill: number) =>
      Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => fill + i - j)),
    );
    const multiplyMatrices = ray.remote((x: number[][], y: number[][]) => {
      const n = x.length;
      const m = (y[0] as number[]).length;
      const k = y.length;
      const out: number[][] = [];
      for (let i = 0; i < n; i++) {
        const row: number[] = [];
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += (x[i] as number[])[t]! * (y[t] as number[])[j]!;
          row.push(s);
        }
        out.push(row);
      }
      return out;
    });
    const xId = createMatrix.remote(20, 20, 1);
    const yId = createMatrix.remote(20, 20, 2);
    const zId = multiplyMatrices.remote(xId, yId);
    const z = await ray.get(zId);
    const [x, y] = await ray.get([xId, yId]);
    assert.equal(z.length, 20);
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 20; j++) {
        let s = 0;
        for (let t = 0; t < 20; t++) s += x[i]![t]! * y[t]![j]!;
        assert.equal(z[i]![j], s);
      }
    }
  });

  test("multiply_matrices of two random 200x200 Float64Array matrices matches a local product", async () => {
    const createMatrix = ray.remote((size: number) => {
      const m = new Float64Array(size * size);
      for (let i = 0; i < m.length; i++) m[i] = Math.random() * 2 - 1;
      return m;
    });
    const multiplyMatrices = ray.remote((x: Float64Array, y: Float64Array, size: number) => {
      const out = new Float64Array(size * size);
      for (let i = 0; i < size; i++)
        for (let t = 0; t < size; t++) {
          const a = x[i * size + t] as number;
          for (let j = 0; j < size; j++) out[i * size + j] = (out[i * size + j] as number) + a * (y[t * size + j] as number);
        }
      return out;
    });
    const size = 200;
    const xId = createMatrix.remote(size);
    const yId = createMatrix.remote(size);
    const zId = multiplyMatrices.remote(xId, yId, size);
    const [x, y, z] = await ray.get([xId, yId, zId]);
    assert.ok(z instanceof Float64Array);
    assert.equal(z.length, size * size);
    for (const [i, j] of [[0, 0], [17, 42], [199, 199], [100, 3]] as const) {
      let s = 0;
      for (let t = 0; t < size; t++) s += x[i * size + t]! * y[t * size + j]!;
      assert.ok(Math.abs(z[i * size + j]! - s) < 1e-9);
    }
  });
});
