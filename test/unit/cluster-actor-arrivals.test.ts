/**
 * Calls that reach a node before their actor, against a fake registry:
 * they wait while the registry places the actor on this node (its owner's
 * placements last while the owner lives), then run behind its start in the
 * order they came; they are let go at once (to fail) for an actor killed
 * here, one placed elsewhere, or one whose owner is gone.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorArrivals } from "../../src/cluster/actor-arrivals.js";
import { placementsKey } from "../../src/cluster/actor-registry.js";
import type { ActorPlacement, ControlPlane } from "../../src/cluster/control-plane.js";

interface Registry {
  records: ActorPlacement[];
  liveOwners: Set<string>;
  /** Resolves each time the registry was read. */
  reads: (() => void)[];
}

function arrivals(registry: Registry): ActorArrivals {
  const plane = {
    redis: {
      hget: (key: string, actorId: string) => {
        for (const read of registry.reads.splice(0)) read();
        const found = registry.records.find((record) => record.actorId === actorId && [...registry.liveOwners].some((owner) => key === placementsKey(owner)));
        return Promise.resolve(found === undefined ? null : JSON.stringify(found));
      },
    },
  } as unknown as ControlPlane;
  return new ActorArrivals(plane, "here", { heartbeatMs: 5, deadMs: 50, driverDeadMs: 60_000, reconnectWindowMs: 60_000 });
}

function record(actorId: string, nodeId: string): ActorPlacement {
  return { actorId, nodeId, incarnation: 1, maxTaskRetries: 0 };
}

/** Resolves once the registry was read again. */
function nextRead(registry: Registry): Promise<void> {
  return new Promise((resolve) => registry.reads.push(resolve));
}

test("calls for an actor the registry places here wait for its start, then run in the order they came", async () => {
  const registry: Registry = { records: [record("d.1", "here")], liveOwners: new Set(["d"]), reads: [] };
  const node = arrivals(registry);
  const ran: string[] = [];
  const read = nextRead(registry);
  let chain = node.expect("d.1").then(() => void ran.push("first"));
  chain = chain.then(() => void ran.push("second"));
  await read;
  // Checked again on the next beat: still waiting.
  await nextRead(registry);
  assert.equal(ran.length, 0);
  let started!: () => void;
  const start = new Promise<void>((resolve) => (started = resolve));
  assert.equal(node.arrived("d.1", start.then(() => void ran.push("started"))), true);
  started();
  await chain;
  assert.deepEqual(ran, ["started", "first", "second"]);
  assert.equal(node.arrived("d.1", Promise.resolve()), false, "no call waits any more");
});

test("calls are let go at once for an actor killed here, placed elsewhere, or whose owner is gone", async () => {
  const registry: Registry = { records: [record("d.2", "elsewhere"), record("gone.3", "here")], liveOwners: new Set(["d"]), reads: [] };
  const node = arrivals(registry);
  await node.expect("d.2");
  await node.expect("gone.3");
  await node.expect("unnamed.4");
  node.gone("d.5");
  await node.expect("d.5");
  // One waiting when its actor is killed here is let go too.
  registry.records.push(record("d.6", "here"));
  const waiting = node.expect("d.6");
  node.gone("d.6");
  await waiting;
});
