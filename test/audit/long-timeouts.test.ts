/**
 * Timeouts longer than a Node timer can hold (2^31 - 1 ms, about 24.8 days)
 * mean "no limit" rather than firing at once (Node clamps such a timer to
 * 1 ms): `get`, `wait` and `ActorPool.getNext` given `1e10` still wait.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { held, release, sharedInts, until } from "../support/shared.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

test("get, wait and ActorPool.getNext with a timeout past 2^31 - 1 ms wait for the result", async () => {
  const flags = await sharedInts();
  const first = held.remote(flags, 1);
  const second = held.remote(flags, 2);
  const got = ray.get(first, { timeout: 1e10 });
  const waited = ray.wait([second], { timeout: 2 ** 31 });
  await until(flags, 1, 2); // both tasks run, and block until released
  release(flags);
  assert.equal(await got, 1);
  const [ready] = await waited;
  assert.deepEqual(ready, [second]);

  const Echo = ray.remote(class Echo { echo(x: number) { return x; } });
  const pool = new ray.ActorPool([Echo.remote()]);
  pool.submit((actor, x: number) => actor.echo.remote(x), 7);
  assert.equal(await pool.getNext({ timeout: Number.MAX_SAFE_INTEGER }), 7);
});
