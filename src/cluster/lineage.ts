/**
 * Lineage reconstruction on a driver, as Ray's owners do: the owner keeps,
 * for every task output it owns, the work that made it (function, arguments,
 * options). When every copy of a large output was on nodes that died, `get`
 * re-runs that task, first rebuilding its own lost inputs (recursively, at
 * most {@link MAX_LINEAGE_DEPTH} levels), spending the task's `maxRetries`.
 * An object with no lineage (a `put`), or out of retries, fails with
 * `ObjectLostError`.
 *
 * Lineage is bounded, as Ray bounds it (`RAY_max_lineage_bytes`): only the
 * outputs stored on nodes keep theirs (an inline value or an error is never
 * lost), an output's lineage lives while the output or a kept output made
 * from it does, and past `RAYTS_MAX_LINEAGE_BYTES` (default 1 GiB) of task
 * specs the oldest lineage is evicted; an object whose lineage was evicted
 * and whose copies are all lost fails with an `ObjectLostError` saying so.
 */
import { serialize } from "node:v8";
import { errorToData, ObjectLostError } from "../core/api/errors.js";
import { isObjectRef } from "../core/api/object-ref.js";
import type { Work } from "./driver-actors.js";
import type { FaultSettings } from "./fault-settings.js";
import type { OwnedObject, OwnershipTable } from "./objects.js";

/** Levels of inputs rebuilt at most for one object. */
export const MAX_LINEAGE_DEPTH = 100;

/** Ray's default lineage cap: 1 GiB of task specs. */
export const DEFAULT_MAX_LINEAGE_BYTES = 2 ** 30;

/** The lineage cap of this process: `RAYTS_MAX_LINEAGE_BYTES`, else 1 GiB (a bad value is an error naming the variable). */
export function maxLineageBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env["RAYTS_MAX_LINEAGE_BYTES"];
  if (text === undefined || text === "") return DEFAULT_MAX_LINEAGE_BYTES;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Expected the environment variable RAYTS_MAX_LINEAGE_BYTES to be a positive whole number of bytes, got "${text}"`);
  }
  return value;
}

/** Bytes of one argument as the task spec keeps it (refs are small; values count their size). */
function argBytes(arg: unknown): number {
  if (isObjectRef(arg)) return 48;
  if (typeof arg === "string") return 2 * arg.length;
  if (arg === null || typeof arg !== "object") return 16;
  if (ArrayBuffer.isView(arg)) return arg.byteLength;
  if (arg instanceof ArrayBuffer || arg instanceof SharedArrayBuffer) return arg.byteLength;
  try {
    return serialize(arg).byteLength;
  } catch {
    return 64;
  }
}

/** The size of a task spec kept for lineage: its function key and name, and its arguments. */
export function taskSpecBytes(fnKey: string, name: string, args: readonly unknown[]): number {
  let bytes = 64 + 2 * (fnKey.length + name.length);
  for (const arg of args) bytes += argBytes(arg);
  return bytes;
}

/** A stored output's lineage, counted against the cap. */
interface Kept {
  readonly work: Work;
  readonly bytes: number;
  /** The output itself while it lives, plus every kept output made from it. */
  holds: number;
  /** Whether the output's own hold was released (it was freed). */
  freed: boolean;
}

export class Lineage {
  readonly #objects: OwnershipTable;
  readonly #whenReady: (work: Work) => void;
  /** Outputs not settled yet (not counted), and how to size their spec. */
  readonly #pending = new Map<OwnedObject, { readonly work: Work; readonly bytes: () => number }>();
  /** Outputs stored on nodes, oldest first: the ones counted against the cap. */
  readonly #kept = new Map<OwnedObject, Kept>();
  readonly #evicted = new WeakSet<OwnedObject>();
  readonly #recovering = new Map<OwnedObject, Promise<void>>();
  /** The cap on the bytes of task specs kept. */
  readonly maxBytes: number;
  /** Bytes of task specs kept now. */
  bytes = 0;
  /** Lineage entries evicted to stay under the cap. */
  evictions = 0;
  /** Nodes declared dead: no copy there is reachable. */
  readonly dead = new Set<string>();
  /** Tasks run again to rebuild lost objects. */
  reruns = 0;

  constructor(objects: OwnershipTable, whenReady: (work: Work) => void, maxBytes = maxLineageBytes()) {
    this.#objects = objects;
    this.#whenReady = whenReady;
    this.maxBytes = maxBytes;
  }

  /** Remembers how `object` was made; `bytes` sizes its spec once it is stored on a node. */
  record(object: OwnedObject, work: Work, bytes: () => number): void {
    this.#pending.set(object, { work, bytes });
    object.waiters.push(() => this.#settled(object));
  }

  #work(object: OwnedObject): Work | undefined {
    return this.#kept.get(object)?.work ?? this.#pending.get(object)?.work;
  }

  /** An output settled: a stored one keeps its lineage (counted), an inline value or an error drops it. */
  #settled(object: OwnedObject): void {
    const pending = this.#pending.get(object);
    this.#pending.delete(object);
    const settled = object.state;
    const stored = settled?.ok === true && !settled.inline;
    if (!stored) {
      this.#drop(object);
      return;
    }
    if (pending === undefined || this.#kept.has(object)) return; // a rebuilt output keeps its place
    const kept: Kept = { work: pending.work, bytes: pending.bytes(), holds: 1, freed: false };
    for (const dep of kept.work.deps) {
      const input = this.#kept.get(dep);
      if (input !== undefined) input.holds++;
    }
    this.#kept.set(object, kept);
    this.bytes += kept.bytes;
    for (const [oldest] of this.#kept) {
      if (this.bytes <= this.maxBytes) break;
      this.#evicted.add(oldest);
      this.evictions++;
      // The task cannot run again once its lineage is gone: let its arguments go too.
      oldest.retry = undefined;
      this.#drop(oldest);
    }
  }

  /** `object` was freed in this driver: its lineage goes once no kept output made from it needs it. */
  release(object: OwnedObject): void {
    const kept = this.#kept.get(object);
    if (kept === undefined || kept.freed) return;
    kept.freed = true;
    if (--kept.holds <= 0) this.#drop(object);
  }

  #drop(object: OwnedObject): void {
    const kept = this.#kept.get(object);
    if (kept === undefined) return;
    this.#kept.delete(object);
    this.bytes -= kept.bytes;
    for (const dep of kept.work.deps) {
      const input = this.#kept.get(dep);
      if (input !== undefined && --input.holds <= 0) this.#drop(dep);
    }
  }

  #lost(object: OwnedObject): boolean {
    const settled = object.state;
    return settled?.ok === true && !settled.inline && object.local === undefined && settled.holders.every((holder) => this.dead.has(holder));
  }

  /**
   * Rebuilds `object` when its every copy is known lost (called once a pull
   * found no live holder); otherwise it is left alone. Settles it again,
   * with its value or with ObjectLostError.
   */
  recover(object: OwnedObject, depth = 0, known = true): Promise<void> {
    if (object.state === undefined) return this.#objects.whenSettled([object], 1, undefined).then(() => undefined);
    if (!(known || this.#lost(object))) return Promise.resolve();
    const settled = object.state;
    if (!settled.ok || settled.inline || object.local !== undefined) return Promise.resolve();
    const running = this.#recovering.get(object);
    if (running !== undefined) return running;
    const work = this.#work(object);
    if (work === undefined || object.retriesLeft <= 0 || depth >= MAX_LINEAGE_DEPTH) {
      const why =
        work === undefined
          ? this.#evicted.has(object)
            ? `its lineage was evicted to keep the task specs this driver keeps for rebuilding under ${this.maxBytes} bytes; raise RAYTS_MAX_LINEAGE_BYTES to keep more`
            : "it was put, and a put object has no lineage to rebuild it from"
          : depth >= MAX_LINEAGE_DEPTH
            ? `its lineage is deeper than ${MAX_LINEAGE_DEPTH} tasks`
            : "the task that made it ran out of retries (maxRetries)";
      object.state = { ok: false, error: errorToData(new ObjectLostError(`object ${object.gid} was lost: every copy was on a node that died (${settled.holders.join(", ")}), and ${why}`)) };
      return Promise.resolve();
    }
    // Inputs freed in this driver since (their copies freed too) are brought back, rebuilt, and held until this task ran again.
    const freed = new Set(work.deps.filter((dep) => this.#objects.revive(dep)));
    this.#objects.revive(object);
    object.deps = [...work.deps];
    for (const dep of object.deps) this.#objects.pin(dep);
    const rebuilt = (async () => {
      await Promise.all(work.deps.map((dep) => this.recover(dep, depth + 1, freed.has(dep))));
      object.retriesLeft--;
      this.reruns++;
      object.state = undefined;
      object.pulled = undefined;
      const size = this.#kept.get(object)?.bytes ?? 0;
      this.#pending.set(object, { work, bytes: () => size });
      object.waiters.push(() => this.#settled(object));
      this.#whenReady(work);
      await this.#objects.whenSettled([object], 1, undefined);
    })().finally(() => this.#recovering.delete(object));
    this.#recovering.set(object, rebuilt);
    return rebuilt;
  }

  /**
   * Waits until every one of `nodeIds` is declared dead (true), or gives up
   * after two times to live (false: some of them are alive after all).
   */
  async awaitDeath(nodeIds: readonly string[], settings: FaultSettings): Promise<boolean> {
    const deadline = Date.now() + 2 * settings.deadMs + 2 * settings.heartbeatMs;
    while (!nodeIds.every((id) => this.dead.has(id))) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, settings.heartbeatMs / 2));
    }
    return true;
  }

  /**
   * A task failed because an input was lost: rebuilds the lost inputs and
   * runs it again, spending one retry. False when it has none left.
   */
  retryAfterLoss(object: OwnedObject): boolean {
    const work = this.#work(object);
    if (work === undefined || object.retriesLeft <= 0) return false;
    object.retriesLeft--;
    this.reruns++;
    object.sent = false;
    void Promise.all(work.deps.map((dep) => this.recover(dep, 1, false))).then(() => this.#whenReady(work));
    return true;
  }
}
