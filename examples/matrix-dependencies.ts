/**
 * Task dependencies. Two tasks create random matrices, a third
 * multiplies them; it receives the refs, and the runtime resolves them to
 * the matrices (zero-copy Float64Arrays) before it runs.
 */
import * as ray from "../src/index.js";
import { quick, report, timed } from "./support.js";

interface Matrix {
  n: number;
  data: Float64Array;
}

const createMatrix = ray.remote((n: number, seed: number): Matrix => {
  let state = seed;
  const data = new Float64Array(n * n);
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    data[i] = state / 2147483648 - 0.5;
  }
  return { n, data };
});

const multiplyMatrices = ray.remote((x: Matrix, y: Matrix): Matrix => {
  const n = x.n;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const a = x.data[i * n + k]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += a * y.data[k * n + j]!;
    }
  }
  return { n, data: out };
});

await ray.init({ numCpus: 2 });
const n = quick ? 80 : 300;

const checksum = (m: Matrix): number => m.data.reduce((a, b) => a + b, 0);

// Serial: the same steps, one after the other, on the driver (through the
// functions' plain bodies, by calling the remote functions' work locally).
const create = (size: number, seed: number): Matrix => {
  let state = seed;
  const data = new Float64Array(size * size);
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    data[i] = state / 2147483648 - 0.5;
  }
  return { n: size, data };
};
const multiply = (x: Matrix, y: Matrix): Matrix => {
  const out = new Float64Array(x.n * x.n);
  for (let i = 0; i < x.n; i++) for (let k = 0; k < x.n; k++) for (let j = 0; j < x.n; j++) out[i * x.n + j]! += x.data[i * x.n + k]! * y.data[k * x.n + j]!;
  return { n: x.n, data: out };
};
const [serial, serialMs] = await timed(() => multiply(create(n, 1), create(n, 2)));

const [parallel, parallelMs] = await timed(async () => {
  const xRef = createMatrix.remote(n, 1);
  const yRef = createMatrix.remote(n, 2);
  const zRef = multiplyMatrices.remote(xRef, yRef); // depends on both
  return ray.get(zRef);
});

console.log(`z = x * y (${n}x${n}), checksums equal:`, Math.abs(checksum(serial) - checksum(parallel)) < 1e-6);
report("serial", serialMs);
report("rayts, 3 dependent tasks", parallelMs, { name: "serial", ms: serialMs }, {
  slowerBecause: "the multiplication depends on both matrices, so only their creation runs in parallel, and the matrices travel to the worker and back",
});
await ray.shutdown();
