/**
 * Timers owned by the actors of a shared thread. A killed or retired actor
 * must stop its background work (an interval set in its constructor, a
 * polling loop of timeouts) even though its thread lives on for the other
 * actors. The thread's timer functions are wrapped: a timer set while an
 * actor's code runs synchronously (a constructor, a call, or one of its own
 * timer callbacks, so chains of timers stay owned) belongs to that actor and
 * is cleared when the actor goes. Timers set after an `await` in a call are
 * not attributed; an actor that needs them stopped takes a dedicated thread.
 */

type Owner = { readonly timers: Map<unknown, Clear> };
type Clear = (handle: unknown) => void;

/** Attribution of timers to the actor whose code is running. */
export class ActorTimers {
  #current: Owner | undefined;
  #installed = false;

  /** Runs `body` with `owner` as the owner of the timers it sets. */
  run<T>(owner: Owner, body: () => T): T {
    this.#install();
    const previous = this.#current;
    this.#current = owner;
    try {
      return body();
    } finally {
      this.#current = previous;
    }
  }

  /** Clears every timer the owner set and that has not fired (or, for intervals, been cleared). */
  clear(owner: Owner): void {
    for (const [handle, clear] of owner.timers) clear(handle);
    owner.timers.clear();
  }

  #install(): void {
    if (this.#installed) return;
    this.#installed = true;
    const scope = globalThis as unknown as Record<string, unknown>;
    type Schedule = (callback: (...args: unknown[]) => void, ...rest: unknown[]) => unknown;
    const wrap = (name: "setTimeout" | "setInterval" | "setImmediate", once: boolean, clear: Clear): void => {
      const original = scope[name] as Schedule;
      const wrapped = (callback: unknown, ...rest: unknown[]): unknown => {
        const owner = this.#current;
        if (owner === undefined || typeof callback !== "function") return original(callback as () => void, ...rest);
        let handle: unknown;
        // eslint-disable-next-line prefer-const -- declared before the call so the callback can name the handle it returns
        handle = original(function (this: unknown, ...args: unknown[]) {
          if (once) owner.timers.delete(handle);
          timers.run(owner, () => (callback as (...a: unknown[]) => void).apply(this, args));
        }, ...rest);
        owner.timers.set(handle, clear);
        return handle;
      };
      Object.defineProperty(wrapped, "name", { value: name });
      // Keeps `util.promisify(setTimeout)` and the like working: they read symbols off the function.
      for (const key of Object.getOwnPropertySymbols(original)) {
        Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(original, key) as PropertyDescriptor);
      }
      scope[name] = wrapped;
    };
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the scheduled callbacks keep their own `this` for the user's callback
    const timers = this;
    // An owner forgets a timer its own code clears, so the map does not grow.
    const forget = (name: "clearTimeout" | "clearInterval" | "clearImmediate"): Clear => {
      const original = scope[name] as Clear;
      scope[name] = (handle: unknown) => {
        this.#current?.timers.delete(handle);
        original(handle);
      };
      return original;
    };
    wrap("setTimeout", true, forget("clearTimeout"));
    wrap("setInterval", false, forget("clearInterval"));
    wrap("setImmediate", true, forget("clearImmediate"));
  }
}
