/**
 * Runs a callback in a microtask, as `queueMicrotask` does, for the paths
 * every task takes (the driver's tick, a worker's flush). Node's
 * `queueMicrotask` wraps each callback in an AsyncResource; a reaction on a
 * settled promise costs a fraction of that and runs in the same queue, in
 * the same order. A throw still ends up an uncaught exception.
 */

const settled = Promise.resolve();

function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** Calls `callback` in a microtask; a throw from it is reported as uncaught. */
export function microtask(callback: () => void): void {
  void settled.then(callback).catch(rethrow);
}
