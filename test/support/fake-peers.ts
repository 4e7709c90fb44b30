/**
 * Stand-ins for the runtime's peers in unit tests of the scheduling parts:
 * a transport that records nothing and can be marked dead, and task records
 * with the options a test asks for.
 */
import type { Encoded, FromWorker, ResolvedTaskOptions } from "../../src/core/protocol/protocol.js";
import { newTask } from "../../src/core/scheduling/dependencies.js";
import type { Task } from "../../src/core/scheduling/scheduler.js";
import type { Transport } from "../../src/core/transport/transport.js";

/** A peer without a thread behind it; `terminate` marks it dead, as an exit would. */
export class FakeLink implements Transport {
  readonly index: number;
  dead = false;
  terminated = 0;
  onHello: (() => void) | undefined;

  constructor(index: number) {
    this.index = index;
  }

  send(): void {
    // Nothing to deliver to.
  }

  queueRun(): void {
    // Placement is observed through the policy's assign callback.
  }

  flush(): void {
    // Nothing queued.
  }

  receive(): FromWorker[] | undefined {
    return undefined;
  }

  attach(): void {
    // No peer id to record.
  }

  terminate(): void {
    this.terminated++;
    this.dead = true;
  }
}

/** A task record of function `fn` asking for `numCpus` CPUs. */
export function fakeTask(id: number, numCpus = 1, fn = 1, args: Encoded[] = []): Task {
  const options: ResolvedTaskOptions = { numCpus, maxRetries: 0, retryExceptions: false, name: `task${String(id)}` };
  return newTask(id, fn, args, options);
}
