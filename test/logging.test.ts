/**
 * `console.log` inside a task reaches the driver's stdout prefixed like
 * Ray's `(name pid=... worker=...)`; `console.error` goes to stderr.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./support/child.js";

const SCRIPT = String.raw`
import * as ray from "RAYTS";
await ray.init({ numCpus: 2 });
const square = ray.remote(function square(x: number) {
  console.log("squaring", x, { x });
  return x * x;
});
const warns = ray.remote((x: number) => {
  console.error("problem with", x);
  return x;
});
const Greeter = ray.remote(class Greeter {
  hello(who: string): string {
    console.log("hello", who);
    return who;
  }
});
console.log("RESULT", JSON.stringify(await ray.get([square.remote(3), square.remote(4)])));
await ray.get(square.options({ name: "renamed" }).remote(5));
await ray.get(warns.options({ name: "warner" }).remote(6));
const g = Greeter.remote();
await ray.get(g.hello.remote("world"));
await ray.shutdown();
`;

test("console output of tasks and actors reaches the driver with a (name pid=... worker=...) prefix", { timeout: 240_000 }, async () => {
  const result = await runScript("logging", SCRIPT, { timeoutMs: 200_000 });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const out = result.stdout.split("\n");
  assert.ok(out.includes("RESULT [9,16]"), result.stdout);
  const pid = "\\d+";
  const line3 = out.find((l) => /squaring 3/.test(l));
  assert.ok(line3 !== undefined, `no task output in stdout:\n${result.stdout}`);
  assert.match(line3, new RegExp(`^\\(square pid=${pid} worker=\\d+\\) squaring 3 \\{ x: 3 \\}$`));
  assert.ok(out.some((l) => new RegExp(`^\\(square pid=${pid} worker=\\d+\\) squaring 4`).test(l)), result.stdout);
  assert.ok(out.some((l) => new RegExp(`^\\(renamed pid=${pid} worker=\\d+\\) squaring 5 \\{ x: 5 \\}$`).test(l)), result.stdout);
  assert.ok(out.some((l) => /^\(Greeter pid=\d+ worker=\d+\) hello world$/.test(l)), result.stdout);
  // The pid is the process's pid: workers are threads of the driver process.
  const pids = new Set(out.filter((l) => l.startsWith("(")).map((l) => /pid=(\d+)/.exec(l)?.[1]));
  assert.equal(pids.size, 1);
  // stderr of tasks goes to the driver's stderr.
  assert.match(result.stderr, /^\(warner pid=\d+ worker=\d+\) problem with 6$/m);
  assert.doesNotMatch(result.stdout, /problem with/);
});
