/**
 * Async actors: `maxConcurrency` lets up to that many calls of an actor run
 * at once on its event loop (default 1: strictly one after another, awaits
 * included); `concurrencyGroups` give named groups of methods their own
 * limits, chosen per method with `methodOptions`.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

/** Calls meet at gates inside the actor: a gate opens once `size` calls wait at it, or when `open` is called. */
class Gates {
  events: string[] = [];
  waiting = new Map<string, { count: number; release: () => void; opened: Promise<void> }>();

  #gate(name: string) {
    let gate = this.waiting.get(name);
    if (gate === undefined) {
      let release = (): void => undefined;
      const opened = new Promise<void>((resolve) => (release = resolve));
      gate = { count: 0, release, opened };
      this.waiting.set(name, gate);
    }
    return gate;
  }

  /** Waits at gate `name` until `size` calls are there; returns how many were there at once. */
  async meet(name: string, size: number, label: string): Promise<number> {
    const gate = this.#gate(name);
    this.events.push(`start ${label}`);
    gate.count++;
    if (gate.count >= size) gate.release();
    await gate.opened;
    this.events.push(`end ${label}`);
    return gate.count;
  }

  /** Waits until gate `name` is opened by `open`. */
  async held(name: string, label: string): Promise<string> {
    this.events.push(`start ${label}`);
    await this.#gate(name).opened;
    this.events.push(`end ${label}`);
    return label;
  }

  open(name: string): number {
    this.events.push("open");
    this.#gate(name).release();
    return this.#gate(name).count;
  }

  async step(label: string): Promise<string> {
    this.events.push(`start ${label}`);
    await new Promise((resolve) => setImmediate(resolve));
    this.events.push(`end ${label}`);
    return label;
  }

  log(): string[] {
    return this.events;
  }
}

const Actor = ray.remote(Gates);

test("by default an async actor runs one call at a time, in order, awaits included", async () => {
  const actor = Actor.remote();
  const labels = ["a", "b", "c", "d"];
  assert.deepEqual(await ray.get(labels.map((label) => actor.step.remote(label))), labels);
  assert.deepEqual(await ray.get(actor.log.remote()), labels.flatMap((label) => [`start ${label}`, `end ${label}`]));
  ray.kill(actor);
});

test("maxConcurrency: up to that many calls run at once", async () => {
  const actor = Actor.options({ maxConcurrency: 4 }).remote();
  // Four calls can only all return if all four waited at the gate at the same time.
  const met = await ray.get([1, 2, 3, 4].map((n) => actor.meet.remote("four", 4, `m${n}`)));
  assert.deepEqual(met, [4, 4, 4, 4]);
  ray.kill(actor);
});

test("maxConcurrency is a limit: a fifth call starts only when one of four ends", async () => {
  const actor = Actor.options({ maxConcurrency: 4 }).remote();
  const held = [1, 2, 3].map((n) => actor.held.remote("gate", `h${n}`));
  const step = actor.step.remote("s");
  // Without a limit the opener would start at once, before the step ends.
  assert.equal(await ray.get(actor.open.remote("gate")), 0);
  await ray.get([...held, step]);
  const events = await ray.get(actor.log.remote());
  assert.deepEqual(events.slice(0, 4), ["start h1", "start h2", "start h3", "start s"]);
  assert.ok(events.indexOf("open") > events.indexOf("end s"), events.join(", "));
  ray.kill(actor);
});

test("concurrency groups: each group has its own limit, apart from the default group", async () => {
  const actor = Actor.options({
    concurrencyGroups: { io: 2 },
    methodOptions: { held: { concurrencyGroup: "io" }, meet: { concurrencyGroup: "io" } },
  }).remote();
  // Two io calls run at once (they meet), while the default group (limit 1) stays free to open the gate they wait on.
  const pair = [1, 2].map((n) => actor.meet.remote("pair", 2, `io${n}`));
  assert.deepEqual(await ray.get(pair), [2, 2]);
  const waiting = actor.held.remote("later", "io3");
  assert.equal(await ray.get(actor.open.remote("later")), 0);
  assert.equal(await ray.get(waiting), "io3");
  ray.kill(actor);
});

test("concurrency options are validated against the class", () => {
  assert.throws(() => Actor.options({ maxConcurrency: 0 }), /`maxConcurrency` to be an integer from 1 and up, got 0/);
  assert.throws(() => Actor.options({ concurrencyGroups: { io: -1 } }), /`concurrencyGroups.io`/);
  assert.throws(() => Actor.options({ methodOptions: { nope: { concurrencyGroup: "io" } }, concurrencyGroups: { io: 1 } }), /methods of actor class Gates.*"nope"/);
  assert.throws(() => Actor.options({ methodOptions: { held: { concurrencyGroup: "cpu" } } }), /one of the `concurrencyGroups` \(none declared\), got "cpu"/);
  assert.throws(() => Actor.options({ methodOptions: { held: { group: "io" } as never } }), /Unknown option `group`/);
});
