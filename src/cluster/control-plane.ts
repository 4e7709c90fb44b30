/**
 * The control plane: every piece of cluster state rayts keeps in Redis,
 * behind one class so that the node daemon, the driver and the CLI agree on
 * key names. Keys:
 * - `rayts:token`: the per-cluster token the object port requires.
 * - `rayts:nodes` (hash): node id -> {@link NodeRecord}; `rayts:alive:<node>`:
 *   the node's load, a key with a TTL its heartbeat renews.
 * - `rayts:fn` (hash): function key -> definition (source text or module).
 * - `rayts:code:<sha256>`: a compiled task module, content-addressed.
 * - `rayts:actors` (hash): actor name -> {@link NamedActorRecord};
 *   `rayts:placed:<owner>` (hash): actor id -> {@link ActorPlacement}.
 * - `rayts:loc:<object>` (set): holders of a large object (object directory);
 *   `rayts:holders` (hash): holder id -> object server address.
 * - `rayts:tasks:<node>` (stream, group `node`) and `rayts:results:<driver>`
 *   (stream): the task transport (see transport.ts).
 * - channel `rayts:events`: actor names and node changes.
 * - `rayts:state:*`: what the state API reads (see event-publisher.ts).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { RayError } from "../core/api/errors.js";

/** Prefix of every rayts key. */
export const PREFIX = "rayts:";
/** Channel of control-plane events (JSON {@link ClusterEvent}). */
export const EVENTS = `${PREFIX}events`;
/** The head's dashboard address, for drivers to print when they connect. */
export const DASHBOARD_KEY = `${PREFIX}dashboard`;
/** How long a node counts as alive after its last heartbeat. */
export const NODE_TTL_MS = 10_000;

/** A node as it registers itself. */
export interface NodeRecord {
  readonly nodeId: string;
  /** The address tasks report and objects are served on. */
  readonly address: string;
  /** Port of the node's object server. */
  readonly objectPort: number;
  /** Declared resources: CPU, memory, object_store_memory, custom ones. */
  readonly resources: Readonly<Record<string, number>>;
  readonly pid: number;
  readonly head: boolean;
  readonly startedAt: number;
  readonly logDir: string;
}

/** What a heartbeat carries. */
export interface NodeLoad {
  /** Tasks and actor calls on the node not finished yet. */
  readonly inFlight: number;
  /** CPU slots busy. */
  readonly busyCpus: number;
  /** Actors living on the node. */
  readonly actors: number;
}

/** A live node: its record and last load. */
export interface LiveNode {
  readonly record: NodeRecord;
  readonly load: NodeLoad;
}

/** A named actor, as the actor registry keeps it. */
export interface NamedActorRecord {
  readonly name: string;
  readonly actorId: string;
  readonly nodeId: string;
  readonly className: string;
  readonly methods: readonly string[];
  /** Its generator methods (calls stream their items). */
  readonly streaming?: readonly string[];
  /** Retries of a call sent but not answered when the actor's node died (its `maxTaskRetries`). */
  readonly maxTaskRetries?: number;
}

/** Where an actor lives, as the registry keeps it by actor id while its owner lives (see actor-registry.ts). */
export interface ActorPlacement {
  readonly actorId: string;
  readonly nodeId: string;
  /** Restarts so far (0: its first start). */
  readonly incarnation: number;
  /** Retries of a call sent but not answered when the actor's node died. */
  readonly maxTaskRetries: number;
  /** Its registry name, when named. */
  readonly name?: string;
}

/** Published on {@link EVENTS}. */
export type ClusterEvent =
  | { readonly kind: "actorNamed"; readonly actor: NamedActorRecord }
  /** An actor restarted on another node. */
  | { readonly kind: "actorMoved"; readonly actor: ActorPlacement }
  /** An actor is gone for good (killed, or dead past its restarts); `name` is "" for an unnamed one. */
  | { readonly kind: "actorGone"; readonly name: string; readonly actorId: string }
  | { readonly kind: "nodeChanged" }
  /** A node was declared dead (its heartbeat lapsed); see liveness.ts. */
  | { readonly kind: "nodeDied"; readonly nodeId: string };

/** Splits "HOST:PORT", naming `what` in the error. */
export function parseAddress(address: string, what: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || !(port > 0 && port < 65536)) {
    throw new RangeError(`Expected \`${what}\` to be "HOST:PORT", got "${address}"`);
  }
  return { host: match[1] as string, port };
}

/**
 * Opens a connection, checking the password first so that a wrong one is
 * refused with a clear error (a client that only sends the password on
 * connect reports a closed connection instead).
 */
export async function openRedis(host: string, port: number, password: string, name: string): Promise<Redis> {
  const probe = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false, protocol: 2 });
  // The socket's own error (ECONNREFUSED, ETIMEDOUT, ...) says more than the client's "Connection is closed".
  let cause: Error | undefined;
  probe.on("error", (error: Error) => (cause ??= error));
  try {
    await probe.connect();
  } catch (error) {
    probe.disconnect();
    throw new RayError(`cannot reach the cluster's Redis at ${host}:${port}: ${(cause ?? (error as Error)).message} (is the cluster running? \`rayts start --head\` starts one)`);
  }
  try {
    await probe.call("AUTH", password);
  } catch (error) {
    const message = (error as Error).message;
    throw new RayError(
      `the cluster's Redis at ${host}:${port} refused the password (${message.split(" ")[0]}): pass the \`redisPassword\` printed by \`rayts start --head\``,
    );
  } finally {
    probe.disconnect();
  }
  const redis = new Redis({ host, port, password, connectionName: name, maxRetriesPerRequest: null, protocol: 2 });
  redis.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", resolve);
    redis.once("end", () => reject(new RayError(`the connection to Redis at ${host}:${port} closed`)));
  });
  return redis;
}

/** Typed access to the cluster's keys. */
export class ControlPlane {
  readonly redis: Redis;
  readonly host: string;
  readonly port: number;
  readonly #password: string;
  readonly #extra: Redis[] = [];

  private constructor(redis: Redis, host: string, port: number, password: string) {
    this.redis = redis;
    this.host = host;
    this.port = port;
    this.#password = password;
  }

  /** Connects to the cluster whose Redis is at `address` ("HOST:PORT"). */
  static async connect(address: string, password: string, name: string): Promise<ControlPlane> {
    const { host, port } = parseAddress(address, "address");
    return new ControlPlane(await openRedis(host, port, password, name), host, port, password);
  }

  /** "HOST:PORT" of the Redis. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** A second connection, for blocking reads and subscriptions; closed with this one. */
  async connection(name: string): Promise<Redis> {
    const redis = await openRedis(this.host, this.port, this.#password, name);
    this.#extra.push(redis);
    return redis;
  }

  /** The per-cluster object token, made by the first caller. */
  async token(): Promise<string> {
    await this.redis.set(`${PREFIX}token`, randomBytes(24).toString("base64url"), "NX");
    const token = await this.redis.get(`${PREFIX}token`);
    if (token === null) throw new RayError("the cluster token vanished from Redis");
    return token;
  }

  // ---- nodes ----

  async registerNode(record: NodeRecord, load: NodeLoad): Promise<void> {
    await this.redis
      .multi()
      .hset(`${PREFIX}nodes`, record.nodeId, JSON.stringify(record))
      .set(`${PREFIX}alive:${record.nodeId}`, JSON.stringify(load), "PX", NODE_TTL_MS)
      .publish(EVENTS, JSON.stringify({ kind: "nodeChanged" } satisfies ClusterEvent))
      .exec();
  }

  async heartbeat(nodeId: string, load: NodeLoad): Promise<void> {
    await this.redis.set(`${PREFIX}alive:${nodeId}`, JSON.stringify(load), "PX", NODE_TTL_MS);
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.redis
      .multi()
      .hdel(`${PREFIX}nodes`, nodeId)
      .del(`${PREFIX}alive:${nodeId}`)
      .del(`${PREFIX}tasks:${nodeId}`)
      .hdel(`${PREFIX}holders`, nodeId)
      .publish(EVENTS, JSON.stringify({ kind: "nodeChanged" } satisfies ClusterEvent))
      .exec();
  }

  /** Nodes registered whose heartbeat has not expired, ordered by start time. */
  async liveNodes(): Promise<LiveNode[]> {
    const records = Object.values(await this.redis.hgetall(`${PREFIX}nodes`)).map((text) => JSON.parse(text) as NodeRecord);
    if (records.length === 0) return [];
    const loads = await this.redis.mget(records.map((record) => `${PREFIX}alive:${record.nodeId}`));
    const live: LiveNode[] = [];
    records.forEach((record, index) => {
      const load = loads[index];
      if (load !== null && load !== undefined) live.push({ record, load: JSON.parse(load) as NodeLoad });
    });
    return live.sort((a, b) => a.record.startedAt - b.record.startedAt || a.record.nodeId.localeCompare(b.record.nodeId));
  }

  // ---- functions and code ----

  async publishFunction(key: string, definition: Buffer): Promise<void> {
    await this.redis.hsetnx(`${PREFIX}fn`, key, definition);
  }

  async fetchFunction(key: string): Promise<Buffer | null> {
    return this.redis.hgetBuffer(`${PREFIX}fn`, key);
  }

  async publishCode(hash: string, content: string): Promise<void> {
    await this.redis.set(`${PREFIX}code:${hash}`, content, "NX");
  }

  async fetchCode(hash: string): Promise<string | null> {
    return this.redis.get(`${PREFIX}code:${hash}`);
  }

  // ---- named actors ----

  async namedActors(): Promise<NamedActorRecord[]> {
    return Object.values(await this.redis.hgetall(`${PREFIX}actors`)).map((text) => JSON.parse(text) as NamedActorRecord);
  }

  async unnameActor(name: string, actorId: string): Promise<void> {
    const current = await this.redis.hget(`${PREFIX}actors`, name);
    if (current === null || (JSON.parse(current) as NamedActorRecord).actorId !== actorId) return;
    await this.redis.hdel(`${PREFIX}actors`, name);
    await this.redis.publish(EVENTS, JSON.stringify({ kind: "actorGone", name, actorId } satisfies ClusterEvent));
  }

  // ---- object directory ----

  async registerHolder(holderId: string, address: string): Promise<void> {
    await this.redis.hset(`${PREFIX}holders`, holderId, address);
  }

  async removeHolder(holderId: string): Promise<void> {
    await this.redis.hdel(`${PREFIX}holders`, holderId);
  }

  async holderAddresses(holderIds: readonly string[]): Promise<(string | null)[]> {
    if (holderIds.length === 0) return [];
    return this.redis.hmget(`${PREFIX}holders`, ...holderIds);
  }

  async addLocation(objectId: string, holderId: string): Promise<void> {
    await this.redis.sadd(`${PREFIX}loc:${objectId}`, holderId);
  }

  async locations(objectId: string): Promise<string[]> {
    return this.redis.smembers(`${PREFIX}loc:${objectId}`);
  }

  async dropLocations(objectIds: readonly string[]): Promise<void> {
    if (objectIds.length > 0) await this.redis.del(...objectIds.map((id) => `${PREFIX}loc:${id}`));
  }

  /**
   * Lets the process exit while only these connections are open (a driver
   * script ends after its last await, as in local mode), now and after any
   * reconnection.
   */
  unref(): void {
    for (const redis of [this.redis, ...this.#extra]) {
      const unref = (): void => {
        (redis.stream as { unref?: () => void } | undefined)?.unref?.();
      };
      unref();
      redis.on("connect", unref);
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    for (const redis of [...this.#extra, this.redis]) {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    }
  }
}
