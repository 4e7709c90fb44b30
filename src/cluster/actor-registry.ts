/**
 * The cluster's registry of named actors (`rayts:actors`, name ->
 * {@link NamedActorRecord}) beyond claiming a name: an owner re-announces
 * its actor after restarting it on another node, so that every driver's
 * handles and later `getActor(name)` calls reach the new location; and a
 * node releases the names of the actors it killed because their owner
 * exited, so that no driver finds an actor that is gone.
 */
import { serialize } from "node:v8";
import { EVENTS, PREFIX, type ClusterEvent, type ControlPlane, type NamedActorRecord } from "./control-plane.js";
import type { ToNode } from "./wire.js";

const ACTORS = `${PREFIX}actors`;

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

/** Replaces the record under its name, only while the name still belongs to this actor. */
const MOVE = `local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or cjson.decode(current)['actorId'] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1`;

/**
 * Re-announces a named actor at its new node (after a restart): updates its
 * record and tells every driver. False when the name no longer belongs to it.
 */
export async function moveNamedActor(plane: ControlPlane, record: NamedActorRecord): Promise<boolean> {
  const event: ClusterEvent = { kind: "actorNamed", actor: record };
  const moved = await plane.redis.eval(MOVE, 2, ACTORS, EVENTS, record.name, record.actorId, JSON.stringify(record), JSON.stringify(event));
  return moved === 1;
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
