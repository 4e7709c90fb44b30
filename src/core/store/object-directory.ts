/**
 * Where the copies of each object live. In one process the object store
 * holds every object, and the directory records which worker threads hold a
 * copy of a shared block in their cache (lending.ts), so that dropping the
 * object tells exactly those threads to forget it. In a cluster the same
 * three operations name nodes instead of threads and are answered by Redis
 * (`addLocation`, `locations` and `dropLocations` of src/cluster's control
 * plane, asynchronous: see {@link AsyncObjectDirectory}).
 */

/** Locations of objects: who holds a copy of each. */
export interface ObjectDirectory<K, L> {
  /** Records that `location` holds a copy of `object`. */
  addLocation(object: K, location: L): void;
  /** Every location known to hold `object`, in the order they were added. */
  locations(object: K): readonly L[];
  /** Forgets the objects (freed); returns nothing, callers read `locations` first. */
  dropLocations(objects: readonly K[]): void;
}

/** The same directory answered by a remote service. */
export type AsyncObjectDirectory<K, L> = {
  [M in keyof ObjectDirectory<K, L>]: (...args: Parameters<ObjectDirectory<K, L>[M]>) => Promise<Awaited<ReturnType<ObjectDirectory<K, L>[M]>>>;
};

const NONE: readonly never[] = [];

/** The in-memory directory. */
export class LocalObjectDirectory<K, L> implements ObjectDirectory<K, L> {
  readonly #locations = new Map<K, L[]>();

  addLocation(object: K, location: L): void {
    const locations = this.#locations.get(object);
    if (locations === undefined) this.#locations.set(object, [location]);
    else locations.push(location);
  }

  locations(object: K): readonly L[] {
    return this.#locations.get(object) ?? NONE;
  }

  dropLocations(objects: readonly K[]): void {
    for (const object of objects) this.#locations.delete(object);
  }
}
