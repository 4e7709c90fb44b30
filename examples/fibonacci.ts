/**
 * Seed 003: the fibonacci sequence (BigInt terms, like Python's ints), once
 * per CPU, serially and as one task per CPU.
 */
import { availableParallelism } from "node:os";
import * as ray from "../src/index.js";
import { quick, report, timed } from "./support.js";

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

const [local, serialMs] = await timed(() => Array.from({ length: cpus }, () => generateFibonacci(SEQUENCE_SIZE)));
const [remote, remoteMs] = await timed(() => ray.get(Array.from({ length: cpus }, () => generateFibonacciDistributed.remote(SEQUENCE_SIZE))));
console.log("sequence lengths:", local, remote);
report(`Serial :: fibonacci sequence ${SEQUENCE_SIZE}`, serialMs);
report(`Distributed :: fibonacci sequence ${SEQUENCE_SIZE}`, remoteMs, serialMs);
await ray.shutdown();
