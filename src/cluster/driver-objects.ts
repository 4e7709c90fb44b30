/**
 * The objects a cluster driver owns: refs and their reference counts,
 * `put` (small values inline, large ones held here and announced in the
 * object directory), reading a value (inline, held here, or pulled once
 * from a holder, rebuilt from its lineage when every copy died), refs
 * nested in returned values, and freeing an object on its holders once no
 * ref to it is alive.
 */
import { errorFromData, errorToData, ObjectLostError, ObjectStoreFullError, RayError } from "../core/api/errors.js";
import { nextId } from "../core/runtime/global-state.js";
import { ObjectRef } from "../core/api/object-ref.js";
import { arrowPending, holdsArrowMarkers, preloadArrow } from "./arrow-wire.js";
import type { ControlPlane } from "./control-plane.js";
import type { DriverOutbox } from "./driver-outbox.js";
import { faultSettings } from "./fault-settings.js";
import { pullFromHolders } from "./holders.js";
import type { Lineage } from "./lineage.js";
import { holdsMarkers } from "./nested-refs.js";
import type { NodeTable } from "./node-table.js";
import { OwnershipTable, type OwnedObject } from "./objects.js";
import { reviveReturnedRefs } from "./returned-refs.js";
import type { ActorWire } from "./actor-wire.js";
import { sendableSize } from "./driver-tasks.js";
import { INLINE_LIMIT, toPayload, unshare } from "./wire.js";

export class DriverObjects {
  readonly table: OwnershipTable;
  readonly #driverId: string;
  readonly #plane: ControlPlane;
  readonly #nodes: NodeTable;
  readonly #outbox: DriverOutbox;
  /** Inline objects whose value holds Arrow values. */
  readonly #arrowInline = new WeakSet<OwnedObject>();
  readonly #registry = new FinalizationRegistry<number>((num) => {
    const object = this.table.byNum(num);
    if (object !== undefined) this.table.addRef(object, -1);
  });
  /** Set once the driver made it (it needs this table). */
  lineage!: Lineage;
  /** The cluster's object-server token, set when the driver starts. */
  token = "";
  /** Bytes of the large values this driver holds itself (its puts), bounded by `capacity` (`objectStoreMemory`). */
  heldBytes = 0;
  capacity = Number.POSITIVE_INFINITY;
  /** Rebuilds an actor handle a task returned (set by the driver). */
  adoptActor: ((wire: ActorWire) => unknown) | undefined;

  constructor(driverId: string, plane: ControlPlane, nodes: NodeTable, outbox: DriverOutbox) {
    this.#driverId = driverId;
    this.#plane = plane;
    this.#nodes = nodes;
    this.#outbox = outbox;
    this.table = new OwnershipTable(`${driverId}.`, (object) => this.#freed(object));
  }

  /** The first ref of an object: the object's count drops when the collector takes it. */
  firstRef(object: OwnedObject): ObjectRef<unknown> {
    const ref = new ObjectRef(object.num);
    this.#registry.register(ref, object.num);
    return ref;
  }

  /** Another ref to a known object was made (deserialized, copied). */
  track(ref: ObjectRef<unknown>): void {
    const object = this.table.byNum(ref.num);
    if (object === undefined) return;
    this.table.addRef(object, 1);
    this.#registry.register(ref, ref.num);
  }

  /** The object behind `ref`; throws when this driver does not know it. */
  object(ref: ObjectRef<unknown>): OwnedObject {
    const object = this.table.byNum(ref.num);
    if (object === undefined) throw new RayError(`${String(ref)} is not known to this driver (it was freed, or made by another runtime)`);
    return object;
  }

  /** A new object holding `value` (its count is 1, for the ref the caller makes). */
  putObject(value: unknown): OwnedObject {
    if (arrowPending([value])) return this.#putOnceArrowLoads(value);
    const inline = sendableSize(value, "the value given to put()") <= INLINE_LIMIT;
    const size = inline ? 0 : toPayload(value).bytes.byteLength;
    this.#checkRoom(size);
    const object = this.table.create(nextId());
    this.#fill(object, value, inline, size);
    return object;
  }

  #checkRoom(size: number): void {
    if (this.heldBytes + size > this.capacity) {
      throw new ObjectStoreFullError(
        `put() needs ${size} bytes but this driver holds ${this.heldBytes} of ${this.capacity} (objectStoreMemory) in values it put; ` +
          "free refs you no longer need or raise init({ objectStoreMemory })",
      );
    }
  }

  /** Settles a put object: small values inline, large ones held here and named in the object directory. */
  #fill(object: OwnedObject, value: unknown, inline: boolean, size: number): void {
    this.table.puts++;
    if (inline) {
      const copy = unshare(value);
      // An Arrow value is kept as it is here (get returns it) and sent as a marker (see inlineWire).
      const arrow = copy !== value && holdsArrowMarkers(copy);
      if (arrow) this.#arrowInline.add(object);
      this.table.settle(object, { ok: true, inline: true, value: arrow ? value : copy });
      return;
    }
    object.local = value;
    this.heldBytes += size;
    this.table.settle(object, { ok: true, inline: false, size, holders: [this.#driverId] });
    void this.#plane.addLocation(object.gid, this.#driverId);
  }

  /** An Arrow value met before apache-arrow was loaded: the object settles once it is (as a task result would). */
  #putOnceArrowLoads(value: unknown): OwnedObject {
    const object = this.table.create(nextId());
    void preloadArrow().then(() => {
      if (object.state !== undefined) return;
      try {
        const inline = sendableSize(value, "the value given to put()") <= INLINE_LIMIT;
        const size = inline ? 0 : toPayload(value).bytes.byteLength;
        this.#checkRoom(size);
        this.#fill(object, value, inline, size);
      } catch (error) {
        this.table.settle(object, { ok: false, error: errorToData(error) });
      }
    });
    return object;
  }

  /** Arrow values in the arguments of a task or actor call become refs of objects that settle once apache-arrow is loaded. */
  arrowArgs(args: readonly unknown[]): readonly unknown[] {
    return arrowPending(args) ? args.map((arg) => (arrowPending([arg]) ? this.firstRef(this.putObject(arg)) : arg)) : args;
  }

  /** What an inline object's value travels as in a task message: its Arrow values as markers (see arrow-wire.ts). */
  inlineWire(object: OwnedObject, value: unknown): unknown {
    return this.#arrowInline.has(object) ? unshare(value) : value;
  }

  /** Settles a task's inline result: refs nested in it become objects this driver owns, Arrow values are rebuilt. */
  settleInline(object: OwnedObject, value: unknown): void {
    if (!holdsMarkers(value)) {
      this.table.settle(object, { ok: true, inline: true, value });
      return;
    }
    if (!holdsArrowMarkers(value)) {
      this.table.settle(object, { ok: true, inline: true, value: this.revive(value) });
      return;
    }
    this.#arrowInline.add(object);
    void preloadArrow().then(() => {
      if (object.state === undefined) this.table.settle(object, { ok: true, inline: true, value: this.revive(value) });
    });
  }

  /** What the object server sends for `gid`: a large object held here. */
  payload(gid: string): ReturnType<typeof toPayload> | undefined {
    const object = this.table.byGid(gid);
    return object?.local === undefined ? undefined : toPayload(object.local);
  }

  /** An object's value: inline, held here, or pulled once from a holder. */
  value(object: OwnedObject): unknown {
    const settled = object.state;
    if (settled === undefined) throw new RayError(`object ${object.gid} is not ready`);
    if (!settled.ok) throw errorFromData(settled.error);
    if (settled.inline) return settled.value;
    if (object.local !== undefined) return object.local;
    object.pulled ??= this.#pull(object.gid, settled.holders).catch(async (error: unknown) => {
      if (!(error instanceof ObjectLostError)) throw error;
      // Every copy died with its nodes: rebuild it from its lineage (or fail with ObjectLostError).
      object.pulled = undefined;
      await this.lineage.recover(object);
      return this.value(object);
    });
    return object.pulled;
  }

  /** Refs nested in a returned value (see returned-refs.ts) become objects this driver owns. */
  revive(value: unknown): unknown {
    return reviveReturnedRefs(
      value,
      (wire) => {
        if ("i" in wire) return this.firstRef(this.putObject(wire.i));
        const object = this.table.create(nextId(), wire.r);
        this.table.settle(object, { ok: true, inline: false, size: wire.size, holders: [...wire.holders] });
        return this.firstRef(object);
      },
      this.adoptActor,
    );
  }

  async #pull(gid: string, holders: readonly string[]): Promise<unknown> {
    const lost = (): ObjectLostError => new ObjectLostError(`object ${gid} was lost: every copy was on a node that died (holders ${holders.join(", ") || "none"})`);
    try {
      const { value } = await pullFromHolders(this.#plane.redis, gid, holders, this.token, this.#driverId, lost);
      if (!holdsMarkers(value)) return value;
      if (holdsArrowMarkers(value)) await preloadArrow();
      return this.revive(value);
    } catch (error) {
      if (error instanceof ObjectLostError) throw error;
      // Every holder refused the connection: when they are nodes about to be declared dead, the object is lost.
      const all = [...new Set([...holders, ...(await this.#plane.locations(gid))])];
      const nodes = all.filter((holder) => holder !== this.#driverId);
      const doubtful = nodes.length > 0 && nodes.every((id) => this.lineage.dead.has(id) || this.#nodes.get(id) === undefined || this.#nodes.isSuspect(id));
      if (doubtful && (await this.lineage.awaitDeath(nodes, faultSettings()))) {
        throw new ObjectLostError(`object ${gid} was lost: every copy was on a node that died (holders ${all.join(", ")})`);
      }
      throw error;
    }
  }

  /**
   * At shutdown: frees every large object this driver still owns on its
   * holders and drops its directory entry (objects die with their owner, as
   * in Ray), so that neither node memory nor Redis keys wait for the
   * driver's heartbeat to lapse.
   */
  releaseAll(): void {
    for (const object of this.table.all()) {
      const settled = object.state;
      if (settled?.ok !== true || settled.inline) continue;
      for (const holder of settled.holders) if (holder !== this.#driverId && !this.lineage.dead.has(holder)) this.#outbox.send(holder, { k: "free", ids: [object.gid] });
      this.#outbox.dropLocation(object.gid);
    }
  }

  #freed(object: OwnedObject): void {
    this.lineage.release(object);
    const settled = object.state;
    if (object.local !== undefined && settled?.ok === true && !settled.inline) this.heldBytes -= settled.size;
    object.local = undefined;
    object.pulled = undefined;
    if (settled?.ok !== true || settled.inline) return;
    for (const holder of settled.holders) if (holder !== this.#driverId && !this.lineage.dead.has(holder)) this.#outbox.send(holder, { k: "free", ids: [object.gid] });
    this.#outbox.dropLocation(object.gid);
  }
}
