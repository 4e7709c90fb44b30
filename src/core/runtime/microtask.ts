/**
 * Runs a callback in a microtask, as `queueMicrotask` does, for the paths
 * every task takes (the driver's tick, a worker's flush, the recorder's
 * clock). Node's `queueMicrotask` wraps each callback in an AsyncResource; a
 * reaction on a settled promise costs a fraction of that and runs in the
 * same queue, in the same order. A throw from the callback becomes an
 * unhandled rejection, which Node reports as an uncaught exception unless
 * the program handles rejections itself.
 */

const settled = Promise.resolve();

/** Calls `callback` in a microtask. */
export function microtask(callback: () => void): void {
  void settled.then(callback);
}
