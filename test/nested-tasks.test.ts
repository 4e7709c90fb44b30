/**
 * Tasks that submit tasks and wait for them: a recursive tree deeper than
 * the worker count must not deadlock a pool of two workers.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { runScript } from "./support/child.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

type Tree = ray.RemoteFunction<[number, Tree], number>;

test("a recursive task tree of depth 6 on 2 workers completes", { timeout: 240_000 }, async () => {
  const tree: Tree = ray.remote(async (depth: number, self: Tree): Promise<number> => {
    if (depth === 0) return 1;
    const [left, right] = await ray.get([self.remote(depth - 1, self), self.remote(depth - 1, self)]);
    return left + right + 1;
  });
  assert.equal(await ray.get(tree.remote(6, tree)), 2 ** 7 - 1);
});

test("a linear chain of nested gets deeper than the pool completes", { timeout: 240_000 }, async () => {
  type Chain = ray.RemoteFunction<[number, Chain], number>;
  const chain: Chain = ray.remote(async (n: number, self: Chain): Promise<number> => {
    if (n === 0) return 0;
    return 1 + (await ray.get(self.remote(n - 1, self)));
  });
  assert.equal(await ray.get(chain.remote(8, chain)), 8);
});

test("a task can submit, wait for and pass on refs it made", { timeout: 240_000 }, async () => {
  const square = ray.remote((x: number) => x * x);
  const sum = ray.remote((...xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const fanOut = ray.remote(async (n: number, sq: typeof square, total: typeof sum) => {
    const refs = Array.from({ length: n }, (_, i) => sq.remote(i));
    const [ready] = await ray.wait(refs, { numReturns: n });
    return ray.get(total.remote(...ready));
  });
  assert.equal(await ray.get(fanOut.remote(5, square, sum)), 0 + 1 + 4 + 9 + 16);
});

test("a task can return a ref it made; the driver gets it", { timeout: 240_000 }, async () => {
  const inner = ray.remote((x: number) => x + 1);
  const outer = ray.remote((x: number, f: typeof inner) => [f.remote(x), put(x * 10)]);
  const [a, b] = await ray.get(outer.remote(1, inner));
  assert.ok(ray.isObjectRef(a));
  assert.ok(ray.isObjectRef(b));
  assert.deepEqual(await ray.get([a, b]), [2, 10]);
});

test("a task can define a remote function with remote() and call it", { timeout: 240_000 }, async () => {
  const maker = ray.remote(async (x: number) => {
    const inc = ray.remote((y: number) => y + 1);
    return ray.get(inc.remote(x));
  });
  assert.equal(await ray.get(maker.remote(1)), 2);
});

test("a remote function defined in a task and returned to the driver can be called there", { timeout: 240_000 }, async () => {
  // Run in a child process: the failure mode seen was an uncaught exception in the driver.
  const result = await runScript(
    "returned-remote-fn",
    `
import * as ray from "RAYTS";
await ray.init({ numCpus: 2 });
const makeTriple = ray.remote(() => ray.remote((y: number) => y * 3));
const triple = await ray.get(makeTriple.remote());
console.log("RESULT " + (await ray.get(triple.remote(5), { timeout: 60_000 })));
await ray.shutdown();
`,
    { timeoutMs: 200_000 },
  );
  assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.match(result.stdout, /RESULT 15/);
});

test("the pool still works after the nested work", async () => {
  const square = ray.remote((x: number) => x * x);
  assert.deepEqual(await ray.get([1, 2, 3].map((x) => square.remote(x))), [1, 4, 9]);
});

declare function put<T>(value: T): ray.ObjectRef<T>;
