/**
 * Pending demand, as `ray status` shows it: tasks waiting for resources,
 * whether queued on a node or held back in the driver that submitted them
 * (placement.ts sends each node only about its share ahead and keeps the
 * rest; tasks needing a custom resource that is in use wait there too).
 *
 * Each driver publishes what it holds back, grouped by resource shape, in
 * one field of the hash `rayts:demand` (field: driver id). It writes when
 * the figure changed, at most every {@link PUBLISH_MS}, never per task, and
 * removes its field when nothing is held any more or it shuts down. Readers
 * (`rayts status`, the head's dashboard) skip the fields of drivers whose
 * heartbeat key is gone: a driver that died holds nothing.
 */
import type { Redis } from "ioredis";
import { PREFIX, type LiveNode } from "./control-plane.js";
import { driverKey } from "./liveness.js";

/** The hash of every driver's held-back demand. */
export const DEMAND_KEY = `${PREFIX}demand`;
/** Least time between two writes of a driver's demand. */
export const PUBLISH_MS = 100;

/** Tasks of one resource shape, e.g. `{ CPU: 1 }` or `{ CPU: 1, GPU: 1 }`. */
export interface DemandShape {
  readonly resources: Readonly<Record<string, number>>;
  readonly count: number;
}

/** What one driver holds back. */
export interface DriverDemand {
  readonly driverId: string;
  /** Epoch milliseconds of the write. */
  readonly time: number;
  readonly shapes: readonly DemandShape[];
}

/** The pending demand of a cluster (or of a local driver). */
export interface PendingDemand {
  /** Tasks waiting for resources, in all. */
  readonly total: number;
  /** Of those, sent to a node and queued there (from the nodes' heartbeats). */
  readonly queuedOnNodes: number;
  /** Of those, held back in drivers until a node has room. */
  readonly heldByDrivers: number;
  /** Drivers holding some back. */
  readonly drivers: number;
  /** The held-back tasks by resource shape, the largest group first. */
  readonly shapes: readonly DemandShape[];
}

/** The shape's name as `rayts status` prints it: `{"CPU":1,"GPU":1}`. */
export function shapeName(resources: Readonly<Record<string, number>>): string {
  return JSON.stringify(resources);
}

/** Adds `count` tasks of `resources` to `groups` (keyed by shape name). */
export function addShape(groups: Map<string, DemandShape>, resources: Readonly<Record<string, number>>, count: number): void {
  if (count <= 0) return;
  const name = shapeName(resources);
  const group = groups.get(name);
  groups.set(name, { resources, count: (group?.count ?? 0) + count });
}

/** Writes a driver's held-back demand when it changed, at most every {@link PUBLISH_MS}. */
export class DemandPublisher {
  readonly #redis: Redis;
  readonly #driverId: string;
  readonly #read: () => readonly DemandShape[];
  #timer: NodeJS.Timeout | undefined;
  #lastWrite = 0;
  /** The last figure written ("" when the field is absent). */
  #written = "";
  #closed = false;

  /** `read` gives what the driver holds back now; it is called only when a write is due. */
  constructor(redis: Redis, driverId: string, read: () => readonly DemandShape[]) {
    this.#redis = redis;
    this.#driverId = driverId;
    this.#read = read;
  }

  /** The held-back figure may have changed: write it soon (cheap to call per task). */
  changed(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastWrite + PUBLISH_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, wait);
    this.#timer.unref();
  }

  #write(): void {
    if (this.#closed) return;
    this.#lastWrite = performance.now();
    const shapes = this.#read();
    const figure = shapes.length === 0 ? "" : JSON.stringify(shapes);
    if (figure === this.#written) return;
    this.#written = figure;
    const done = figure === "" ? this.#redis.hdel(DEMAND_KEY, this.#driverId) : this.#redis.hset(DEMAND_KEY, this.#driverId, JSON.stringify({ driverId: this.#driverId, time: Date.now(), shapes } satisfies DriverDemand));
    // Redis out of reach: the next change writes again (the figure is only a report).
    done.catch(() => (this.#written = "?"));
  }

  /** Stops writing and removes this driver's field. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#redis.hdel(DEMAND_KEY, this.#driverId).catch(() => undefined);
  }
}

/** The held-back demand of every live driver (fields of drivers that died are skipped). */
export async function readDriverDemand(redis: Redis): Promise<DriverDemand[]> {
  const fields = await redis.hgetall(DEMAND_KEY);
  const ids = Object.keys(fields);
  if (ids.length === 0) return [];
  const alive = await redis.mget(ids.map(driverKey));
  const demand: DriverDemand[] = [];
  const gone: string[] = [];
  ids.forEach((id, index) => {
    const text = fields[id];
    if (alive[index] === null || alive[index] === undefined) gone.push(id);
    else if (text !== undefined) demand.push(JSON.parse(text) as DriverDemand);
  });
  // A driver that exited without shutdown never removes its entry: whoever reads it after the driver's key lapsed does.
  if (gone.length > 0) await redis.hdel(DEMAND_KEY, ...gone);
  return demand;
}

/** Tasks queued on the nodes beyond their CPUs, from their last heartbeats. */
export function queuedOnNodes(nodes: readonly LiveNode[]): number {
  return nodes.reduce((sum, node) => sum + Math.max(0, node.load.inFlight - (node.record.resources["CPU"] ?? 0)), 0);
}

/** The cluster's pending demand: what the nodes queue plus what the drivers hold back. */
export function pendingDemand(queuedOnNodes: number, drivers: readonly DriverDemand[]): PendingDemand {
  const groups = new Map<string, DemandShape>();
  for (const driver of drivers) for (const shape of driver.shapes) addShape(groups, shape.resources, shape.count);
  const shapes = [...groups.values()].sort((a, b) => b.count - a.count);
  const heldByDrivers = shapes.reduce((sum, shape) => sum + shape.count, 0);
  return { total: queuedOnNodes + heldByDrivers, queuedOnNodes, heldByDrivers, drivers: drivers.filter((driver) => driver.shapes.length > 0).length, shapes };
}

/** The `Demand:` lines of `rayts status`. */
export function formatDemand(demand: PendingDemand): string[] {
  if (demand.total === 0) return ["Demand:", "  (no pending tasks)"];
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? "" : "s"}`;
  const held = demand.heldByDrivers === 0 ? "" : `, ${demand.heldByDrivers} held back by ${plural(demand.drivers, "driver")}`;
  return [
    "Demand:",
    `  ${plural(demand.total, "pending task")}: ${demand.queuedOnNodes} queued on nodes${held}`,
    ...demand.shapes.map((shape) => `    ${shapeName(shape.resources)}: ${shape.count} pending`),
  ];
}
