/**
 * Soak: rounds that mix worker crashes, nested tasks, dropped results and
 * puts under a small `objectStoreMemory`. Every result must be right, no
 * call may hang, and once the program drops everything the store is back
 * to its baseline. Seeded: the seed is printed and can be set with
 * RAYTS_SOAK_SEED. Runs in a child process with --expose-gc, so the
 * driver's dropped refs can be collected at the end.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resultOf, runScript } from "./support/child.js";

const SEED = Number(process.env["RAYTS_SOAK_SEED"] ?? Date.now() % 1_000_000);

const SCRIPT = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
const MB = 1024 * 1024;
let seed = SEED_VALUE;
const random = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
await ray.init({ numCpus: 2, objectStoreMemory: 96 * MB });
const baseline = ray.objectStoreStats().numObjects;

/** flags[i] counts the runs of crash slot i; slot i kills its worker on its first run when asked to. */
const flags = await ray.get(ray.put(new Int32Array(4096)));
let nextSlot = 1;

const fill = ray.remote((flags: Int32Array, slot: number, crash: boolean, value: number, bytes: number) => {
  if (Atomics.add(flags, slot, 1) === 0 && crash) process.exit(1);
  return new Float64Array(bytes / 8).fill(value);
});
const sum = ray.remote((flags: Int32Array, slot: number, crash: boolean, data: Float64Array) => {
  if (Atomics.add(flags, slot, 1) === 0 && crash) process.exit(1);
  let total = 0;
  for (let i = 0; i < data.length; i++) total += data[i]!;
  return total;
});
const parent = ray.remote(
  async (flags: Int32Array, slots: number[], crashes: boolean[], values: number[], child: typeof fill, add: typeof sum) => {
    const refs = values.map((value, i) => child.remote(flags, slots[i]!, crashes[i]!, value, MB_VALUE));
    // Half the results are read here, half are summed by grandchildren; every ref is dropped after.
    let total = 0;
    for (let i = 0; i < refs.length; i++) {
      if (i % 2 === 0) total += (await ray.get(refs[i]!))[0]! * (MB_VALUE / 8);
      else total += await ray.get(add.remote(flags, 0, false, refs[i]!));
    }
    return total;
  },
);

const ROUNDS = 16;
let rounds = 0;
let checks = 0;
const wrong: string[] = [];
// Each round runs in its own function: a suspended async frame keeps the
// last values of its variables (here the last put's ref) until it returns.
const runRound = async (round: number): Promise<void> => {
  const work: Promise<void>[] = [];
  // Puts read by tasks that may crash once.
  for (let i = 0; i < 3; i++) {
    const value = 1 + random(50);
    const ref = ray.put(new Float64Array(MB / 8).fill(value));
    // A thread restart costs a fresh worker: a bounded number of crashes keeps the soak short.
    const crash = i === 0 && round % 4 === 1;
    work.push(ray.get(sum.options({ maxRetries: 2 }).remote(flags, nextSlot++, crash, ref)).then((total) => {
      checks++;
      if (total !== value * (MB / 8)) wrong.push("put sum " + total);
    }));
  }
  // Nested parents whose children may crash once (a crash also costs the parents parked on that thread a retry).
  for (let i = 0; i < 2; i++) {
    const n = 2 + random(3);
    const slots = Array.from({ length: n }, () => nextSlot++);
    const crashes = slots.map((_, k) => i === 0 && k === random(n) && round % 4 === 3);
    const values = slots.map(() => 1 + random(20));
    const expected = values.reduce((a, b) => a + b, 0) * (MB / 8);
    work.push(ray.get(parent.options({ maxRetries: 10 }).remote(flags, slots, crashes, values, fill, sum)).then((total) => {
      checks++;
      if (total !== expected) wrong.push("nested " + total + " != " + expected);
    }));
  }
  // Results dropped without being read.
  for (let i = 0; i < 4; i++) fill.remote(flags, 0, false, i, MB);
  await Promise.all(work);
  rounds++;
};
for (let round = 0; round < ROUNDS; round++) await runRound(round);

for (let i = 0; i < 300 && ray.objectStoreStats().numObjects > baseline; i++) {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 2));
}
const after = ray.objectStoreStats();
console.log("RESULT " + JSON.stringify({ rounds, checks, wrong: wrong.slice(0, 5), left: after.numObjects - baseline, bytes: after.bytesUsed }));
await ray.shutdown();
`;

test(`soak: crashes, nested tasks, drops and puts in a 96 MB store (seed ${SEED})`, { timeout: 120_000 }, async () => {
  const source = SCRIPT.replaceAll("SEED_VALUE", String(SEED)).replaceAll("MB_VALUE", String(1024 * 1024));
  const run = await runScript("soak", source, { nodeArgs: ["--expose-gc"], timeoutMs: 110_000 });
  const out = resultOf<{ rounds: number; checks: number; wrong: string[]; left: number; bytes: number }>(run);
  assert.equal(out.rounds, 16, `seed ${SEED}`);
  assert.equal(out.checks, 16 * 5, `seed ${SEED}`);
  assert.deepEqual(out.wrong, [], `seed ${SEED}`);
  // Back to the baseline: every dropped result and put is given back.
  assert.equal(out.left, 0, `seed ${SEED}: ${out.left} objects (${out.bytes} bytes) left`);
  assert.equal(out.bytes, 0, `seed ${SEED}: ${out.bytes} bytes left`);
});
