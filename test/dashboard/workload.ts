/** Remote functions the dashboard tests share: one that succeeds, one that always fails, one that fails once. */
import * as ray from "../../src/index.js";

export const double = ray.remote((x: number) => x * 2, { name: "double" });

export const fails = ray.remote(
  (x: number) => {
    throw new Error(`bad input ${x}`);
  },
  { name: "fails" },
);

/** Throws on its first attempt (counted in flags[2]), then returns. */
export const flaky = ray.remote(
  (flags: Int32Array) => {
    if (Atomics.add(flags, 2, 1) === 0) throw new Error("first attempt fails");
    return "second attempt";
  },
  { name: "flaky" },
);
