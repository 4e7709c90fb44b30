/**
 * Liveness of the cluster's processes. Every node and driver renews a
 * heartbeat key with a time to live; every one of them also watches the
 * others. A node whose key lapsed is declared dead by the first observer
 * that sees it (a `SET NX` on its tombstone key, so exactly once): that
 * observer claims the node's stream entries that were taken but never
 * acknowledged (`XAUTOCLAIM`) and the ones never read, hands them back to
 * their owners (who place them again, spending `maxRetries`), removes the
 * dead consumer and the node, and announces the death. A node whose
 * tombstone exists is refused when it heartbeats again: it must rejoin under
 * a new id (no split brain). Keys: `rayts:dead:<node>` (tombstone),
 * `rayts:driver:<driver>` (a driver's heartbeat).
 *
 * Deaths are only judged by a process that has been connected to Redis for
 * a whole time to live: after Redis restarts, every live process renews its
 * key first.
 */
import { deserialize, serialize } from "node:v8";
import { RayError } from "../core/api/errors.js";
import { EVENTS, PREFIX, type ClusterEvent, type ControlPlane, type NodeLoad } from "./control-plane.js";
import type { FaultSettings } from "./fault-settings.js";
import { placementsKey } from "./actor-registry.js";
import type { ResultBatch, ToNode } from "./wire.js";

/** How long a tombstone stays (a refused node has long rejoined by then). */
const TOMBSTONE_MS = 24 * 3600 * 1000;

export function tombstoneKey(nodeId: string): string {
  return `${PREFIX}dead:${nodeId}`;
}

export function driverKey(driverId: string): string {
  return `${PREFIX}driver:${driverId}`;
}

/** Renews a node's key unless the node was declared dead (then 0). */
const NODE_BEAT = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Who beats. */
export type Beater = { readonly kind: "node"; readonly id: string; load(): NodeLoad } | { readonly kind: "driver"; readonly id: string };

/** What a process learns from its liveness. */
export interface LivenessHooks {
  log(line: string): void;
  /** This node was declared dead (it was cut off or paused too long): it must rejoin as a new node. */
  refused?(): void;
  /** Redis stayed out of reach longer than the reconnect window. */
  unreachable(error: RayError): void;
  /** Called on each watch round once drivers' deaths may be judged (connected for a driver's whole time to live). */
  watch?(): Promise<void>;
}

/** Heartbeats, death declarations and the reconnect window of one process. */
export class Liveness {
  readonly #plane: ControlPlane;
  readonly #self: Beater;
  readonly #settings: FaultSettings;
  readonly #hooks: LivenessHooks;
  #timer: NodeJS.Timeout | undefined;
  #readySince = Date.now();
  #downSince: number | undefined;
  #stopped = false;
  #gaveUp = false;
  #round: Promise<void> | undefined;
  /** Nodes this process declared dead, and when (for the bench). */
  readonly declared: { nodeId: string; at: number; claimed: number }[] = [];

  constructor(plane: ControlPlane, self: Beater, settings: FaultSettings, hooks: LivenessHooks) {
    this.#plane = plane;
    this.#self = self;
    this.#settings = settings;
    this.#hooks = hooks;
    plane.redis.on("close", () => (this.#downSince ??= Date.now()));
    plane.redis.on("ready", () => {
      if (this.#downSince !== undefined) this.#hooks.log(`reconnected to Redis after ${Date.now() - this.#downSince} ms`);
      this.#downSince = undefined;
      this.#readySince = Date.now();
      if (!this.#stopped) void this.beat();
    });
  }

  /** Beats once now, then every `heartbeatMs`, and watches the others. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => {
      // Judged apart from the round: a round's commands wait while Redis is away, so it may never end.
      if (this.#downSince !== undefined) {
        this.#giveUpWhenAwayTooLong(this.#downSince);
        return;
      }
      if (this.#round !== undefined) return;
      this.#round = this.#tick().finally(() => (this.#round = undefined));
    }, this.#settings.heartbeatMs);
    this.#timer.unref();
  }

  /** Whether deaths may be judged now: connected for a whole time to live. */
  get settled(): boolean {
    return this.#downSince === undefined && Date.now() - this.#readySince >= this.#settings.deadMs;
  }

  /** Fails this process's pending work once Redis has been away longer than the reconnect window. */
  #giveUpWhenAwayTooLong(downSince: number): void {
    if (this.#gaveUp || Date.now() - downSince <= this.#settings.reconnectWindowMs) return;
    this.#gaveUp = true;
    this.#hooks.unreachable(
      new RayError(`the cluster's Redis at ${this.#plane.address} has been out of reach for more than ${this.#settings.reconnectWindowMs} ms (RAYTS_RECONNECT_WINDOW_MS); giving up`),
    );
  }

  async #tick(): Promise<void> {
    try {
      await this.beat();
      if (!this.settled || this.#stopped) return;
      await this.#findDead();
      if (Date.now() - this.#readySince >= this.#settings.driverDeadMs) await this.#hooks.watch?.();
    } catch (error) {
      if (!this.#stopped) this.#hooks.log(`liveness round failed: ${String(error)}`);
    }
  }

  /** Renews this process's key; a refused node is told once. */
  async beat(): Promise<void> {
    const redis = this.#plane.redis;
    if (this.#self.kind === "driver") {
      // The placements of its actors live as long as the driver does (see actor-registry.ts).
      const renewed = redis.set(driverKey(this.#self.id), "1", "PX", this.#settings.driverDeadMs);
      void redis.pexpire(placementsKey(this.#self.id), this.#settings.driverDeadMs).catch(() => undefined);
      await renewed;
      return;
    }
    const ok = await redis.eval(NODE_BEAT, 2, `${PREFIX}alive:${this.#self.id}`, tombstoneKey(this.#self.id), JSON.stringify(this.#self.load()), this.#settings.deadMs);
    if (ok === 0 && !this.#stopped) {
      this.#stopped = true;
      clearInterval(this.#timer);
      this.#hooks.log(`node ${this.#self.id} was declared dead by the cluster (its heartbeat lapsed); it is refused under this id and must rejoin as a new node`);
      this.#hooks.refused?.();
    }
  }

  /** Registered nodes whose key lapsed are declared dead. */
  async #findDead(): Promise<void> {
    const redis = this.#plane.redis;
    const ids = await redis.hkeys(`${PREFIX}nodes`);
    if (ids.length === 0) return;
    const alive = await redis.mget(ids.map((id) => `${PREFIX}alive:${id}`));
    for (let index = 0; index < ids.length; index++) {
      if (alive[index] === null && ids[index] !== this.#self.id) await this.declareDead(ids[index] as string);
    }
  }

  /**
   * Declares `nodeId` dead if no one has: claims its unacknowledged and
   * unread stream entries and hands each owner the ids of its work there.
   * True when this call made the declaration.
   */
  async declareDead(nodeId: string): Promise<boolean> {
    const redis = this.#plane.redis;
    const won = await redis.set(tombstoneKey(nodeId), this.#self.id, "PX", TOMBSTONE_MS, "NX");
    if (won !== "OK") return false;
    const at = Date.now();
    const stream = `${PREFIX}tasks:${nodeId}`;
    let claimed = 0;
    try {
      let cursor = "0-0";
      do {
        const reply = (await redis.call("XAUTOCLAIM", stream, "node", `recovery-${this.#self.id}`, 0, cursor, "COUNT", 1000)) as [string, unknown[]];
        cursor = reply[0];
        claimed += reply[1].length;
      } while (cursor !== "0-0");
    } catch {
      // No stream or group: the node had no work.
    }
    const entries = (await redis.callBuffer("XRANGE", stream, "-", "+")) as [Buffer, Buffer[]][];
    const lost = new Map<string, string[]>();
    for (const [, fields] of entries) {
      for (const message of deserialize(fields[1] as Buffer) as ToNode[]) {
        if (!("owner" in message)) continue;
        let ids = lost.get(message.owner);
        if (ids === undefined) lost.set(message.owner, (ids = []));
        ids.push(message.id);
      }
    }
    const owners = [...lost.keys()];
    const ownerAlive = owners.length === 0 ? [] : await redis.mget(owners.map(driverKey));
    const multi = redis.multi();
    multi.call("XGROUP", "DELCONSUMER", stream, "node", "n").call("XGROUP", "DELCONSUMER", stream, "node", `recovery-${this.#self.id}`);
    multi.del(stream).hdel(`${PREFIX}nodes`, nodeId).del(`${PREFIX}alive:${nodeId}`).hdel(`${PREFIX}holders`, nodeId);
    owners.forEach((owner, index) => {
      if (ownerAlive[index] === null) return;
      const batch: ResultBatch = { node: nodeId, results: [], died: { nodeId, lost: lost.get(owner) ?? [] } };
      multi.xadd(`${PREFIX}results:${owner}`, "*", "m", serialize(batch));
    });
    multi.publish(EVENTS, JSON.stringify({ kind: "nodeDied", nodeId } satisfies ClusterEvent));
    multi.publish(EVENTS, JSON.stringify({ kind: "nodeChanged" } satisfies ClusterEvent));
    await multi.exec().catch(() => undefined);
    this.declared.push({ nodeId, at, claimed });
    this.#hooks.log(`declared node ${nodeId} dead: its heartbeat lapsed; ${claimed} unacknowledged and ${entries.length - claimed} unread entries handed back to ${owners.length} owner(s)`);
    return true;
  }

  /** Stops beating (a driver's key is removed: its work on the nodes is cleaned up). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    // With Redis away, a round's commands and the key's removal would wait for a reconnect that may never come.
    if (this.#downSince !== undefined) return;
    await this.#round?.catch(() => undefined);
    if (this.#self.kind === "driver") await this.#plane.redis.del(driverKey(this.#self.id), placementsKey(this.#self.id)).catch(() => undefined);
  }
}

/** Whether a node was declared dead. */
export async function isTombstoned(plane: ControlPlane, nodeId: string): Promise<boolean> {
  return (await plane.redis.exists(tombstoneKey(nodeId))) === 1;
}
