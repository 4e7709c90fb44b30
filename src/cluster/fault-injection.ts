/**
 * Fault injection for tests, as Ray's `RAY_testing_rpc_failure`: the
 * environment variable `RAYTS_TESTING_RPC_FAILURE` makes a fraction of the
 * message batches between processes (tasks from owners to nodes, results
 * from nodes to owners) fail or arrive late. A failed send is retried by its
 * sender after a short backoff, as a failed RPC is; batches from one sender
 * stay in order. Syntax: comma-separated `drop=P`, `delay=P:MS`, `seed=N`,
 * e.g. `drop=0.2,delay=0.3:40,seed=7`.
 */
import { RayError } from "../core/api/errors.js";

/** Failure thrown for a dropped batch; senders retry on it. */
export class InjectedFailure extends RayError {}

/** Backoff before a dropped batch is sent again. */
export const RETRY_BACKOFF_MS = 10;

export interface FaultSpec {
  /** Fraction of batches that fail (0..1). */
  readonly drop: number;
  /** Fraction of batches that wait `delayMs` first (0..1). */
  readonly delay: number;
  readonly delayMs: number;
  readonly seed: number;
}

function fraction(text: string, what: string, spec: string): number {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new RangeError(`Expected ${what} in RAYTS_TESTING_RPC_FAILURE to be a fraction between 0 and 1, got "${text}" in "${spec}"`);
  return value;
}

/** Parses the variable's text; an unknown or malformed part is an error naming it. */
export function parseFaultSpec(spec: string): FaultSpec {
  let drop = 0;
  let delay = 0;
  let delayMs = 0;
  let seed = 1;
  for (const part of spec.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const [key, value = ""] = part.split("=");
    if (key === "drop") drop = fraction(value, "drop", spec);
    else if (key === "delay") {
      const [p = "", ms = ""] = value.split(":");
      delay = fraction(p, "delay", spec);
      delayMs = Number(ms);
      if (!(delayMs >= 0)) throw new RangeError(`Expected delay=P:MS in RAYTS_TESTING_RPC_FAILURE with MS a number of milliseconds, got "${part}"`);
    } else if (key === "seed") seed = Number(value) >>> 0 || 1;
    else throw new RangeError(`Expected RAYTS_TESTING_RPC_FAILURE parts drop=P, delay=P:MS or seed=N, got "${part}"`);
  }
  return { drop, delay, delayMs, seed };
}

/** Decides the fate of each batch (a seeded generator, so a run can be replayed). */
export class FaultInjector {
  readonly spec: FaultSpec;
  #state: number;
  dropped = 0;
  delayed = 0;

  constructor(spec: FaultSpec) {
    this.spec = spec;
    this.#state = spec.seed;
  }

  /** The injector of this process, or undefined when the variable is unset. */
  static fromEnv(): FaultInjector | undefined {
    const spec = process.env["RAYTS_TESTING_RPC_FAILURE"];
    return spec === undefined || spec === "" ? undefined : new FaultInjector(parseFaultSpec(spec));
  }

  #random(): number {
    // mulberry32
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Before a batch leaves: waits when delayed, throws {@link InjectedFailure} when dropped. */
  async before(what: string): Promise<void> {
    if (this.spec.delay > 0 && this.#random() < this.spec.delay) {
      this.delayed++;
      await new Promise((resolve) => setTimeout(resolve, this.spec.delayMs));
    }
    if (this.spec.drop > 0 && this.#random() < this.spec.drop) {
      this.dropped++;
      throw new InjectedFailure(`injected failure of ${what} (RAYTS_TESTING_RPC_FAILURE)`);
    }
  }
}

/**
 * Sends batches in order through `injector`: each `send` runs after the
 * previous one, and a dropped one is retried after a backoff.
 */
export class FaultySender {
  readonly #injector: FaultInjector;
  #chain: Promise<void> = Promise.resolve();

  constructor(injector: FaultInjector) {
    this.#injector = injector;
  }

  send(what: string, write: () => Promise<unknown>, onError: (error: unknown) => void): void {
    this.#chain = this.#chain.then(async () => {
      for (;;) {
        try {
          await this.#injector.before(what);
          await write();
          return;
        } catch (error) {
          if (!(error instanceof InjectedFailure)) {
            onError(error);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS));
        }
      }
    });
  }
}
