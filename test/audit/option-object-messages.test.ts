/**
 * An options value that is not an object is refused with a message that
 * reads: the call's options (`get()`), the task or actor options, a
 * method's options, or the named option (`concurrencyGroups`), never
 * "the options of task options".
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";

before(async () => {
  await ray.init({ numCpus: 1, includeDashboard: false });
});

after(async () => {
  await ray.shutdown();
});

class Plain {
  ping(): string {
    return "pong";
  }
}

test("a non-object options value names what it is the options of, once", () => {
  const id = ray.remote((x: number) => x);
  const Actor = ray.remote(Plain);
  const cases: [() => unknown, string][] = [
    [() => id.options(null as never), "Expected the task options to be an object, got null"],
    [() => ray.remote((x: number) => x, 5 as never), "Expected the task options to be an object, got 5"],
    [() => Actor.options([] as never), "Expected the actor options to be an object, got an array of length 0"],
    [() => Actor.options({ concurrencyGroups: "io" } as never), 'Expected `concurrencyGroups` to be an object, got "io"'],
    [() => Actor.options({ methodOptions: { ping: 1 } } as never), "Expected `methodOptions.ping` to be an object, got 1"],
    [() => Actor.remote().ping.options(true as never), "Expected the options of method ping to be an object, got true"],
    [() => ray.cancel(id.remote(1), null as never), "Expected the options of cancel() to be an object, got null"],
  ];
  for (const [call, message] of cases) assert.throws(call, { name: "TypeError", message });
});
