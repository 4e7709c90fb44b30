/**
 * Process-wide state shared by every copy of the rayts module in a thread.
 *
 * A program can load rayts twice in one thread (its sources through a
 * TypeScript loader and the built package through a compiled task module);
 * both copies must see one runtime and one id counter, so the state hangs
 * off `globalThis` under a registered symbol rather than a module variable.
 */
import type { FunctionDefinition } from "./protocol.js";
import type { Backend } from "./backend.js";
import type { ObserveHook } from "./events.js";

interface GlobalState {
  backend: Backend | undefined;
  /** Starts a driver runtime with defaults; set by the driver API module. */
  autoInit: (() => Backend) | undefined;
  /** Starts the state recorder and dashboard of a new driver runtime; set by the dashboard module. */
  observe: ObserveHook | undefined;
  /** Every remote function defined in this thread, by id. */
  readonly functions: Map<number, FunctionDefinition>;
  /**
   * One 64-bit counter shared by the driver and all its workers: object,
   * task, function and actor ids come from it, so a worker can name a new
   * object without a round trip to the driver.
   */
  ids: BigInt64Array;
}

const KEY = Symbol.for("rayts.state");

function create(): GlobalState {
  return { backend: undefined, autoInit: undefined, observe: undefined, functions: new Map(), ids: new BigInt64Array(new SharedArrayBuffer(8)) };
}

const holder = globalThis as unknown as { [KEY]?: GlobalState };
/** The state of this thread. */
export const state: GlobalState = holder[KEY] ?? (holder[KEY] = create());

/** A fresh id, unique across the driver and its workers. */
export function nextId(): number {
  return Number(Atomics.add(state.ids, 0, 1n)) + 1;
}

/** Makes this thread draw ids from the driver's counter. */
export function adoptIdCounter(buffer: SharedArrayBuffer): void {
  state.ids = new BigInt64Array(buffer);
}

/** The runtime of this thread, initialising the driver with defaults on first use (as Ray >= 1.5 does). */
export function currentBackend(): Backend {
  const backend = state.backend;
  if (backend !== undefined) return backend;
  if (state.autoInit === undefined) throw new Error("rayts runtime is not available in this thread");
  return state.autoInit();
}
