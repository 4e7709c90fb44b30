/**
 * The worker's side of streaming generator tasks: runs the generator a task
 * or actor method returned, posting each item as it is yielded and pausing
 * when the driver's credit runs out (see generator-task.ts for the protocol).
 */
import { TaskCancelledError } from "../api/errors.js";
import { NOT_STREAMING, STOP } from "../runtime/generator-task.js";
import type { FromWorker } from "../protocol/protocol.js";
import { encode, needsArrow, preloadArrow } from "../codec/serialization.js";

/** A long run of items without a pause gives the thread's message port a turn this often (ms), so a cancel gets in. */
const TURN_EVERY_MS = 2;

/** What the runner needs from the worker thread. */
export interface GeneratorHooks {
  /** Queues a message (posted at the next flush). */
  push(message: FromWorker): void;
  /** Posts what is queued if the last post is older than a fraction of a millisecond. */
  flushDue(): void;
  /** Posts what is queued at the end of this turn. */
  flush(): void;
  /** True (once) when the driver cancelled the task. */
  cancelled(task: number): boolean;
  complete(task: number, name: string, value: unknown, start: number): void;
  fail(task: number, name: string, error: unknown, start: number): void;
}

interface Credit {
  upTo: number;
  wake: (() => void) | undefined;
}

type AnyGenerator = Generator<unknown, unknown, undefined> | AsyncGenerator<unknown, unknown, undefined>;

export class GeneratorRunner {
  readonly #hooks: GeneratorHooks;
  readonly #credits = new Map<number, Credit>();

  constructor(hooks: GeneratorHooks) {
    this.#hooks = hooks;
  }

  /**
   * Runs `generator` to its end as task `task`; the task's result is the
   * number of items it yielded. Its error, if it throws, fails the task after
   * the items yielded before it.
   */
  async run(task: number, name: string, generator: AnyGenerator, start: number, explain: (error: unknown) => unknown): Promise<void> {
    const credit: Credit = { upTo: 1, wake: undefined };
    this.#credits.set(task, credit);
    let index = 0;
    let turn = performance.now();
    try {
      for (;;) {
        if (this.#hooks.cancelled(task)) {
          await generator.return(undefined);
          this.#hooks.fail(task, name, new TaskCancelledError(`task ${name} was cancelled after ${index} items`), start);
          return;
        }
        if (credit.upTo === STOP || credit.upTo === NOT_STREAMING) {
          await generator.return(undefined);
          if (credit.upTo === STOP) this.#hooks.complete(task, name, index, start);
          else {
            const error = new TypeError(
              `${name} returned a generator, but its caller did not ask for a stream: its items cannot fill one ref nor numReturns: N refs; ` +
                `leave numReturns unset on a generator function (its calls then stream), pass numReturns: "streaming", or return an array of the values`,
            );
            this.#hooks.fail(task, name, error, start);
          }
          return;
        }
        if (index >= credit.upTo) {
          this.#hooks.push({ kind: "streamWait", task, index });
          this.#hooks.flush();
          await new Promise<void>((resolve) => (credit.wake = resolve));
          continue;
        }
        const step = await generator.next();
        if (step.done === true) {
          this.#hooks.complete(task, name, index, start);
          return;
        }
        if (needsArrow(step.value)) await preloadArrow();
        this.#hooks.push({ kind: "streamYield", task, index, value: encode(step.value, `item ${index} of ${name}`) });
        index++;
        this.#hooks.flushDue();
        if (performance.now() - turn > TURN_EVERY_MS) {
          this.#hooks.flush();
          await new Promise((resolve) => setImmediate(resolve));
          turn = performance.now();
        }
      }
    } catch (error) {
      this.#hooks.fail(task, name, explain(error), start);
    } finally {
      this.#credits.delete(task);
    }
  }

  /** The driver's answer to a pause: more credit, or a stop. */
  credit(task: number, upTo: number): void {
    const credit = this.#credits.get(task);
    if (credit === undefined) return;
    if (upTo < 0 || upTo > credit.upTo) credit.upTo = upTo;
    this.#wake(credit);
  }

  /** A cancel for a task: a paused generator wakes to see it. */
  cancelled(task: number): void {
    const credit = this.#credits.get(task);
    if (credit !== undefined) this.#wake(credit);
  }

  #wake(credit: Credit): void {
    const wake = credit.wake;
    credit.wake = undefined;
    wake?.();
  }
}
