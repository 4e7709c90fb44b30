/**
 * "Don't wait for every task before the next step; process one, pass one
 * on". Four tasks of random duration; each result needs a slow processing
 * step on the driver. Batch `get` waits for the slowest task first; the
 * `wait` loop (Ray's classic pattern) and `mapPipelined` process each result
 * as soon as it is ready. Durations are scaled down from the classic
 * example's 0-4 s.
 */
import * as ray from "../src/index.js";
import { mapPipelined } from "../src/index.js";
import { quick, report, timed } from "./support.js";

const scale = quick ? 0.25 : 1; // 1 => tasks 0..400 ms, processing 100 ms
const durations = [0.75, 0.2, 1, 0.45].map((f) => Math.round(f * 400 * scale)); // "random.uniform(0, 4)", fixed

// Sleeps stand for work (a task may return a Promise).
const doSomeWork = ray.remote((x: number, ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), ms)));
// mapPipelined maps one input to one task: the same work on an [x, ms] pair.
const doSomeWorkOn = ray.remote(([x, ms]: [number, number]) => new Promise<number>((resolve) => setTimeout(() => resolve(x), ms)));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function processIncremental(sum: number, result: number): Promise<number> {
  await sleep(100 * scale); // "Replace this with some processing code."
  return sum + result;
}

await ray.init({ numCpus: 4 });

const [serialSum, serialMs] = await timed(async () => {
  let sum = 0;
  for (const [x, ms] of durations.entries()) {
    await sleep(ms);
    sum = await processIncremental(sum, x);
  }
  return sum;
});

const [batchSum, batchMs] = await timed(async () => {
  const results = await ray.get(durations.map((ms, x) => doSomeWork.remote(x, ms)));
  let sum = 0;
  for (const r of results) sum = await processIncremental(sum, r);
  return sum;
});

const [waitSum, waitMs] = await timed(async () => {
  let resultIds = durations.map((ms, x) => doSomeWork.remote(x, ms));
  let sum = 0;
  while (resultIds.length > 0) {
    const [doneIds, rest] = await ray.wait(resultIds);
    sum = await processIncremental(sum, await ray.get(doneIds[0]!));
    resultIds = rest;
  }
  return sum;
});

const [mapSum, mapMs] = await timed(async () => {
  let sum = 0;
  for await (const r of mapPipelined(doSomeWorkOn, durations.map((ms, x): [number, number] => [x, ms]), { concurrency: 4 })) {
    sum = await processIncremental(sum, r);
  }
  return sum;
});

console.log("results:", { serial: serialSum, batchGet: batchSum, waitLoop: waitSum, mapPipelined: mapSum }); // all 6
report("serial", serialMs);
const serial = { name: "serial", ms: serialMs };
report("batch get, then process", batchMs, serial);
report("wait loop", waitMs, serial);
report("mapPipelined", mapMs, serial);
await ray.shutdown();
