/**
 * `numReturns: N`: a task returning an N-tuple gives a typed tuple of N refs;
 * a result of the wrong shape, or the task's own error, reaches every ref;
 * the option is checked. The `@ts-expect-error` lines are part of the test:
 * `npm run typecheck` fails if the types stop refusing them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

const stats = ray.remote(
  (xs: number[]): [number, number, string] => {
    const sum = xs.reduce((a, b) => a + b, 0);
    return [sum, sum / xs.length, `n=${xs.length}`];
  },
  { numReturns: 3 },
);

test("a tuple result gives one typed ref per element", async () => {
  const refs = stats.remote([1, 2, 3, 6]);
  assert.equal(refs.length, 3);
  const [sum, mean, label] = refs;
  const typedSum: ray.ObjectRef<number> = sum;
  const typedLabel: ray.ObjectRef<string> = label;
  // @ts-expect-error the third element is a string
  const wrong: ray.ObjectRef<number> = label;
  assert.equal(wrong, label);
  assert.equal(await ray.get(typedSum), 12);
  assert.equal(await ray.get(mean), 3);
  assert.equal(await ray.get(typedLabel), "n=4");
  // Each ref is a plain ObjectRef: it can be an argument of another task.
  const double = ray.remote((x: number) => x * 2);
  assert.equal(await ray.get(double.remote(sum)), 24);
});

test("an async function's tuple is split too, and .options({ numReturns }) types the tuple", async () => {
  const minMax = ray.remote(async (xs: number[]): Promise<[number, number]> => [Math.min(...xs), Math.max(...xs)]);
  const [lo, hi] = minMax.options({ numReturns: 2 }).remote([4, 1, 9]);
  const typed: [ray.ObjectRef<number>, ray.ObjectRef<number>] = [lo, hi];
  assert.deepEqual(await ray.get(typed), [1, 9]);
  // numReturns: 1 keeps a single ref.
  const single: ray.ObjectRef<[number, number]> = minMax.options({ numReturns: 1 }).remote([2, 3]);
  assert.deepEqual(await ray.get(single), [2, 3]);
});

test("a result of the wrong arity fails every ref with an error naming the function and the count", async () => {
  const short = ray.remote(function pairOf(x: number): [number, number] {
    return [x] as unknown as [number, number];
  }, { numReturns: 2 });
  const refs = short.remote(1);
  for (const ref of refs) {
    await assert.rejects(ray.get(ref), (error: unknown) => {
      assert.ok(error instanceof ray.RayTaskError, String(error));
      assert.match(error.message, /Expected pairOf to return an array of 2 values \(numReturns: 2\), got an array of 1/);
      return true;
    });
  }
  const notArray = ray.remote(function scalar(): [number, number] {
    return 5 as unknown as [number, number];
  }, { numReturns: 2 });
  await assert.rejects(ray.get(notArray.remote()[1]), /Expected scalar to return an array of 2 values \(numReturns: 2\), got number/);
});

test("the task's own error reaches every ref", async () => {
  const throws = ray.remote(function broken(): [number, number] {
    throw new Error("no values today");
  }, { numReturns: 2 });
  const [a, b] = throws.remote();
  await assert.rejects(ray.get(a), /no values today/);
  await assert.rejects(ray.get(b), /no values today/);
});

test("numReturns is checked: a positive integer or \"streaming\"", () => {
  const fn = ray.remote((x: number) => [x, x]);
  for (const bad of [0, -1, 2.5, "2", Number.NaN, 2000]) {
    assert.throws(
      () => fn.options({ numReturns: bad as number }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^Expected `numReturns` to be an integer from 1 to 1024 or "streaming", got /);
        return true;
      },
    );
  }
  assert.throws(() => ray.remote((x: number) => [x], { numReturns: 0 }), /`numReturns`/);
});

test("an actor method with numReturns gives a tuple of refs", async () => {
  const Splitter = ray.remote(
    class Splitter {
      split(text: string): [string, string] {
        const at = text.indexOf(":");
        return [text.slice(0, at), text.slice(at + 1)];
      }
    },
  );
  const splitter = Splitter.remote();
  const [key, value] = splitter.split.options({ numReturns: 2 }).remote("a:b");
  const typed: ray.ObjectRef<string> = value;
  assert.deepEqual(await ray.get([key, typed]), ["a", "b"]);
  assert.throws(() => splitter.split.options({ numReturns: 0 }), /Expected `numReturns` to be an integer from 1 to 1024 or "streaming", got 0/);
  assert.throws(() => splitter.split.options({ retries: 1 } as never), /retries/);
});
