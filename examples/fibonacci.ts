/**
 * The fibonacci sequence (BigInt terms, like Python's ints), once per CPU,
 * serially and as one task per CPU.
 */
import { availableParallelism } from "node:os";
import * as ray from "../src/index.js";
import { quick, report, timedMedian } from "./support.js";

function generateFibonacci(sequenceSize: number): number {
  const fibonacci: bigint[] = [];
  for (let i = 0; i < sequenceSize; i++) {
    if (i < 2) {
      fibonacci.push(BigInt(i));
      continue;
    }
    fibonacci.push(fibonacci[i - 1]! + fibonacci[i - 2]!);
  }
  return fibonacci.length;
}

// generateFibonacci is self-contained, so it ships as is, compiled or not.
const generateFibonacciDistributed = ray.remote(generateFibonacci);

const cpus = availableParallelism();
await ray.init({ numCpus: cpus });
const SEQUENCE_SIZE = quick ? 20_000 : 100_000;

const ROUNDS = quick ? 1 : 3;
// One untimed task per worker first: each worker loads and compiles the function.
await ray.get(Array.from({ length: cpus }, () => generateFibonacciDistributed.remote(1000)));
const [local, serialMs, serialTiming] = await timedMedian(
  ROUNDS,
  () => Array.from({ length: cpus }, () => generateFibonacci(SEQUENCE_SIZE)),
  `serial: ${cpus} x fibonacci(${SEQUENCE_SIZE})`,
);
const [remote, remoteMs, remoteTiming] = await timedMedian(
  ROUNDS,
  () => ray.get(Array.from({ length: cpus }, () => generateFibonacciDistributed.remote(SEQUENCE_SIZE))),
  `rayts: ${cpus} tasks`,
);
console.log("sequence lengths:", local, remote);
report(`Serial :: fibonacci sequence ${SEQUENCE_SIZE}`, serialMs);
report(`Distributed :: fibonacci sequence ${SEQUENCE_SIZE}`, remoteMs, { name: "serial", ms: serialMs, timing: serialTiming }, {
  timing: remoteTiming,
  slowerBecause:
    "each task allocates some hundred megabytes of BigInts, so its time goes to allocation and garbage collection, " +
    "which share the machine's memory bandwidth and scale worse than arithmetic",
});
await ray.shutdown();
