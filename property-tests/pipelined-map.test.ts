/**
 * mapPipelined equals Array.map (as a multiset, or exactly with ordered),
 * never has more than `concurrency` tasks running (instrumented in shared
 * memory), and an early break leaves no task running.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import * as ray from "../src/index.js";
import { mapPipelined } from "../src/ops/index.js";
import { params } from "./fc-config.js";
import { eventually } from "../test/support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const sortNumbers = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** Deterministic result, random finishing order: a short, input-dependent sleep. */
const jittered = async (x: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, Math.abs(x) % 3));
  return 3 * x + 1;
};
const f = (x: number): number => 3 * x + 1;

/**
 * The probe: one Int32Array in store memory, shared by the driver and every
 * worker (deliberately ignoring immutability). Slots 0..3 are counters
 * [running, max running, started, finished]; slot 4 + i holds i, and item i
 * is the one-slot view `subarray(4 + i, 5 + i)`, which reaches the task with
 * no copy, so the task counts itself synchronously, before anything else.
 */
const HEADER = 4;
const probed = (item: Int32Array): number => {
  const i = item[0]!;
  const c = new Int32Array(item.buffer, item.byteOffset - 4 * (4 + i), 4);
  Atomics.add(c, 2, 1);
  const now = Atomics.add(c, 0, 1) + 1;
  let max = Atomics.load(c, 1);
  while (now > max) {
    const seen = Atomics.compareExchange(c, 1, max, now);
    if (seen === max) break;
    max = seen;
  }
  const end = performance.now() + (i % 3);
  while (performance.now() < end);
  Atomics.sub(c, 0, 1);
  Atomics.add(c, 3, 1);
  return i;
};

/** A probe for up to `n` items: the counters and the items' views. */
async function probe(n: number): Promise<{ counters: Int32Array; item: (i: number) => Int32Array }> {
  const memory = new Int32Array(HEADER + n);
  for (let i = 0; i < n; i++) memory[HEADER + i] = i;
  const shared = await ray.get(ray.put(memory));
  return { counters: shared.subarray(0, HEADER), item: (i) => shared.subarray(HEADER + i, HEADER + i + 1) };
}

/**
 * Waits until no probed task runs and the runtime has every CPU slot free
 * again. A task already handed to a worker when it was cancelled may still
 * run (a soft cancel abandons it); the slot is freed only once it is done.
 */
async function settled(counters: Int32Array): Promise<void> {
  const total = ray.clusterResources()["CPU"];
  await eventually(() => Atomics.load(counters, 0) === 0 && ray.availableResources()["CPU"] === total, "the probed tasks to settle");
}

const inputs = fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 40 });
const concurrency = fc.integer({ min: 1, max: 4 });

test("unordered results equal the map as a multiset", async () => {
  await fc.assert(
    fc.asyncProperty(inputs, concurrency, async (xs, c) => {
      const out: number[] = [];
      for await (const y of mapPipelined(jittered, xs, { concurrency: c })) out.push(y);
      assert.deepEqual(sortNumbers(out), sortNumbers(xs.map(f)));
    }),
    params(25),
  );
});

test("ordered results equal the map exactly, from sync or async inputs", async () => {
  await fc.assert(
    fc.asyncProperty(inputs, concurrency, fc.boolean(), async (xs, c, streamed) => {
      async function* stream(): AsyncGenerator<number> {
        for (const x of xs) {
          await new Promise((resolve) => setImmediate(resolve));
          yield x;
        }
      }
      const out: number[] = [];
      for await (const y of mapPipelined(jittered, streamed ? stream() : xs, { concurrency: c, ordered: true })) out.push(y);
      assert.deepEqual(out, xs.map(f));
    }),
    params(25),
  );
});

test("never more than `concurrency` tasks in flight", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (n, c, ordered) => {
      const { counters: view, item } = await probe(n);
      let pulled = 0;
      let yielded = 0;
      let maxAhead = 0;
      function* items(): Generator<Int32Array> {
        for (let i = 0; i < n; i++) {
          pulled++;
          maxAhead = Math.max(maxAhead, pulled - yielded);
          yield item(i);
        }
      }
      const seen: number[] = [];
      for await (const i of mapPipelined(probed, items(), { concurrency: c, ordered })) {
        yielded++;
        seen.push(i);
      }
      assert.equal(Atomics.load(view, 2), n, "every task ran once (the probe works)");
      assert.ok(Atomics.load(view, 1) <= c, `${Atomics.load(view, 1)} tasks ran at once with concurrency ${c}`);
      // Taken from the input and not yet handed out: c, or 2c when reordering.
      assert.ok(maxAhead <= (ordered ? 2 * c : c), `${maxAhead} items taken ahead with concurrency ${c}`);
      assert.deepEqual(sortNumbers(seen), Array.from({ length: n }, (_, i) => i));
    }),
    params(15),
  );
});

test("an early break leaves no task running and starts none later", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), async (stopAfter, c, ordered) => {
      const limit = 64; // far more than can be pulled: stopAfter + 2 concurrency at most
      const { counters: view, item } = await probe(limit);
      function* endless(): Generator<Int32Array> {
        for (let i = 0; ; i++) {
          if (i === limit) throw new Error(`pulled ${limit} items for ${stopAfter} results`);
          yield item(i);
        }
      }
      let got = 0;
      for await (const _ of mapPipelined(probed, endless(), { concurrency: c, ordered })) {
        if (++got === stopAfter) break;
      }
      await settled(view);
      assert.equal(Atomics.load(view, 0), 0, "no task is left running");
      assert.equal(ray.availableResources()["CPU"], ray.clusterResources()["CPU"], "every CPU slot is free again");
      const started = Atomics.load(view, 2);
      assert.ok(started <= stopAfter + (ordered ? 2 * c : c), `${started} tasks started for ${stopAfter} results`);
      // Every CPU slot is free: no task is left on a worker, so none can start later.
      assert.equal(Atomics.load(view, 2), started, "no cancelled task started after the break");
    }),
    params(12),
  );
});
