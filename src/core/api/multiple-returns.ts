/**
 * `numReturns: N`: a task that returns an N-tuple gives N refs. Each ref is
 * the result of a small zero-CPU task that depends on the whole result and
 * picks one element out, so the refs work everywhere an ObjectRef does (as
 * arguments, in nested tasks), and an error of the task (or a result of the
 * wrong shape) reaches every one of them.
 */
import type { Backend } from "../runtime/backend.js";
import { state } from "../runtime/global-state.js";
import type { ObjectRef } from "./object-ref.js";
import type { FunctionDefinition } from "../protocol/protocol.js";
import { defineFunction } from "./remote-function.js";

/** The tuple of refs a call with `numReturns: N` returns, one per element of the function's result. */
export type ObjectRefTuple<R extends readonly unknown[]> = { -readonly [K in keyof R]: ObjectRef<R[K]> };

const PICK: FunctionDefinition = {
  kind: "source",
  name: "numReturns",
  source: `function pickReturn(values, index, count, name) {
  if (!Array.isArray(values) || values.length !== count) {
    const got = Array.isArray(values) ? "an array of " + values.length : values === null ? "null" : typeof values;
    throw new TypeError("Expected " + name + " to return an array of " + count + " values (numReturns: " + count + "), got " + got);
  }
  return values[index];
}`,
};

/** Id of the pick function in this thread's function table, defined on first use. */
let pickId: number | undefined;

function pickFunction(): number {
  if (pickId === undefined || state.functions.get(pickId) !== PICK) pickId = defineFunction(PICK);
  return pickId;
}

/** Splits the result `ref` of task `name` into `count` refs. */
export function splitReturns(backend: Backend, ref: ObjectRef<unknown>, count: number, name: string): ObjectRef<unknown>[] {
  const fn = pickFunction();
  const refs: ObjectRef<unknown>[] = [];
  for (let index = 0; index < count; index++) {
    refs.push(backend.submitTask(fn, [ref, index, count, name], { numCpus: 0, maxRetries: 0, retryExceptions: false, name: `${name}[${index}]` }));
  }
  return refs;
}
