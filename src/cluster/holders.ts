/**
 * Choosing where to pull a large object from. Every holder of an object is
 * listed in the object directory (`rayts:loc:<object>`), and a process that
 * pulled one registers itself there, so the next puller may take it from
 * any of them. Pulls in progress from each holder are counted in
 * `rayts:serving` (holder id -> count); a puller takes the least-loaded
 * holder first.
 *
 * Fan-out: a node serves an object while it is still pulling it (see
 * partial-copy.ts). Pulling nodes join `rayts:pullers:<object>`, a list in
 * the order they began, and each one pulls first from the one that began
 * just before it (a chain: the source's link carries the bytes once, each
 * node's link once in and at most once out). When that node fails or
 * stalls, the ranges still missing come from the full holders, least-loaded
 * first. Pulling only from earlier entries of the list rules out cycles.
 */
import type { Redis } from "ioredis";
import { RayError } from "../core/api/errors.js";
import { PREFIX } from "./control-plane.js";
import { pullObjectFrom, type PullSource } from "./object-pull.js";
import type { PartialCopy } from "./partial-copy.js";

/** Hash of pulls in progress per holder. */
export const SERVING = `${PREFIX}serving`;
/** Hash of body bytes each node's object server sent: `<node>` in all, `<node>:partial` from copies still being pulled. */
export const SERVED = `${PREFIX}served`;
/** The list of the processes pulling (or that pulled) `objectId`, in the order they began. */
export function pullersKey(objectId: string): string {
  return `${PREFIX}pullers:${objectId}`;
}
/** How long a pullers list outlives its last puller's arrival. */
const PULLERS_TTL_MS = 10 * 60_000;
/** Earlier pullers looked at when the one just before is gone. */
const PREDECESSORS_TRIED = 8;

/**
 * Appends the puller (ARGV[1]) to the pullers list (KEYS[1]) and returns
 * the latest earlier puller other than itself that is still registered in
 * the holders hash (KEYS[2]), as { id, address }, or false.
 */
const JOIN = `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
for i = n - 1, math.max(1, n - tonumber(ARGV[3])), -1 do
  local id = redis.call('LINDEX', KEYS[1], i - 1)
  if id ~= ARGV[1] then
    local address = redis.call('HGET', KEYS[2], id)
    if address then return {id, address} end
  end
end
return false`;

/** Joins the pullers of `objectId`; resolves to the puller to take it from first, if any. */
export async function joinPullers(redis: Redis, objectId: string, self: string): Promise<{ holder: string; address: string } | undefined> {
  const found = (await redis.eval(JOIN, 2, pullersKey(objectId), `${PREFIX}holders`, self, PULLERS_TTL_MS, PREDECESSORS_TRIED)) as [string, string] | null;
  return found === null ? undefined : { holder: found[0], address: found[1] };
}

/** A holder that may serve an object, with its current pulls. */
export interface Candidate {
  readonly holder: string;
  readonly address: string;
  readonly serving: number;
}

/** Holders of `objectId` (hinted ones and the directory's) other than `self`, least-loaded first. */
export async function candidates(redis: Redis, objectId: string, hinted: readonly string[], self: string): Promise<Candidate[]> {
  const listed = await redis.smembers(`${PREFIX}loc:${objectId}`);
  const holders = [...new Set([...hinted, ...listed])].filter((id) => id !== self);
  if (holders.length === 0) return [];
  const [addresses, counts] = (await redis.pipeline().hmget(`${PREFIX}holders`, ...holders).hmget(SERVING, ...holders).exec()) ?? [];
  const found: Candidate[] = [];
  holders.forEach((holder, index) => {
    const address = (addresses?.[1] as (string | null)[] | undefined)?.[index];
    if (address === null || address === undefined) return;
    const serving = Number((counts?.[1] as (string | null)[] | undefined)?.[index] ?? 0);
    found.push({ holder, address, serving: Number.isFinite(serving) ? Math.max(0, serving) : 0 });
  });
  // Ties broken at random, so that pullers starting together do not all pick the same holder.
  const order = new Map(found.map((candidate) => [candidate, Math.random()]));
  return found.sort((a, b) => a.serving - b.serving || (order.get(a) as number) - (order.get(b) as number));
}

/**
 * Pulls `objectId` from the least-loaded holder that answers; when one fails
 * part way, the next one sends only the ranges still missing. Resolves to
 * the value and the holder that completed it.
 * With no live holder at all, throws what `lost` makes of that (by default
 * a RayError).
 * With `copy` (a node that serves what it pulls), the puller joins the
 * object's pullers, asks the one that began just before it first, and
 * reports its own progress in `copy` for the ones after it.
 */
export async function pullFromHolders(
  redis: Redis,
  objectId: string,
  hinted: readonly string[],
  token: string,
  self: string,
  lost: () => Error = () => new RayError(`object ${objectId} has no live holder`),
  copy?: PartialCopy,
): Promise<{ value: unknown; holder: string }> {
  const [found, before] = await Promise.all([candidates(redis, objectId, hinted, self), copy === undefined ? undefined : joinPullers(redis, objectId, self)]);
  if (found.length === 0) {
    copy?.fail(lost());
    throw lost();
  }
  const order = before === undefined ? found : [{ ...before, serving: 0 }, ...found.filter((candidate) => candidate.holder !== before.holder)];
  const sources = order.map(
    (candidate): PullSource => ({
      address: candidate.address,
      enter: async (): Promise<void> => {
        await redis.hincrby(SERVING, candidate.holder, 1);
      },
      leave: (): void => void redis.hincrby(SERVING, candidate.holder, -1).catch(() => undefined),
    }),
  );
  const { value, source } = await pullObjectFrom(sources, objectId, token, copy);
  return { value, holder: (order[source] as Candidate).holder };
}
