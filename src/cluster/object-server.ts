/**
 * Node-to-node object transfer over HTTP. Every holder of large objects (a
 * node, or a driver that `put` one) runs an {@link ObjectServer}; a process
 * that needs an object pulls it in ranges (object-pull.ts). Every request
 * must carry the cluster's token; anything else is refused (403) and
 * logged. Every response states its length, so connections stay alive
 * between ranges.
 *
 * A node that is itself pulling an object serves it from its
 * {@link PartialCopy}: a range is sent as its bytes land. When nothing lands
 * for a while, or the node's own pull fails, the response is cut, and the
 * puller asks another holder for that range.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { TOKEN_HEADER } from "./object-pull.js";
import { PARTIAL_STALL_MS, PartialCopy } from "./partial-copy.js";
import type { Payload } from "./wire.js";

export { CHUNK_BYTES, CHUNKS_IN_FLIGHT, pullObject, TOKEN_HEADER } from "./object-pull.js";

/** Finds the payload of an object this process holds, or its copy still being pulled. */
export type PayloadLookup = (objectId: string) => Promise<Payload | PartialCopy | undefined> | Payload | PartialCopy | undefined;

/** Options of an {@link ObjectServer}. */
export interface ObjectServerOptions {
  /** Told of the bytes each response sent (`partial`: from a copy still being pulled). */
  readonly served?: (bytes: number, partial: boolean) => void;
  /** How long a response from a partial copy waits with nothing landing before it is cut (default {@link PARTIAL_STALL_MS}). */
  readonly stallMs?: number;
}

function sameToken(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A short text response with its length (never chunked). */
function reply(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text);
  res.writeHead(status, { "content-type": "text/plain", "content-length": String(body.byteLength) }).end(body);
}

/** Resolves when `res` can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Serves the objects of one holder. */
export class ObjectServer {
  readonly #server: Server;
  readonly #token: string;
  readonly #lookup: PayloadLookup;
  readonly #log: (line: string) => void;
  readonly #served: ObjectServerOptions["served"];
  readonly #stallMs: number;
  /** Requests refused for a wrong or missing token. */
  refused = 0;
  /** Body bytes sent, in all and from copies still being pulled. */
  readonly sent = { bytes: 0, partialBytes: 0 };

  constructor(token: string, lookup: PayloadLookup, log: (line: string) => void, options: ObjectServerOptions = {}) {
    this.#token = token;
    this.#lookup = lookup;
    this.#log = log;
    this.#served = options.served;
    this.#stallMs = options.stallMs ?? PARTIAL_STALL_MS;
    this.#server = createServer((req, res) => {
      if (!sameToken(req.headers[TOKEN_HEADER], this.#token)) {
        this.refused++;
        this.#log(`object server: refused ${req.method} ${req.url} from ${req.socket.remoteAddress}: wrong or missing cluster token`);
        reply(res, 403, "rayts object server: wrong or missing cluster token\n");
        return;
      }
      const match = /^\/o\/([A-Za-z0-9_.:-]+)$/.exec(req.url ?? "");
      if (req.method !== "GET" || match === null) {
        reply(res, 404, "rayts object server: expected GET /o/<object id>\n");
        return;
      }
      void this.#serve(match[1] as string, req, res);
    });
    // Pullers keep connections between ranges and pulls (they close idle ones after 30 s).
    this.#server.keepAliveTimeout = 60_000;
  }

  async #serve(objectId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let payload: Payload | undefined;
    let copy: PartialCopy | undefined;
    try {
      const found = await this.#lookup(objectId);
      if (found instanceof PartialCopy) {
        const form = await found.whenSized(this.#stallMs);
        if (form !== undefined) {
          copy = found;
          payload = { kind: form.kind, type: form.type, bytes: found.bytes as Uint8Array };
        }
      } else {
        payload = found;
      }
    } catch (error) {
      reply(res, 500, `${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
    if (payload === undefined) {
      reply(res, 404, `object ${objectId} is not held here\n`);
      return;
    }
    await this.#send(req, res, payload, copy);
  }

  /** Sends the requested range of `payload`; from `copy`, each part once it landed. */
  async #send(req: IncomingMessage, res: ServerResponse, payload: Payload, copy: PartialCopy | undefined): Promise<void> {
    const size = payload.bytes.byteLength;
    let start = 0;
    let end = size;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (range !== null) {
      start = Math.min(size, Number(range[1]));
      end = Math.max(start, Math.min(size, Number(range[2]) + 1));
    }
    res.writeHead(range === null ? 200 : 206, {
      "content-length": String(end - start),
      "x-rayts-kind": payload.kind,
      "x-rayts-type": payload.type,
      "x-rayts-size": String(size),
    });
    if (copy === undefined) {
      res.end(payload.bytes.subarray(start, end));
      this.#count(end - start, false);
      return;
    }
    let at = start;
    try {
      while (at < end && !res.destroyed) {
        const upTo = Math.min(end, await copy.readable(at, this.#stallMs));
        const flowing = res.write(payload.bytes.subarray(at, upTo));
        at = upTo;
        if (!flowing && at < end) await drained(res);
      }
      res.end();
    } catch (error) {
      // The head promised the whole range: cutting the connection is how the puller learns it must ask elsewhere.
      this.#log(`object server: stopped sending object ${copy.objectId} at byte ${at} of ${start}-${end}: ${error instanceof Error ? error.message : String(error)}`);
      res.destroy();
    } finally {
      this.#count(at - start, true);
    }
  }

  #count(bytes: number, partial: boolean): void {
    this.sent.bytes += bytes;
    if (partial) this.sent.partialBytes += bytes;
    this.#served?.(bytes, partial);
  }

  /** Starts listening on `host` (port 0: any free one); resolves to the port. */
  listen(host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        const address = this.#server.address();
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
  }

  /** Lets the process exit while the server listens. */
  unref(): void {
    this.#server.unref();
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
