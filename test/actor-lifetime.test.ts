/**
 * As in Ray, an unnamed actor that no handle can reach any more is stopped
 * once the calls it was given have finished; named actors and actors whose
 * handle was passed to a task live until `kill` or `shutdown`.
 * (Runs in a child process with --expose-gc.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = `
import * as ray from "RAYTS";
await ray.init({ numCpus: 1 });
const gc = globalThis.gc;
const Ticker = ray.remote(class Ticker {
  constructor(flags, slot) { setInterval(() => Atomics.add(flags, slot, 1), 2); }
  ping() { return "pong"; }
});
const flags = new Int32Array(new SharedArrayBuffer(32));
// Slot 4 is a reference actor that stays alive: "alive" and "stopped" are read
// against its ticks, never against a wall-clock window.
const reference = Ticker.remote(flags, 4);
await ray.get(reference.ping.remote());
const referenceTicks = async (n) => { const a = Atomics.load(flags, 4); while (Atomics.load(flags, 4) < a + n) await new Promise((r) => setTimeout(r, 1)); };
// Alive: it ticks before the reference has ticked 500 times.
const ticking = async (slot) => {
  const a = Atomics.load(flags, slot), r = Atomics.load(flags, 4);
  while (Atomics.load(flags, slot) === a && Atomics.load(flags, 4) < r + 500) await new Promise((res) => setTimeout(res, 1));
  return Atomics.load(flags, slot) > a;
};
// Stopped: after a collection, it does not tick while the reference ticks 25 times (up to 200 rounds).
const stopped = async (slot) => {
  for (let round = 0; round < 200; round++) {
    gc();
    const a = Atomics.load(flags, slot);
    await referenceTicks(25);
    if (Atomics.load(flags, slot) === a) return true;
  }
  return false;
};

// 0: dropped right after a call; 1: kept; 2: named and dropped; 3: handle passed to a task, then dropped.
const reply = await (async () => { const t = Ticker.remote(flags, 0); return ray.get(t.ping.remote()); })();
const kept = Ticker.remote(flags, 1);
await ray.get(kept.ping.remote());
await (async () => { const t = Ticker.options({ name: "named-ticker" }).remote(flags, 2); await ray.get(t.ping.remote()); })();
const look = ray.remote((handle) => typeof handle.ping.remote);
// Pinged first, as the others: the actor is constructed (ticking) before its handle goes to the task.
await (async () => { const t = Ticker.remote(flags, 3); await ray.get(t.ping.remote()); await ray.get(look.remote(t)); })();
const dropped = !(await stopped(0));
console.log(JSON.stringify({ reply, dropped, kept: await ticking(1), named: await ticking(2), exported: await ticking(3) }));
await ray.shutdown();
`;

// Long guards, not windows: on a loaded 2-core machine starting five actor threads alone can take a minute.
test("an actor no handle can reach is stopped; kept, named and exported ones live on", { timeout: 240_000 }, async () => {
  const result = await runScript("actor-lifetime", SCRIPT, { timeoutMs: 200_000, nodeArgs: ["--expose-gc"] });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout.trim().split("\n").pop() ?? ""), { reply: "pong", dropped: false, kept: true, named: true, exported: true });
});
