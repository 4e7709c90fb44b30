/**
 * How `init()` finds the local driver runtime without importing it: the
 * runtime registers its constructor when its module loads (the package's
 * entry imports it), so the API module, which worker threads load too, does
 * not pull the driver's modules into every worker.
 */
import type { DriverBackend } from "./backend.js";
import type { Observation, ObservableRuntime } from "./events.js";
import type { ResolvedInitOptions } from "../api/options.js";

/** What `init()` needs of a local driver runtime. */
export interface LocalDriver extends DriverBackend, ObservableRuntime {
  ready(): Promise<void>;
  observation: Observation | undefined;
}

type DriverFactory = (options: ResolvedInitOptions) => LocalDriver;

let factory: DriverFactory | undefined;

/** Called once by runtime.ts when it loads. */
export function registerLocalDriver(make: DriverFactory): void {
  factory = make;
}

/** Starts a local driver runtime; throws where none is loaded (inside a worker thread). */
export function startLocalDriver(options: ResolvedInitOptions): LocalDriver {
  if (factory === undefined) throw new Error("the rayts driver runtime is not loaded in this thread: import rayts from the main thread to start it");
  return factory(options);
}
