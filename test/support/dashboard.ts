/** The local driver's dashboard, for tests that read it after `ray.init`. */
import assert from "node:assert/strict";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import { DriverRuntime } from "../../src/core/runtime/runtime.js";

/** The address of the local driver's dashboard, once it listens. */
export async function localDashboardUrl(): Promise<string> {
  const backend = threadState.backend;
  assert.ok(backend instanceof DriverRuntime, "a local driver runtime");
  await backend.observation?.ready;
  const url = backend.observation?.dashboardUrl;
  assert.ok(url !== undefined, "the dashboard listens");
  return url;
}
