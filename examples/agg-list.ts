/**
 * Reduce implementations. `reduce` folds left to right (O(n^2) for list
 * concatenation), `aggList` folds pairwise in O(log n) levels,
 * `aggListDistributed` folds chunks on the workers. The classic check:
 * agg_list_with_ray(add, range(10000)) == reduce(add, range(10000)).
 */
import * as ray from "../src/index.js";
import { aggList, aggListDistributed } from "../src/index.js";
import { quick, report, timed } from "./support.js";

await ray.init({ numCpus: 2 });

const add = (x: number, y: number): number => x + y;
const range = Array.from({ length: 10_000 }, (_, i) => i);
const distributedSum = await aggListDistributed(add, range);
console.log("aggListDistributed(add, range(10000)) =", distributedSum, "== reduce:", distributedSum === range.reduce(add)); // 49995000

const concat = (x: number[], y: number[]): number[] => x.concat(y);
const pairs = quick ? 5_000 : 100_000;
const testList: number[][] = [];
for (let i = 0; i < pairs; i++) testList.push([1], [2]);

const [viaAggList, aggMs] = await timed(() => aggList(concat, testList));
const [viaDistributed, distMs] = await timed(() => aggListDistributed(concat, testList));
// reduce is quadratic here (tens of seconds on the whole list): time it on a slice.
const sliceLength = quick ? 2_000 : 10_000;
const [, reduceMs] = await timed(() => testList.slice(0, sliceLength).reduce(concat));

console.log(`[[1],[2]] * ${pairs}: ${viaAggList.length} items, results equal:`, JSON.stringify(viaAggList) === JSON.stringify(viaDistributed));
report(`reduce (first ${sliceLength} lists only)`, reduceMs);
report(`aggList, ${testList.length} lists`, aggMs);
report(`aggListDistributed, ${testList.length} lists`, distMs, { name: "aggList (the serial tree fold)", ms: aggMs });
const decision = ray.lastAggListDecision();
if (decision?.kind === "local") {
  console.log("  (aggListDistributed chose to fold locally: concatenating is about as cheap as sending the lists to a worker)");
}
await ray.shutdown();
