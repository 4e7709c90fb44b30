/**
 * Types that hold at run time: class instances are refused (at compile time
 * by the types, at run time with a SerializationError naming the argument and
 * the class) instead of arriving without their methods; the rayts API works
 * inside uncompiled tasks under the names its module imports it as; a
 * recursive task is typed through `this`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import * as rt from "../src/index.js";
import { get, put } from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

const norm = ray.remote((p: { x: number; y: number }) => Math.hypot(p.x, p.y));
const takesPoint = ray.remote((p: Point) => p.norm());

test("a class instance argument is refused at submit, naming the argument and the class", () => {
  assert.throws(() => norm.remote(new Point(3, 4)), (error: unknown) => {
    assert.ok(error instanceof ray.SerializationError, String(error));
    assert.match(error.message, /^Cannot send argument 0 of anonymous \(a Point\): it holds an instance of class Point, /);
    assert.match(error.message, /loses its prototype/);
    return true;
  });
  // @ts-expect-error a Point has methods: the types refuse it as they refuse it at run time
  assert.throws(() => takesPoint.remote(new Point(3, 4)), ray.SerializationError);
  assert.throws(() => norm.remote({ x: 1, y: 2, inner: [new Point(1, 1)] } as { x: number; y: number }), {
    name: "SerializationError",
    message: /instance of class Point \(at \.inner\[0\]\)/,
  });
  assert.throws(() => ray.put(new Point(1, 2)), { name: "SerializationError", message: /the value given to put\(\).*class Point/ });
});

test("plain data, built-ins, typed arrays and handles still travel", async () => {
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- sends the plain fields of an instance on purpose
  assert.equal(await ray.get(norm.remote({ ...new Point(3, 4) })), 5);
  const echo = ray.remote((v: unknown) => v);
  const value = { d: new Date(0), m: new Map([["k", new Set([1])]]), r: /x/g, a: new Float64Array([1]), e: new RangeError("r"), ref: ray.put(1) };
  const back = (await ray.get(echo.remote(value))) as typeof value;
  assert.ok(back.d instanceof Date && back.m instanceof Map && back.r instanceof RegExp && back.a instanceof Float64Array && back.e instanceof RangeError);
  assert.equal(await ray.get(back.ref), 1);
});

test("a class instance returned by a task is refused, naming the return value and the class", async () => {
  const makes = ray.remote(function makesPoint() {
    class Vec {
      x = 1;
      len(): number {
        return this.x;
      }
    }
    return new Vec();
  });
  const ref = makes.remote();
  await assert.rejects(ray.get(ref), { name: "SerializationError", message: /the return value of makesPoint \(a Vec\): it holds an instance of class Vec/ });
});

test("inside an uncompiled task the API works under the module's names: ray, a namespace alias, named imports", async () => {
  const viaAlias = ray.remote(async (x: number) => {
    const ref = rt.put(x * 2);
    return (await rt.get(ref)) + 1;
  });
  const viaNames = ray.remote(async (x: number) => (await get(put(x))) * 10);
  assert.deepEqual(await ray.get([viaAlias.remote(5), viaNames.remote(4)]), [11, 40]);
});

test("a recursive task calls itself through `this`, typed", async () => {
  const fib = ray.remote(async function (n: number): Promise<number> {
    if (n < 2) return n;
    const [a, b] = await ray.get([this.remote(n - 1), this.remote(n - 2)]);
    return a + b;
  });
  const ten: number = await ray.get(fib.remote(10));
  assert.equal(ten, 55);
});

test("a named task function has .remote on its own name at run time", async () => {
  const countdown = ray.remote(async function countdown(n: number): Promise<number> {
    if (n === 0) return 0;
    const self = countdown as unknown as ray.RemoteFunction<[number], number>;
    return 1 + (await ray.get(self.remote(n - 1)));
  });
  assert.equal(await ray.get(countdown.remote(5)), 5);
});
