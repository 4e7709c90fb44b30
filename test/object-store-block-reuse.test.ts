/**
 * Blocks of freed objects are reused (see src/core/store/block-pool.ts), and
 * a view handed out never changes while it is alive: random programs of
 * task results (typed arrays and ArrayBuffers, read or not), puts, gets,
 * views lent to a worker that keeps them, a worker returning the view it
 * was given, the driver putting a view it holds again, dropped refs and
 * views, and collections in every thread. After every step each view the
 * driver holds, and each the worker holds, still reads as the value it
 * was; and the worker did reuse blocks. Runs in a child process with
 * `--expose-gc` (the collections are what frees blocks); fast-check's seed
 * is printed, FC_SEED replays it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { seed } from "../property-tests/fc-config.js";
import { resultOf, runScript } from "./support/child.js";

const SCRIPT = String.raw`
import fc from "fast-check";
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
const seed = Number(process.env.FC_SEED);
const numRuns = Number(process.env.RUNS);
const KB = 1024;
const SIZES = [64 * KB, 128 * KB];

const pattern = (tag: number, j: number): number => (tag * 131 + j * 7) & 255;
/** Where a view differs from its value: -1 when it does not. */
const differs = (view: Uint8Array, tag: number, size: number): number => {
  if (view.length !== size) return size;
  for (let j = 0; j < size; j += 61) if (view[j] !== pattern(tag, j)) return j;
  return view[size - 1] === pattern(tag, size - 1) ? -1 : size - 1;
};
const fill = (size: number, tag: number): Uint8Array => {
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j++) out[j] = pattern(tag, j);
  return out;
};

await ray.init({ numCpus: 1 });
const make = ray.remote((size: number, tag: number, ab: boolean) => {
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j++) out[j] = (tag * 131 + j * 7) & 255;
  return ab ? out.buffer : out;
});
// The worker's own code keeps views it was given, and checks them later.
const hold = ray.remote((view: Uint8Array, tag: number) => {
  const held = ((globalThis as { held?: [Uint8Array, number][] }).held ??= []);
  held.push([view, tag]);
  return held.length;
});
const checkHeld = ray.remote(() => {
  const bad: number[] = [];
  for (const [view, tag] of (globalThis as { held?: [Uint8Array, number][] }).held ?? []) {
    for (let j = 0; j < view.length; j += 61) if (view[j] !== ((tag * 131 + j * 7) & 255)) { bad.push(tag); break; }
  }
  return bad;
});
const echo = ray.remote((view: Uint8Array) => view);
const collectWorker = ray.remote(() => { (globalThis as { gc?: () => void }).gc?.(); return 0; });
const reused = ray.remote(() => {
  const state = (globalThis as Record<symbol, { codec: { spareBlocks?: { stats(): { reused: number } } } }>)[Symbol.for("rayts.state")];
  return state?.codec.spareBlocks?.stats().reused ?? -1;
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

type Cmd =
  | { k: "result"; size: number; ab: boolean; view: boolean; ref: boolean }
  | { k: "put"; size: number; ref: boolean }
  | { k: "get" | "hold" | "echo" | "reput" | "dropRef" | "dropView"; i: number }
  | { k: "collect" };
const size = fc.constantFrom(...SIZES);
const index = fc.nat(20);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("result" as const), size, ab: fc.boolean(), view: fc.boolean(), ref: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("put" as const), size, ref: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom("get", "hold", "echo", "reput", "dropRef", "dropView"), i: index }) },
  { weight: 2, arbitrary: fc.constant({ k: "collect" as const }) },
);

let tag = 0;
let steps = 0;
await fc.assert(
  fc.asyncProperty(fc.array(cmd, { minLength: 5, maxLength: 40 }), async (cmds) => {
    const refs: { ref: ray.ObjectRef<Uint8Array | ArrayBuffer>; tag: number; size: number }[] = [];
    const views: { view: Uint8Array; tag: number; size: number }[] = [];
    const keep = (value: Uint8Array | ArrayBuffer, t: number, n: number) => views.push({ view: value instanceof Uint8Array ? value : new Uint8Array(value), tag: t, size: n });
    const check = async () => {
      for (const v of views) {
        const at = differs(v.view, v.tag, v.size);
        if (at >= 0) throw new Error("a view of object tag " + v.tag + " changed at byte " + at);
      }
      const bad = await ray.get(checkHeld.remote());
      if (bad.length > 0) throw new Error("views the worker holds changed: tags " + bad.join(", "));
    };
    for (const c of cmds) {
      steps++;
      switch (c.k) {
        case "result": {
          const t = ++tag;
          const ref = make.remote(c.size, t, c.ab);
          if (c.view) keep(await ray.get(ref), t, c.size);
          if (c.ref) refs.push({ ref, tag: t, size: c.size });
          break;
        }
        case "put": {
          const t = ++tag;
          const ref = ray.put(fill(c.size, t));
          if (c.ref) refs.push({ ref, tag: t, size: c.size });
          break;
        }
        case "get": {
          const r = refs[c.i % Math.max(1, refs.length)];
          if (r !== undefined) keep(await ray.get(r.ref), r.tag, r.size);
          break;
        }
        case "hold": {
          const r = refs[c.i % Math.max(1, refs.length)];
          if (r !== undefined) await ray.get(hold.remote(r.ref as ray.ObjectRef<Uint8Array>, r.tag));
          break;
        }
        case "echo": {
          const r = refs[c.i % Math.max(1, refs.length)];
          if (r !== undefined) refs.push({ ref: echo.remote(r.ref as ray.ObjectRef<Uint8Array>), tag: r.tag, size: r.size });
          break;
        }
        case "reput": {
          const v = views[c.i % Math.max(1, views.length)];
          if (v !== undefined) refs.push({ ref: ray.put(v.view), tag: v.tag, size: v.size });
          break;
        }
        case "dropRef":
          refs.splice(c.i % Math.max(1, refs.length), 1);
          break;
        case "dropView":
          views.splice(c.i % Math.max(1, views.length), 1);
          break;
        case "collect":
          for (let round = 0; round < 3; round++) {
            gc();
            await turn();
            await ray.get(collectWorker.remote());
          }
          break;
      }
      await check();
    }
  }),
  { seed, numRuns },
);
console.log("RESULT " + JSON.stringify({ steps, reused: await ray.get(reused.remote()) }));
await ray.shutdown();
`;

test("views handed out never change while blocks of freed objects are reused", { timeout: 300_000 }, async () => {
  console.log(`block reuse property: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  const run = await runScript("block-reuse", SCRIPT, {
    nodeArgs: ["--expose-gc"],
    timeoutMs: 280_000,
    env: { FC_SEED: String(seed), RUNS: "25" },
  });
  const out = resultOf<{ steps: number; reused: number }>(run);
  assert.ok(out.steps > 0);
  assert.ok(out.reused > 0, `the worker reused no block in ${out.steps} steps`);
});

/** The same 300 results of 64 KB, each read and dropped, with a collection every tenth. */
const LOOP = String.raw`
import * as ray from "RAYTS";
const gc = (globalThis as { gc?: () => void }).gc!;
await ray.init({ numCpus: 1 });
const make = ray.remote((size: number) => new Uint8Array(size).fill(7));
const reused = ray.remote(() => {
  const state = (globalThis as Record<symbol, { codec: { spareBlocks?: { stats(): { reused: number } } } }>)[Symbol.for("rayts.state")];
  return state?.codec.spareBlocks?.stats().reused ?? -1;
});
for (let i = 0; i < 300; i++) {
  const view = await ray.get(make.remote(64 * 1024));
  if (view[0] !== 7) throw new Error("result " + i + " reads " + view[0]);
  if (i % 10 === 9) { gc(); await new Promise((resolve) => setImmediate(resolve)); }
}
console.log("RESULT " + JSON.stringify({ reused: await ray.get(reused.remote()) }));
await ray.shutdown();
`;

test("RAYTS_BLOCK_REUSE=0 turns the reuse of result blocks off", { timeout: 120_000 }, async () => {
  const run = (env: NodeJS.ProcessEnv) => runScript("block-reuse-loop", LOOP, { nodeArgs: ["--expose-gc"], timeoutMs: 110_000, env });
  const [on, off] = await Promise.all([run({}), run({ RAYTS_BLOCK_REUSE: "0" })]);
  assert.ok(resultOf<{ reused: number }>(on).reused > 0, "with reuse on, the worker reused no block");
  assert.equal(resultOf<{ reused: number }>(off).reused, 0);
});
