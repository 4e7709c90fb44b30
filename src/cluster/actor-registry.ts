/**
 * The cluster's registry of named actors (`rayts:actors`, name ->
 * {@link NamedActorRecord}) beyond claiming a name: an owner re-announces
 * its actor after restarting it on another node, so that every driver's
 * handles and later `getActor(name)` calls reach the new location; and a
 * node releases the names of the actors it killed because their owner
 * exited, so that no driver finds an actor that is gone.
 */
import { EVENTS, PREFIX, type ClusterEvent, type ControlPlane, type NamedActorRecord } from "./control-plane.js";

const ACTORS = `${PREFIX}actors`;

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
