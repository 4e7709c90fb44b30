/**
 * What the cluster actor tests share: a gate actor a task reports to and
 * waits on (so the driver acts at a known point of the task, never after a
 * time), and the signals a second driver process sends through Redis lists.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import * as ray from "../../src/index.js";
import type { ChildResult } from "../support/child.js";

/** Lets a task tell the driver it got somewhere, then wait for the driver's go. */
export class Gate {
  arrivedFlag = false;
  wakeArrived: (() => void) | undefined;
  wakeOpen: (() => void) | undefined;
  isOpen = false;
  arrive(): void {
    this.arrivedFlag = true;
    this.wakeArrived?.();
  }
  async arrived(): Promise<boolean> {
    if (!this.arrivedFlag) await new Promise<void>((resolve) => (this.wakeArrived = resolve));
    return true;
  }
  open(): void {
    this.isOpen = true;
    this.wakeOpen?.();
  }
  async opened(): Promise<boolean> {
    if (!this.isOpen) await new Promise<void>((resolve) => (this.wakeOpen = resolve));
    return true;
  }
}
export const Gates = ray.remote(Gate);

/** A gate as a task sees it. */
export interface Door {
  arrive(): void;
  opened(): Promise<boolean>;
}

/** Waits for the gate's report; a task that settles first (it failed before it got there) fails the test with what it gave. */
export async function arrival(gate: ray.ActorHandle<Gate>, task: ray.ObjectRef<unknown>): Promise<void> {
  const first = await Promise.race([
    ray.get(gate.arrived.remote()).then(() => "arrived"),
    ray.get(task).then(
      (value) => `the task returned first: ${JSON.stringify(value)}`,
      (error: unknown) => `the task failed first: ${String(error)}`,
    ),
  ]);
  assert.equal(first, "arrived");
}

/** Waits for a signal (a push to a Redis list) of another driver, or fails with its output once it ended without sending it. */
export function signalsOf(signals: Redis, child: Promise<ChildResult>): (key: string) => Promise<void> {
  return async (key) => {
    const ended = child.then((done) => assert.fail(`the other driver ended before "${key}":\n${done.stdout}${done.stderr}`));
    await Promise.race([signals.blpop(key, 0), ended]);
  };
}
