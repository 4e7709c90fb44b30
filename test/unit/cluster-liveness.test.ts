/**
 * The reconnect window of a process's liveness, against a fake Redis
 * connection: once Redis has been away longer than the window, the process
 * gives up (its pending work fails), even when a heartbeat round was in
 * flight as the connection dropped (its commands wait for a reconnect that
 * never comes).
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { RayError } from "../../src/core/api/errors.js";
import type { ControlPlane } from "../../src/cluster/control-plane.js";
import { Liveness } from "../../src/cluster/liveness.js";

/** A connection whose first command answers and whose later ones wait forever, as commands do while Redis is away. */
function fakePlane(): { plane: ControlPlane; redis: EventEmitter; sent: Promise<void> } {
  const redis = new EventEmitter() as EventEmitter & { set(): Promise<string>; pexpire(): Promise<number> };
  // A driver's beat also renews its actors' placements (not waited for).
  redis.pexpire = () => Promise.resolve(1);
  let count = 0;
  let second!: () => void;
  const sent = new Promise<void>((resolve) => (second = resolve));
  redis.set = () => {
    count++;
    if (count === 1) return Promise.resolve("OK");
    second();
    return new Promise<string>(() => undefined);
  };
  const plane = { redis, address: "127.0.0.1:1" } as unknown as ControlPlane;
  return { plane, redis, sent };
}

test("a driver gives up once Redis stays away past the window, though a heartbeat was in flight when it dropped", async () => {
  const { plane, redis, sent } = fakePlane();
  let gaveUp!: (error: RayError) => void;
  const unreachable = new Promise<RayError>((resolve) => (gaveUp = resolve));
  const liveness = new Liveness(plane, { kind: "driver", id: "d1" }, { heartbeatMs: 5, deadMs: 50, driverDeadMs: 50, reconnectWindowMs: 20 }, {
    log: () => undefined,
    unreachable: (error) => gaveUp(error),
  });
  // Liveness's own timer does not hold the process open; this one does, for at most the guard's time.
  const open = setTimeout(() => undefined, 30_000);
  await liveness.start();
  // The next round's heartbeat is sent, then the connection drops under it.
  await sent;
  redis.emit("close");
  const error = await unreachable;
  assert.match(error.message, /the cluster's Redis at 127\.0\.0\.1:1 has been out of reach for more than 20 ms \(RAYTS_RECONNECT_WINDOW_MS\)/);
  // Returns at once: Redis is away, so nothing waits for the round in flight.
  await liveness.stop();
  clearTimeout(open);
});
