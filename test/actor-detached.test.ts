/**
 * `lifetime: "detached"`: an actor no handle can reach is kept (until
 * `kill` or `shutdown`), where a default one is stopped. All actors share
 * one thread here, so a probe actor on it can tell, by timer order, whether
 * an actor's 1 ms interval still runs. (Runs in a child process with --expose-gc.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = `
import * as ray from "RAYTS";
await ray.init({ numCpus: 1 });
const Ticker = ray.remote(class Ticker {
  constructor(flags, slot) { if (slot >= 0) setInterval(() => Atomics.add(flags, slot, 1), 1); }
  ping() { return "pong"; }
  // Timers on one thread fire in order of expiry: a live 1 ms interval ticks during a 5 ms timeout set after it.
  async ticksDuring(flags, slot) {
    const before = Atomics.load(flags, slot);
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    return Atomics.load(flags, slot) > before;
  }
});
const flags = new Int32Array(new SharedArrayBuffer(8));
const probe = Ticker.remote(flags, -1);
let collected = 0;
const registry = new FinalizationRegistry(() => collected++);
// The detached handle goes first, so the runtime hears of it before it hears of the plain one.
(() => {
  const detached = Ticker.options({ lifetime: "detached" }).remote(flags, 1);
  registry.register(detached, "detached");
  void ray.get(detached.ping.remote());
})();
while (collected < 1) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
(() => {
  const plain = Ticker.remote(flags, 0);
  registry.register(plain, "plain");
  void ray.get(plain.ping.remote());
})();
while (collected < 2) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
// Both handles are unreachable now: wait (collecting) until the runtime has retired the plain actor, whose interval then stops.
let rounds = 0;
while (await ray.get(probe.ticksDuring.remote(flags, 0))) {
  if (++rounds > 500) throw new Error("the plain actor was never retired");
  globalThis.gc();
}
const detachedTicks = await ray.get(probe.ticksDuring.remote(flags, 1));
console.log(JSON.stringify({ detachedTicks, registry: typeof registry }));
await ray.shutdown();
`;

test("a detached actor lives on when no handle can reach it; a default one is stopped", { timeout: 60_000 }, async () => {
  const result = await runScript("actor-detached", SCRIPT, { timeoutMs: 45_000, nodeArgs: ["--expose-gc"] });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout.trim().split("\n").pop() ?? ""), { detachedTicks: true, registry: "object" });
});
