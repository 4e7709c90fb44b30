/**
 * The first Ray program. A remote function squares four
 * numbers in parallel; four Counter actors are incremented once each.
 */
import * as ray from "../src/index.js";
import { quick, report, timed } from "./support.js";

const square = ray.remote((x: number) => x * x);

const Counter = ray.remote(
  class Counter {
    n = 0;
    increment(): void {
      this.n += 1;
    }
    read(): number {
      return this.n;
    }
  },
);

await ray.init({ numCpus: 2 });

const futures = [0, 1, 2, 3].map((i) => square.remote(i));
console.log("squares:", await ray.get(futures)); // [0, 1, 4, 9]

const counters = [0, 1, 2, 3].map(() => Counter.remote());
for (const c of counters) c.increment.remote();
console.log("counters:", await ray.get(counters.map((c) => c.read.remote()))); // [1, 1, 1, 1]
for (const c of counters) ray.kill(c);

// Squares are far too small to be worth a task: the figures show it.
const n = quick ? 2_000 : 20_000;
const [serial, serialMs] = await timed(() => Array.from({ length: n }, (_, i) => i * i));
const [parallel, parallelMs] = await timed(() => ray.get(Array.from({ length: n }, (_, i) => square.remote(i))));
console.log(`${n} squares equal:`, JSON.stringify(serial) === JSON.stringify(parallel));
report(`serial, ${n} squares`, serialMs);
report(`rayts tasks, ${n} squares`, parallelMs, { name: "serial", ms: serialMs }, {
  slowerBecause: "a square takes nanoseconds, and a task pays off only from a few microseconds of work (see the granularity benchmark)",
});
await ray.shutdown();
