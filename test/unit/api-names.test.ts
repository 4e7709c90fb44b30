/**
 * One list of API names: the package entry exports exactly the listed
 * values, and every name a task sees in scope is a function of the public
 * API, the same one the entry exports.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "../../src/index.js";
import * as core from "../../src/core/index.js";
import { NAMESPACE_NAME, PUBLIC_VALUE_NAMES, TASK_SCOPE_API, TASK_SCOPE_NAMES } from "../../src/core/api/api-names.js";
import { RUNTIME_SCOPE_NAMES } from "../../src/compiler/classify-captures.js";

test("the package entry exports exactly the listed values", () => {
  assert.deepEqual(Object.keys(ray).sort(), [...PUBLIC_VALUE_NAMES].sort());
});

test("every name in a task's scope is a public API function, the same in both barrels", () => {
  for (const name of TASK_SCOPE_API) {
    assert.equal(typeof ray[name], "function", name);
    assert.equal(ray[name], core[name], name);
  }
  assert.deepEqual(TASK_SCOPE_NAMES, [NAMESPACE_NAME, ...TASK_SCOPE_API]);
});

test("the compiler treats as provided exactly the names the worker puts in scope", () => {
  assert.deepEqual([...RUNTIME_SCOPE_NAMES], [...TASK_SCOPE_NAMES]);
});
