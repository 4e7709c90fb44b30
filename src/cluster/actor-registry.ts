/**
 * The cluster's registry of actors. Every actor a driver or node creates
 * elsewhere is placed by id in its owner's hash (`rayts:placed:<owner>`,
 * actor id -> {@link ActorPlacement}), which lives as long as the owner
 * beats (its time to live is renewed with the owner's heartbeat): whoever
 * holds a handle finds there where the actor lives now, whether it is named
 * or not. The owner moves the record when it restarts the actor on another
 * node and removes it once the actor is gone for good, telling every driver
 * and node (`actorMoved`, `actorGone`). A named actor also has its name
 * (`rayts:actors`, name -> {@link NamedActorRecord}), claimed once, moved
 * and released with its placement; a node releases the names of the actors
 * it killed because their owner exited, so that no driver finds an actor
 * that is gone.
 */
import { serialize } from "node:v8";
import { EVENTS, PREFIX, type ActorPlacement, type ClusterEvent, type ControlPlane, type NamedActorRecord } from "./control-plane.js";
import type { ToNode } from "./wire.js";

const ACTORS = `${PREFIX}actors`;

/** The hash of the actors `owner` (a driver, or a node for the actors its tasks made elsewhere) placed. */
export function placementsKey(owner: string): string {
  return `${PREFIX}placed:${owner}`;
}

/**
 * Claims a name; once claimed, tells every driver (event channel) and every
 * live node through its task stream, in the same step: a task sent to a node
 * after the claim is read there after the name, so `getActor(name)` inside it
 * finds the actor (the event channel alone may be read after the task).
 */
const CLAIM = `if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('PUBLISH', KEYS[2], ARGV[3])
for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do
  if redis.call('EXISTS', ARGV[5] .. 'alive:' .. id) == 1 then redis.call('XADD', ARGV[5] .. 'tasks:' .. id, '*', 'm', ARGV[4]) end
end
return 1`;

/** Claims `record.name` for its actor (false when another actor holds it) and announces it to every driver and node. */
export async function claimActorName(plane: ControlPlane, record: NamedActorRecord): Promise<boolean> {
  const event: ClusterEvent = { kind: "actorNamed", actor: record };
  const message: ToNode[] = [{ k: "named", actor: record }];
  const claimed = await plane.redis.eval(CLAIM, 3, ACTORS, EVENTS, `${PREFIX}nodes`, record.name, JSON.stringify(record), JSON.stringify(event), serialize(message), PREFIX);
  return claimed === 1;
}

/**
 * Places a new actor (its first start) in its owner's hash, which lives
 * `ttlMs` past the owner's last beat. Sent before the actor's creation on
 * the same connection, so a call that reaches its node first finds it there.
 */
export function placeActor(plane: ControlPlane, owner: string, placement: ActorPlacement, ttlMs: number): Promise<unknown> {
  const key = placementsKey(owner);
  return plane.redis.pipeline().hset(key, placement.actorId, JSON.stringify(placement)).pexpire(key, ttlMs).exec();
}

/** Renews the time to live of `owner`'s placements (with its heartbeat). */
export function keepPlacements(plane: ControlPlane, owner: string, ttlMs: number): Promise<unknown> {
  return plane.redis.pexpire(placementsKey(owner), ttlMs);
}

/** The placements of a gone owner are dropped (its actors never restart again). */
export function forgetOwner(plane: ControlPlane, owner: string): Promise<unknown> {
  return plane.redis.del(placementsKey(owner));
}

/** Where actor `actorId` lives now; undefined once it is gone for good or its owner is gone. */
export async function placementOf(plane: ControlPlane, actorId: string): Promise<ActorPlacement | undefined> {
  const text = await plane.redis.hget(placementsKey(actorOwner(actorId)), actorId);
  return text === null ? undefined : (JSON.parse(text) as ActorPlacement);
}

/** Moves a placement (and the name record while the name is still the actor's) and tells everyone; 0 when the placement is gone. */
const MOVE = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then
  local current = redis.call('HGET', KEYS[2], ARGV[3])
  if current and cjson.decode(current)['actorId'] == ARGV[1] then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
end
redis.call('PUBLISH', KEYS[3], ARGV[5])
return 1`;

/**
 * Announces an actor restarted on another node: its placement (and its name
 * record `named`, when named) name the new node, and every driver and node
 * is told. False when the actor is no longer placed (killed through another
 * handle meanwhile).
 */
export async function moveActor(plane: ControlPlane, placement: ActorPlacement, named: NamedActorRecord | undefined): Promise<boolean> {
  const event: ClusterEvent = { kind: "actorMoved", actor: placement };
  const key = placementsKey(actorOwner(placement.actorId));
  const moved = await plane.redis.eval(MOVE, 3, key, ACTORS, EVENTS, placement.actorId, JSON.stringify(placement), named?.name ?? "", named === undefined ? "" : JSON.stringify(named), JSON.stringify(event));
  return moved === 1;
}

/** Removes a placement and the name (while still the actor's) and tells everyone the actor is gone. */
const RELEASE = `redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  local current = redis.call('HGET', KEYS[2], ARGV[2])
  if current and cjson.decode(current)['actorId'] == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[2]) end
end
redis.call('PUBLISH', KEYS[3], ARGV[3])
return 1`;

/** An actor is gone for good (killed, or dead past its restarts): its placement and its name (`name`, a registry key) are released and every holder told. */
export async function releaseActor(plane: ControlPlane, actorId: string, name: string | undefined): Promise<void> {
  const event: ClusterEvent = { kind: "actorGone", name: name ?? "", actorId };
  await plane.redis.eval(RELEASE, 3, placementsKey(actorOwner(actorId)), ACTORS, EVENTS, actorId, name ?? "", JSON.stringify(event));
}

/** Releases every name held by one of `actorIds` (actors that are gone), telling every driver. */
export async function unnameActors(plane: ControlPlane, actorIds: ReadonlySet<string>): Promise<number> {
  if (actorIds.size === 0) return 0;
  let released = 0;
  for (const record of await plane.namedActors()) {
    if (!actorIds.has(record.actorId)) continue;
    await plane.unnameActor(record.name, record.actorId);
    released++;
  }
  return released;
}

/** The driver that owns an actor (actor ids are `<driver>.<n>`). */
export function actorOwner(actorId: string): string {
  const dot = actorId.indexOf(".");
  return dot < 0 ? actorId : actorId.slice(0, dot);
}
