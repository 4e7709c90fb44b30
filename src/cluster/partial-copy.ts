/**
 * A copy of a large object that is still being pulled, readable by range as
 * its bytes land. A node that pulls an object serves it to other pullers
 * before it has the whole object (see object-server.ts), so a broadcast
 * flows down a chain of nodes instead of leaving the source's link once per
 * receiver.
 *
 * The pull fills the destination in ranges of {@link CHUNK_BYTES}, each
 * written front to back by one response. Per range, the copy keeps how many
 * leading bytes are in place: bytes [start, start + landed) of that range
 * can be sent on. A range that failed and is asked again of another holder
 * is rewritten with the same bytes (raw bytes are the same on every holder),
 * so what was counted as landed stays valid. Serialized values (kind "v8")
 * are never served from a partial copy: another holder's serialization may
 * differ byte for byte.
 */
import { RayError } from "../core/api/errors.js";
import { CHUNK_BYTES } from "./object-pull.js";
import type { Payload } from "./wire.js";

/** The transfer form of an object: its size, kind and typed-array type. */
export interface CopyForm {
  readonly size: number;
  readonly kind: Payload["kind"];
  readonly type: string;
}

/**
 * How long a reader waits with no byte landing anywhere in the copy before
 * it gives up (its puller then asks a full holder).
 */
export const PARTIAL_STALL_MS = 20_000;

/** A copy being pulled; see the file comment. */
export class PartialCopy {
  readonly objectId: string;
  #form: CopyForm | undefined;
  #into: Uint8Array | undefined;
  /** Leading bytes in place per range of CHUNK_BYTES. */
  #landed: number[] = [];
  #failure: Error | undefined;
  #complete = false;
  readonly #waiters = new Set<() => void>();

  constructor(objectId: string) {
    this.objectId = objectId;
  }

  /** The form, once the first response head told it. */
  get form(): CopyForm | undefined {
    return this.#form;
  }

  /** The destination block (undefined until sized). */
  get bytes(): Uint8Array | undefined {
    return this.#into;
  }

  /** True when ranges of this copy may be served (raw bytes, sized, not failed). */
  get servable(): boolean {
    return this.#failure === undefined && this.#form !== undefined && this.#form.kind !== "v8";
  }

  /** The pull learnt the object's form and allocated its destination. */
  sized(form: CopyForm, into: Uint8Array): void {
    this.#form = form;
    this.#into = into;
    this.#landed = new Array<number>(Math.ceil(form.size / CHUNK_BYTES)).fill(0);
    this.#wake();
  }

  /** The pull started over (a serialized value from another holder): nothing here is valid any more. */
  reset(): void {
    this.#form = undefined;
    this.#into = undefined;
    this.#landed = [];
    this.#wake();
  }

  /** `filled` leading bytes of the range starting at `start` are in place. */
  landed(start: number, filled: number): void {
    const index = Math.floor(start / CHUNK_BYTES);
    if (index >= this.#landed.length || filled <= (this.#landed[index] as number)) return;
    this.#landed[index] = filled;
    this.#wake();
  }

  /** Every byte is in place. */
  complete(): void {
    const size = this.#form?.size ?? 0;
    this.#landed = this.#landed.map((_, index) => Math.min(CHUNK_BYTES, size - index * CHUNK_BYTES));
    this.#complete = true;
    this.#wake();
  }

  /** The pull gave up: readers stop waiting and fail. */
  fail(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }

  /** The end of the bytes in place from `offset` on, without a gap (`offset` itself when none). */
  available(offset: number): number {
    const size = this.#form?.size ?? 0;
    if (this.#complete) return size;
    let at = offset;
    for (let index = Math.floor(offset / CHUNK_BYTES); index < this.#landed.length; index++) {
      const start = index * CHUNK_BYTES;
      const end = start + (this.#landed[index] as number);
      if (end <= at) return at;
      at = end;
      if (end < Math.min(size, start + CHUNK_BYTES)) return at;
    }
    return at;
  }

  /**
   * Resolves once the form is known (undefined when the copy cannot be
   * served: a serialized value, or a failed pull); gives up after
   * `stallMs` with nothing landing.
   */
  async whenSized(stallMs = PARTIAL_STALL_MS): Promise<CopyForm | undefined> {
    while (this.#form === undefined && this.#failure === undefined) await this.#next(stallMs);
    return this.servable ? this.#form : undefined;
  }

  /**
   * Resolves to the end of the bytes in place from `offset` on, once there
   * is at least one past `offset` (waiting for the size first). Rejects when the pull failed or started
   * over, or when nothing landed anywhere in the copy for `stallMs`.
   */
  async readable(offset: number, stallMs = PARTIAL_STALL_MS): Promise<number> {
    while (this.#form === undefined && this.#failure === undefined) await this.#next(stallMs);
    const form = this.#form;
    for (;;) {
      if (this.#failure !== undefined) throw new RayError(`the partial copy of object ${this.objectId} here failed: ${this.#failure.message}`);
      if (this.#form !== form) throw new RayError(`the partial copy of object ${this.objectId} here started over`);
      const end = this.available(offset);
      if (end > offset) return end;
      await this.#next(stallMs);
    }
  }

  /** Waits for the next change of the copy; rejects after `stallMs` without one. */
  #next(stallMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const woken = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(woken);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(woken);
        reject(new RayError(`no byte of object ${this.objectId} landed here for ${stallMs} ms`));
      }, stallMs);
      this.#waiters.add(woken);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
