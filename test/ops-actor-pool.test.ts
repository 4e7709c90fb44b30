/**
 * `ActorPool`: a fixed set of actors, each given one item at a time; map
 * (in order), mapUnordered, submit/getNext(Unordered), hasNext/hasFree,
 * push/pop. The actors do real work: counting primes with a sieve they
 * keep and grow between calls.
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

class PrimeCounter {
  sieve = new Uint8Array(2);
  calls = 0;
  constructor(readonly label: string) {}
  /** Primes below `n`, with the label of the actor that counted them. */
  count(n: number): { n: number; primes: number; by: string } {
    this.calls++;
    if (n < 0) throw new RangeError(`cannot count primes below ${n}`);
    if (this.sieve.length < n) {
      this.sieve = new Uint8Array(n);
      for (let i = 2; i * i < n; i++) if (this.sieve[i] === 0) for (let j = i * i; j < n; j += i) this.sieve[j] = 1;
    }
    let primes = 0;
    for (let i = 2; i < n; i++) if (this.sieve[i] === 0) primes++;
    return { n, primes, by: this.label };
  }
  callCount(): number {
    return this.calls;
  }
}
const Counter = ray.remote(PrimeCounter);
type Handle = ray.ActorHandle<PrimeCounter>;

function primesBelow(n: number): number {
  let count = 0;
  for (let i = 2; i < n; i++) {
    let prime = true;
    for (let d = 2; d * d <= i; d++) if (i % d === 0) { prime = false; break; }
    if (prime) count++;
  }
  return count;
}

const inputs = Array.from({ length: 24 }, (_, index) => 5_000 + index * 997);
const expected = inputs.map((n) => primesBelow(n));
const count = (actor: Handle, n: number) => actor.count.remote(n);

function makePool(size: number): { pool: ray.ActorPool<Handle>; actors: Handle[] } {
  const actors = Array.from({ length: size }, (_, index) => Counter.remote(`a${index}`));
  return { pool: new ray.ActorPool(actors), actors };
}

test("map returns results in input order, computed across all the actors", async () => {
  const { pool, actors } = makePool(4);
  const results = [];
  for await (const result of pool.map(count, inputs)) results.push(result);
  assert.deepEqual(results.map((r) => r.n), inputs);
  assert.deepEqual(results.map((r) => r.primes), expected);
  // The first four items went to four different actors; every call was made exactly once.
  assert.equal(new Set(results.slice(0, 4).map((r) => r.by)).size, 4);
  const calls = await ray.get(actors.map((actor) => actor.callCount.remote()));
  assert.equal(calls.reduce((a, b) => a + b, 0), inputs.length);
  assert.equal(pool.hasNext(), false);
  for (const actor of actors) ray.kill(actor);
});

test("mapUnordered yields every result once, in any order; inputs are read lazily", async () => {
  const { pool, actors } = makePool(3);
  let read = 0;
  function* lazy(): Generator<number> {
    for (const n of inputs) {
      read++;
      yield n;
    }
  }
  const results: { n: number; primes: number }[] = [];
  for await (const result of pool.mapUnordered(count, lazy())) {
    // Never more items read than results taken plus actors busy.
    assert.ok(read <= results.length + 1 + 3, `read ${read} inputs with ${results.length} results taken`);
    results.push(result);
  }
  assert.deepEqual(results.map((r) => r.n).sort((a, b) => a - b), inputs);
  for (const r of results) assert.equal(r.primes, expected[inputs.indexOf(r.n)]);
  for (const actor of actors) ray.kill(actor);
});

test("submit queues beyond the free actors; getNext returns in submission order", async () => {
  const { pool, actors } = makePool(2);
  assert.equal(pool.hasFree(), true);
  for (const n of inputs.slice(0, 5)) pool.submit(count, n);
  assert.equal(pool.hasFree(), false);
  const results = [];
  while (pool.hasNext()) results.push(await pool.getNext<{ n: number; primes: number }>());
  assert.deepEqual(results.map((r) => r.primes), expected.slice(0, 5));
  assert.equal(pool.hasFree(), true);
  await assert.rejects(pool.getNext(), /no result is pending/);
  for (const actor of actors) ray.kill(actor);
});

test("getNextUnordered, then getNext skips what was already taken", async () => {
  const { pool, actors } = makePool(2);
  for (const n of inputs.slice(0, 4)) pool.submit(count, n);
  const first = await pool.getNextUnordered<{ n: number }>();
  const rest = [];
  while (pool.hasNext()) rest.push(await pool.getNext<{ n: number }>());
  assert.deepEqual([first, ...rest].map((r) => r.n).sort((a, b) => a - b), inputs.slice(0, 4));
  assert.deepEqual(rest.map((r) => r.n), inputs.slice(0, 4).filter((n) => n !== first.n));
  for (const actor of actors) ray.kill(actor);
});

test("a failing item rejects its getNext; the pool keeps working", async () => {
  const { pool, actors } = makePool(2);
  pool.submit(count, -1);
  pool.submit(count, 100);
  await assert.rejects(pool.getNext(), (error: unknown) => error instanceof ray.RayTaskError && /cannot count primes below -1/.test(error.message));
  assert.equal((await pool.getNext<{ primes: number }>()).primes, 25);
  const results = [];
  for await (const result of pool.map(count, [10, 20])) results.push(result.primes);
  assert.deepEqual(results, [4, 8]);
  for (const actor of actors) ray.kill(actor);
});

test("a map that fails or is left early leaves the pool usable for the next map", async () => {
  const { pool, actors } = makePool(2);
  await assert.rejects(async () => {
    for await (const _ of pool.map(count, [100, -1, 200, 300])) continue;
  }, (error: unknown) => error instanceof ray.RayTaskError && /cannot count primes below -1/.test(error.message));
  assert.equal(pool.hasNext(), false);
  const results = [];
  for await (const result of pool.map(count, [10, 20])) results.push(result.primes);
  assert.deepEqual(results, [4, 8]);
  for await (const result of pool.mapUnordered(count, inputs.slice(0, 6))) {
    assert.ok(expected.slice(0, 2).includes(result.primes));
    break;
  }
  assert.equal(pool.hasNext(), false);
  const again = [];
  for await (const result of pool.map(count, [30, 40, 50])) again.push(result.primes);
  assert.deepEqual(again, [10, 12, 15]);
  for (const actor of actors) ray.kill(actor);
});

test("push and pop change the pool; a pool without actors says so", async () => {
  const { pool, actors } = makePool(1);
  const only = pool.pop();
  assert.equal(only, actors[0]);
  assert.equal(pool.pop(), undefined);
  pool.submit(count, 30);
  assert.equal(pool.hasNext(), true);
  await assert.rejects(pool.getNext(), /the pool has none; push\(\) one/);
  pool.push(only as Handle);
  assert.equal((await pool.getNext<{ primes: number }>()).primes, 10);
  assert.throws(() => new ray.ActorPool(42 as never), /Expected `actors` to be an iterable of actor handles, got 42/);
  const empty = new ray.ActorPool<Handle>([]);
  await assert.rejects(async () => {
    for await (const _ of empty.map(count, [1])) assert.fail("no result expected");
  }, /the pool has no actors/);
  ray.kill(only as Handle);
});
