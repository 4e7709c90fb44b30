/**
 * Choosing where to pull a large object from. Every holder of an object is
 * listed in the object directory (`rayts:loc:<object>`), and a process that
 * pulled one registers itself there, so the next puller may take it from
 * any of them. Pulls in progress from each holder are counted in
 * `rayts:serving` (holder id -> count); a puller takes the least-loaded
 * holder first, so a broadcast spreads over the holders as they appear.
 */
import type { Redis } from "ioredis";
import { RayError } from "../core/api/errors.js";
import { PREFIX } from "./control-plane.js";
import { pullObjectFrom } from "./object-pull.js";

/** Hash of pulls in progress per holder. */
export const SERVING = `${PREFIX}serving`;

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
 */
export async function pullFromHolders(
  redis: Redis,
  objectId: string,
  hinted: readonly string[],
  token: string,
  self: string,
  lost: () => Error = () => new RayError(`object ${objectId} has no live holder`),
): Promise<{ value: unknown; holder: string }> {
  const found = await candidates(redis, objectId, hinted, self);
  if (found.length === 0) throw lost();
  const sources = found.map((candidate) => ({
    address: candidate.address,
    enter: async (): Promise<void> => {
      await redis.hincrby(SERVING, candidate.holder, 1);
    },
    leave: (): void => void redis.hincrby(SERVING, candidate.holder, -1).catch(() => undefined),
  }));
  const { value, source } = await pullObjectFrom(sources, objectId, token);
  return { value, holder: (found[source] as Candidate).holder };
}
