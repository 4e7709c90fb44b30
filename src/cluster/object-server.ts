/**
 * Node-to-node object transfer over HTTP. Every holder of large objects (a
 * node, or a driver that `put` one) runs an {@link ObjectServer}; a process
 * that needs an object pulls it with {@link pullObject} in chunks, several
 * at a time with a cap on the bytes in flight. Every request must carry the
 * cluster's token; anything else is refused (403) and logged.
 */
import { createServer, request, Agent, type IncomingMessage, type Server } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { RayError } from "../core/errors.js";
import { fromPayload, type Payload } from "./wire.js";

/** Header carrying the cluster token. */
export const TOKEN_HEADER = "x-rayts-token";
/** Bytes per range request. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Range requests in flight per pull: at most CHUNK_BYTES x this many bytes are on their way. */
export const CHUNKS_IN_FLIGHT = 4;

/** Finds the payload of an object this process holds. */
export type PayloadLookup = (objectId: string) => Promise<Payload | undefined> | Payload | undefined;

function sameToken(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Serves the objects of one holder. */
export class ObjectServer {
  readonly #server: Server;
  readonly #token: string;
  readonly #lookup: PayloadLookup;
  readonly #log: (line: string) => void;
  /** Requests refused for a wrong or missing token. */
  refused = 0;

  constructor(token: string, lookup: PayloadLookup, log: (line: string) => void) {
    this.#token = token;
    this.#lookup = lookup;
    this.#log = log;
    this.#server = createServer((req, res) => {
      if (!sameToken(req.headers[TOKEN_HEADER], this.#token)) {
        this.refused++;
        this.#log(`object server: refused ${req.method} ${req.url} from ${req.socket.remoteAddress}: wrong or missing cluster token`);
        res.writeHead(403, { "content-type": "text/plain" }).end("rayts object server: wrong or missing cluster token\n");
        return;
      }
      const match = /^\/o\/([A-Za-z0-9_.:-]+)$/.exec(req.url ?? "");
      if (req.method !== "GET" || match === null) {
        res.writeHead(404).end();
        return;
      }
      void this.#serve(match[1] as string, req, res);
    });
  }

  async #serve(objectId: string, req: IncomingMessage, res: import("node:http").ServerResponse): Promise<void> {
    let payload: Payload | undefined;
    try {
      payload = await this.#lookup(objectId);
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String((error as Error).message));
      return;
    }
    if (payload === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`object ${objectId} is not held here\n`);
      return;
    }
    const size = payload.bytes.byteLength;
    let start = 0;
    let end = size;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (range !== null) {
      start = Math.min(size, Number(range[1]));
      end = Math.min(size, Number(range[2]) + 1);
    }
    res.writeHead(range === null ? 200 : 206, {
      "content-length": String(end - start),
      "x-rayts-kind": payload.kind,
      "x-rayts-type": payload.type,
      "x-rayts-size": String(size),
    });
    res.end(payload.bytes.subarray(start, end));
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

const agent = new Agent({ keepAlive: true, maxSockets: CHUNKS_IN_FLIGHT * 4 });

interface Chunk {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer | undefined;
}

/** One range request; copies the body straight into `into` at `at` when given. */
function fetchRange(address: string, objectId: string, token: string, start: number, end: number, into?: Uint8Array, at = 0): Promise<Chunk> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: `/o/${objectId}`, method: "GET", agent, headers: { [TOKEN_HEADER]: token, range: `bytes=${start}-${end - 1}` } },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 206 && status !== 200) {
          const parts: Buffer[] = [];
          res.on("data", (part: Buffer) => parts.push(part));
          res.on("end", () => resolve({ status, headers: res.headers, body: Buffer.concat(parts) }));
          return;
        }
        let offset = at;
        const parts: Buffer[] = [];
        res.on("data", (part: Buffer) => {
          if (into !== undefined) {
            into.set(part, offset);
            offset += part.byteLength;
          } else parts.push(part);
        });
        res.on("end", () => resolve({ status, headers: res.headers, body: into === undefined ? Buffer.concat(parts) : undefined }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function refusal(address: string, objectId: string, chunk: Chunk): RayError {
  if (chunk.status === 403) {
    return new RayError(`the object server at ${address} refused the cluster token while pulling object ${objectId}`);
  }
  return new RayError(`pulling object ${objectId} from ${address} failed: HTTP ${chunk.status} ${chunk.body?.toString("utf8").trim() ?? ""}`);
}

/**
 * Pulls an object from the holder at `address`: the first chunk tells the
 * size, then the rest arrives in parallel ranges written straight into one
 * buffer, at most {@link CHUNKS_IN_FLIGHT} at a time.
 */
export async function pullObject(address: string, objectId: string, token: string): Promise<unknown> {
  const first = await fetchRange(address, objectId, token, 0, CHUNK_BYTES);
  if (first.status !== 206 && first.status !== 200) throw refusal(address, objectId, first);
  const size = Number(first.headers["x-rayts-size"]);
  const kind = String(first.headers["x-rayts-kind"]);
  const type = String(first.headers["x-rayts-type"] ?? "");
  const head = first.body as Buffer;
  if (head.byteLength >= size) return fromPayload(kind, type, size === head.byteLength && head.byteOffset === 0 ? head : new Uint8Array(head));
  const bytes = new Uint8Array(new ArrayBuffer(size));
  bytes.set(head, 0);
  let next = head.byteLength;
  const worker = async (): Promise<void> => {
    while (next < size) {
      const start = next;
      const end = Math.min(size, start + CHUNK_BYTES);
      next = end;
      const chunk = await fetchRange(address, objectId, token, start, end, bytes, start);
      if (chunk.status !== 206 && chunk.status !== 200) throw refusal(address, objectId, chunk);
    }
  };
  await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, worker));
  return fromPayload(kind, type, bytes);
}
