/**
 * The pulling side of object transfer: a small HTTP/1.1 client for the
 * object server's range requests. Node's `http` client hands a body over in
 * 64 KiB pieces that the caller then copies; this one reads each response
 * body straight from the socket into its place in the destination block
 * (the socket's `onread` buffer is the destination itself), so a pulled
 * object is written once, by the kernel, and never concatenated or copied
 * again. Connections are kept alive per holder and reused.
 */
import { connect, type Socket } from "node:net";
import { RayError } from "../core/api/errors.js";
import { allocateSharedBlock } from "../core/store/shared-blocks.js";
import { fromPayload, type Payload } from "./wire.js";
import type { CopyForm, PartialCopy } from "./partial-copy.js";

/** Header carrying the cluster token. */
export const TOKEN_HEADER = "x-rayts-token";
/** Bytes per range request. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Range requests in flight per pull: at most CHUNK_BYTES x this many bytes are on their way. */
export const CHUNKS_IN_FLIGHT = 4;
/** Idle connections kept per holder, closed after {@link IDLE_MS}. */
const IDLE_PER_HOLDER = CHUNKS_IN_FLIGHT * 2;
const IDLE_MS = 30_000;
/** Room for a response head (and the first body bytes read with it). */
const SCRATCH_BYTES = 64 * 1024;

/** A response head. */
interface Head {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
}

/** What a request does with its response: where the body goes, once the head is known. */
interface Exchange {
  /** The destination of a 2xx body (`at`: offset of its first byte), from the head. */
  place(head: Head): { into: Uint8Array; at: number };
  resolve(head: Head): void;
  reject(error: Error): void;
  /** Called with a non-2xx head and the bytes of its body read so far. */
  refused(head: Head, body: string): void;
  /** The body's first `filled` bytes are in place. */
  progress?(filled: number): void;
}

/** One keep-alive connection to a holder, with the state of its current exchange. */
class Connection {
  readonly socket: Socket;
  readonly scratch = new Uint8Array(SCRATCH_BYTES);
  #exchange: Exchange | undefined;
  #headBytes = 0;
  #body: Uint8Array | undefined;
  #filled = 0;
  #head: Head | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  reused = false;
  dead = false;

  constructor(host: string, port: number, onGone: (connection: Connection) => void) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.#buffer(), callback: (bytes: number, into: Uint8Array) => this.#read(bytes, into) },
    });
    const gone = (error?: Error): void => {
      if (this.dead) return;
      this.dead = true;
      onGone(this);
      this.#fail(error ?? new RayError(`the object server at ${host}:${port} closed the connection`));
    };
    this.socket.on("error", gone);
    this.socket.on("close", () => gone());
    this.socket.on("end", () => this.socket.destroy());
  }

  /** Sends one GET; the exchange settles when its whole body is in place. */
  send(request: string, exchange: Exchange): void {
    this.#exchange = exchange;
    this.#headBytes = 0;
    this.#body = undefined;
    this.#head = undefined;
    this.#filled = 0;
    this.socket.ref();
    this.socket.write(request, "latin1");
  }

  /** Where the next read goes. Node asks right after each read, so it must already be right for the next exchange. */
  #buffer(): Uint8Array {
    if (this.#body !== undefined) return this.#body.subarray(this.#filled);
    return this.scratch.subarray(this.#headBytes);
  }

  #read(bytes: number, landed: Uint8Array): boolean {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      this.socket.destroy(); // bytes nobody asked for: the stream is out of step
      return false;
    }
    if (this.#body !== undefined) {
      const expected = this.#body.byteOffset + this.#filled;
      if (landed.buffer !== this.#body.buffer || landed.byteOffset !== expected) this.#body.set(landed.subarray(0, bytes), this.#filled);
      this.#filled += bytes;
      exchange.progress?.(this.#filled);
      if (this.#filled === this.#body.byteLength) this.#finish();
      return true;
    }
    if (landed.buffer !== this.scratch.buffer || landed.byteOffset !== this.#headBytes) this.scratch.set(landed.subarray(0, bytes), this.#headBytes);
    this.#headBytes += bytes;
    const end = Buffer.from(this.scratch.buffer, 0, this.#headBytes).indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.#headBytes === this.scratch.byteLength) return this.#failed(new RayError("the object server sent a response head over 64 KiB"));
      return true;
    }
    const head = parseHead(Buffer.from(this.scratch.buffer, 0, end).toString("latin1"));
    const rest = this.scratch.subarray(end + 4, this.#headBytes);
    const length = Number(head.headers.get("content-length") ?? NaN);
    if (head.status !== 200 && head.status !== 206) {
      this.#exchange = undefined;
      this.socket.destroy(); // the body length may be unknown: never reuse the connection
      exchange.refused(head, Buffer.from(rest).toString("utf8"));
      return false;
    }
    if (!Number.isSafeInteger(length) || length < 0) return this.#failed(new RayError("the object server sent a response without a valid content-length"));
    let place: { into: Uint8Array; at: number };
    try {
      place = exchange.place(head);
    } catch (error) {
      return this.#failed(error as Error);
    }
    if (place.at + length > place.into.byteLength || rest.byteLength > length) {
      return this.#failed(new RayError(`the object server sent ${length} bytes for a range that does not fit the object`));
    }
    this.#head = head;
    this.#body = place.into.subarray(place.at, place.at + length);
    this.#body.set(rest);
    this.#filled = rest.byteLength;
    if (this.#filled > 0) exchange.progress?.(this.#filled);
    if (this.#filled === length) this.#finish();
    return true;
  }

  #finish(): void {
    const exchange = this.#exchange as Exchange;
    const head = this.#head as Head;
    this.#exchange = undefined;
    this.#body = undefined;
    this.#head = undefined;
    this.#headBytes = 0;
    this.socket.unref();
    exchange.resolve(head);
  }

  #failed(error: Error): false {
    this.#fail(error);
    return false;
  }

  #fail(error: Error): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.#body = undefined;
    this.socket.destroy();
    exchange?.reject(error);
  }
}

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? NaN);
  if (!Number.isInteger(status)) throw new RayError(`the object server sent a malformed status line: ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers };
}

/** Idle connections by holder address. */
const idle = new Map<string, Connection[]>();

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(address.slice(colon + 1)) };
}

function takeConnection(address: string): Connection {
  const list = idle.get(address);
  while (list !== undefined && list.length > 0) {
    const connection = list.pop() as Connection;
    clearTimeout(connection.idleTimer);
    if (!connection.dead) {
      connection.reused = true;
      return connection;
    }
  }
  const { host, port } = splitAddress(address);
  return new Connection(host, port, (gone) => {
    const pool = idle.get(address);
    const at = pool?.indexOf(gone) ?? -1;
    if (pool !== undefined && at >= 0) pool.splice(at, 1);
  });
}

function giveBack(address: string, connection: Connection): void {
  if (connection.dead) return;
  let list = idle.get(address);
  if (list === undefined) idle.set(address, (list = []));
  if (list.length >= IDLE_PER_HOLDER) return void connection.socket.destroy();
  list.push(connection);
  connection.idleTimer = setTimeout(() => connection.socket.destroy(), IDLE_MS).unref();
}

/** Closes every idle connection (a process that is shutting down). */
export function closeIdleConnections(): void {
  for (const list of idle.values()) for (const connection of list.splice(0)) connection.socket.destroy();
}

/** The error for a refused request. */
function refusal(address: string, objectId: string, status: number, body: string): RayError {
  if (status === 403) return new RayError(`the object server at ${address} refused the cluster token while pulling object ${objectId}`);
  return new RayError(`pulling object ${objectId} from ${address} failed: HTTP ${status} ${body.trim()}`);
}

/**
 * One range request; the body lands in the block `place` returns for the
 * head. Resolves with the head once the body is in place. A kept-alive
 * connection the server closed meanwhile is retried once on a new one.
 */
function fetchRange(
  address: string,
  objectId: string,
  token: string,
  start: number,
  end: number,
  place: Exchange["place"],
  progress?: (filled: number) => void,
): Promise<Head> {
  const request =
    `GET /o/${objectId} HTTP/1.1\r\nHost: ${address}\r\nConnection: keep-alive\r\n` + `${TOKEN_HEADER}: ${token}\r\nRange: bytes=${start}-${end - 1}\r\n\r\n`;
  const attempt = (retry: boolean): Promise<Head> =>
    new Promise<Head>((resolve, reject) => {
      const connection = takeConnection(address);
      let placed = false;
      connection.send(request, {
        place: (head) => {
          placed = true;
          return place(head);
        },
        resolve: (head) => {
          giveBack(address, connection);
          resolve(head);
        },
        reject: (error) => {
          if (retry && connection.reused && !placed) resolve(attempt(false));
          else reject(error);
        },
        refused: (head, body) => reject(refusal(address, objectId, head.status, body)),
        ...(progress === undefined ? {} : { progress }),
      });
    });
  return attempt(true);
}

/** The transfer form's description in a response head. */
function described(head: Head): CopyForm {
  const size = Number(head.headers.get("x-rayts-size") ?? NaN);
  const kind = head.headers.get("x-rayts-kind") ?? "";
  if (!Number.isSafeInteger(size) || size < 0 || !["ta", "ab", "v8"].includes(kind)) {
    throw new RayError(`the object server sent no valid object size and kind (x-rayts-size ${String(head.headers.get("x-rayts-size"))}, x-rayts-kind ${kind})`);
  }
  return { size, kind: kind as Payload["kind"], type: head.headers.get("x-rayts-type") ?? "" };
}

/** A holder to pull from; `enter`/`leave` bracket the time this pull uses it. */
export interface PullSource {
  readonly address: string;
  enter?(): Promise<void> | void;
  leave?(): void;
}

/** Where a pull stands: the destination once the size is known, and the ranges still missing. */
interface PullState {
  form: CopyForm | undefined;
  into: Uint8Array | undefined;
  /** Start offsets of the ranges not yet in place (after the first, which tells the size). */
  missing: number[];
  /** Where other pullers read this pull's progress (fan-out), if anywhere. */
  readonly copy: PartialCopy | undefined;
}

/**
 * Pulls from one holder every range still missing in `state`, at most
 * {@link CHUNKS_IN_FLIGHT} at a time, each written in place. On the first
 * failure no new range is started; the ranges that failed go back to
 * `state.missing` and the error is thrown once the ranges in flight settled.
 */
async function drain(address: string, objectId: string, token: string, state: PullState): Promise<void> {
  let failure: Error | undefined;
  let headSeen: () => void = () => undefined;
  const range = async (start: number): Promise<void> => {
    const end = state.form === undefined ? CHUNK_BYTES : Math.min(state.form.size, start + CHUNK_BYTES);
    const copy = state.copy;
    try {
      await fetchRange(address, objectId, token, start, end, (head) => {
        const form = described(head);
        if (state.form === undefined) {
          state.form = form;
          // Typed arrays land in shared memory (the store keeps that block as it is); an ArrayBuffer stays one.
          state.into = new Uint8Array(form.kind === "ta" ? allocateSharedBlock(form.size) : new ArrayBuffer(form.size));
          for (let at = CHUNK_BYTES; at < form.size; at += CHUNK_BYTES) state.missing.push(at);
          copy?.sized(form, state.into);
          headSeen();
        } else if (form.size !== state.form.size || form.kind !== state.form.kind) {
          throw new RayError(`object ${objectId} changed size or kind while it was pulled (${state.form.size} then ${form.size} bytes)`);
        }
        return { into: state.into as Uint8Array, at: start };
      }, copy === undefined ? undefined : (filled) => copy.landed(start, filled));
    } catch (error) {
      failure ??= error instanceof Error ? error : new RayError(String(error));
      if (start === 0 && state.form === undefined) return;
      state.missing.push(start);
    }
  };
  const worker = async (): Promise<void> => {
    while (failure === undefined && state.missing.length > 0) await range(state.missing.shift() as number);
  };
  if (state.form === undefined) {
    // The other ranges need the size: wait for the first head only (or its failure), not its body.
    const sized = new Promise<void>((resolve) => (headSeen = resolve));
    const first = range(0);
    await Promise.race([first, sized]);
    await Promise.all([first, ...Array.from({ length: CHUNKS_IN_FLIGHT - 1 }, worker)]);
  } else {
    await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, worker));
  }
  if (failure !== undefined) throw failure;
}

/**
 * Pulls an object from the holder at `address`. The first range request
 * tells the size and kind; the destination is allocated then (shared memory
 * for typed arrays and ArrayBuffers, so the local object store takes it
 * without a copy), and the other ranges follow in parallel, at most
 * {@link CHUNKS_IN_FLIGHT} at a time, each written in place.
 */
export async function pullObject(address: string, objectId: string, token: string): Promise<unknown> {
  return (await pullObjectFrom([{ address }], objectId, token)).value;
}

/**
 * Pulls an object from the first of `sources` that serves it. When a holder
 * fails part way (it died, closed the connection, or no longer holds the
 * object), the ranges already in place are kept and only the missing ones
 * are asked of the next source (typed arrays and ArrayBuffers; a serialized
 * value starts over, as each holder serializes its own copy). Resolves to the value and the index of the
 * source that completed it; throws the last error when every source failed.
 * With `copy`, the pull reports its progress there, so that this process
 * can serve the ranges already in place to other pullers (fan-out).
 */
export async function pullObjectFrom(
  sources: readonly PullSource[],
  objectId: string,
  token: string,
  copy?: PartialCopy,
): Promise<{ value: unknown; source: number }> {
  const state: PullState = { form: undefined, into: undefined, missing: [], copy };
  let lastError: unknown = new RayError(`object ${objectId} could not be pulled: no holder was given`);
  for (const [index, source] of sources.entries()) {
    await source.enter?.();
    try {
      await drain(source.address, objectId, token, state);
      const { kind, type } = state.form as { kind: string; type: string };
      copy?.complete();
      return { value: fromPayload(kind, type, state.into as Uint8Array), source: index };
    } catch (error) {
      lastError = error;
      // Raw bytes are the same on every holder; a serialization made by another holder may differ byte for byte.
      if (state.form?.kind === "v8") {
        state.form = undefined;
        state.into = undefined;
        state.missing.length = 0;
        copy?.reset();
      }
    } finally {
      source.leave?.();
    }
  }
  copy?.fail(lastError instanceof Error ? lastError : new RayError(String(lastError)));
  throw lastError;
}
