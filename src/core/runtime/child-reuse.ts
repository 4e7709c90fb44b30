/**
 * Lineage of nested tasks: a task that runs again after its thread died
 * reuses the children its earlier attempt submitted, as in Ray, where a
 * retried parent's nested tasks find their objects already there. Only the
 * work that was lost is repeated, so faults in a tree of tasks do not
 * multiply its executions.
 *
 * The driver keeps, for each running task, the children it submitted in
 * order: their object id, function and a key of their arguments. When the
 * task's thread dies and it will run again, those children are held (they
 * keep running, or keep their results) instead of sharing the thread's
 * fate. The new attempt's n-th submission, if it calls the same function
 * with the same arguments as the earlier n-th one, runs nothing: its object
 * takes the earlier child's outcome. From the first submission that differs
 * on, the attempt runs its own children. What the new attempt did not claim
 * is let go when the task settles.
 */
import type { DriverParts, Owner } from "./driver-parts.js";
import type { Encoded, ResolvedTaskOptions } from "../protocol/protocol.js";

/** Children of one attempt a task records at most (the reuse is bounded). */
const MAX_CHILDREN = 100_000;
/** Argument bytes kept as they are in a key; longer ones are hashed. */
const EXACT_BYTES = 256;
/** Argument bytes hashed at most; a larger argument passed by value is not compared (its child runs again). */
const HASHED_BYTES = 64 * 1024;

interface Child {
  readonly id: number;
  readonly fn: number;
  /** Its function's options and arguments; undefined when they cannot be compared. */
  readonly key: string | undefined;
  /** Held for a later attempt (one count in the store). */
  held: boolean;
}

interface Lineage {
  /** Children of the attempt that died, by submission index. */
  earlier: Child[];
  /** Children of this attempt. */
  readonly current: Child[];
  /** This attempt submitted something else than the earlier one: no more reuse. */
  diverged: boolean;
  /** Children of this attempt that took an earlier child's outcome, to the id they took it from. */
  readonly aliases: Map<number, number>;
}

/** The driver's record of nested submissions, for reuse by retried tasks. */
export class ChildReuse {
  readonly #parts: DriverParts;
  readonly #lineages = new Map<number, Lineage>();

  constructor(parts: DriverParts) {
    this.#parts = parts;
  }

  /**
   * Task `parent`, running on `owner`, submitted task `id`. Returns true when
   * an earlier attempt's child was reused: `id` then exists in the store
   * (borrowed by `owner`) and settles as that child does; nothing is to run.
   */
  submitted(owner: Owner, parent: number, id: number, fn: number, args: readonly Encoded[], options: ResolvedTaskOptions): boolean {
    const parentTask = this.#parts.tasks.live.get(parent);
    if (parentTask === undefined || parentTask.actor !== undefined) return false;
    let lineage = this.#lineages.get(parent);
    if (lineage === undefined) {
      lineage = { earlier: [], current: [], diverged: false, aliases: new Map() };
      this.#lineages.set(parent, lineage);
    }
    const index = lineage.current.length;
    if (index >= MAX_CHILDREN) return false;
    const key = childKey(args, options, lineage.aliases);
    lineage.current.push({ id, fn, key, held: false });
    const earlier = lineage.diverged ? undefined : lineage.earlier[index];
    if (earlier === undefined) return false;
    if (!earlier.held || earlier.fn !== fn || key === undefined || earlier.key !== key || !this.#usable(earlier.id)) {
      lineage.diverged = true;
      return false;
    }
    earlier.held = false; // the hold moves to the follower below
    lineage.aliases.set(id, lineage.aliases.get(earlier.id) ?? earlier.id);
    const parts = this.#parts;
    parts.store.expect(id, 1);
    parts.ownership.borrow(owner, id);
    parts.store.onSettled(earlier.id, (settled) => {
      parts.store.settle(id, settled);
      parts.ownership.addRef(earlier.id, -1);
    });
    return true;
  }

  /** An earlier child can be taken over: it ran (with a value) or will still run. */
  #usable(id: number): boolean {
    const parts = this.#parts;
    if (!parts.store.has(id)) return false;
    if (parts.store.isReady(id)) return parts.store.peek(id)?.ok !== false;
    const task = parts.tasks.live.get(id);
    // A pending object that is not a live task is an earlier follower: it settles as what it follows.
    return task === undefined ? true : task.cancelled === "no";
  }

  /**
   * The thread running `parent` died and the task may run again: the
   * children of the attempt that died are held for the next one (call
   * before the thread's borrows end, so they do not share its fate).
   */
  retrying(parent: number): void {
    const lineage = this.#lineages.get(parent);
    if (lineage === undefined) return;
    const parts = this.#parts;
    const current = lineage.current;
    for (const child of current) {
      if (!parts.store.has(child.id)) continue;
      parts.ownership.addRef(child.id, 1);
      child.held = true;
    }
    const old = lineage.earlier;
    // Earlier children this attempt passed by (it diverged, or reused them) are let go; those past its reach stay.
    for (let i = 0; i < Math.min(old.length, current.length); i++) this.#letGo(old[i] as Child);
    const next = current.concat(lineage.diverged ? [] : old.slice(current.length));
    if (lineage.diverged) for (const child of old.slice(current.length)) this.#letGo(child);
    this.#lineages.set(parent, { earlier: next, current: [], diverged: false, aliases: lineage.aliases });
  }

  /** The tasks the current attempt of `parent` submitted. */
  children(parent: number): number[] {
    return this.#lineages.get(parent)?.current.map((child) => child.id) ?? [];
  }

  /** `parent` settled: the earlier children it did not claim are let go. */
  settled(parent: number): void {
    const lineage = this.#lineages.get(parent);
    if (lineage === undefined) return;
    this.#lineages.delete(parent);
    for (const child of lineage.earlier) this.#letGo(child);
  }

  #letGo(child: Child): void {
    if (!child.held) return;
    child.held = false;
    this.#parts.ownership.addRef(child.id, -1);
  }
}

/**
 * What makes two submissions the same call: options that change what runs,
 * and the arguments (primitives by value, refs by id with reused children
 * mapped to what they reused, shared blocks by id, small serialized values
 * by their bytes). Undefined when the call cannot be compared cheaply.
 */
function childKey(args: readonly Encoded[], options: ResolvedTaskOptions, aliases: ReadonlyMap<number, number>): string | undefined {
  if (options.numReturns !== undefined && options.numReturns !== 1) return undefined;
  let key = `${options.name}\u0000${options.numCpus}\u0000${options.maxRetries}\u0000${String(options.retryExceptions)}`;
  for (const arg of args) {
    const part = argKey(arg, aliases);
    if (part === undefined) return undefined;
    key += `\u0000${part}`;
  }
  return key;
}

function argKey(arg: Encoded, aliases: ReadonlyMap<number, number>): string | undefined {
  if (arg === null) return "null";
  switch (typeof arg) {
    case "string":
      return `s${arg}`;
    case "number":
      return Object.is(arg, -0) ? "n-0" : `n${arg}`;
    case "bigint":
      return `b${arg.toString()}`;
    case "boolean":
      return arg ? "t" : "f";
    case "undefined":
      return "u";
    default:
      break;
  }
  switch (arg.t) {
    case "r":
      return `r${aliases.get(arg.id) ?? arg.id}`;
    case "ta":
      return `ta${arg.c}:${arg.k}:${arg.o}:${arg.n}`;
    case "ab":
      return `ab${arg.k}:${arg.n}`;
    case "s":
      // Nested refs inside differ from one attempt to the next when they name its own children.
      return arg.ids === undefined || arg.ids.length === 0 ? bytesKey(arg.b) : undefined;
    default:
      return undefined;
  }
}

function bytesKey(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength <= EXACT_BYTES) return `x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")}`;
  if (bytes.byteLength > HASHED_BYTES) return undefined;
  // Two 32-bit FNV-1a hashes with different offsets, and the length.
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.byteLength;
  for (let i = 0; i < bytes.byteLength; i++) {
    const byte = bytes[i] as number;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x01000193) ^ (b >>> 13);
  }
  return `h${bytes.byteLength}:${(a >>> 0).toString(36)}:${(b >>> 0).toString(36)}`;
}
