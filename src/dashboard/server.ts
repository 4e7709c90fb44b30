/**
 * The dashboard's HTTP server: the pages (static files, no build step), the
 * JSON API behind them, live updates over server-sent events and a
 * Prometheus `/metrics`. Read-only: it answers GET and HEAD only and runs
 * nothing. Bound to loopback it refuses requests whose Host is not a
 * loopback name (DNS rebinding); bound elsewhere it asks for a token.
 */
import { timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { metricsText } from "./metrics.js";
import { FILTER_FIELDS, filterProblem, type ListKind, type ListOptions, type StateSource } from "./state-source.js";
import type { TaskId } from "../core/api/ids.js";

/** Ports tried after the asked one when it is taken. */
const PORT_TRIES = 20;
/** Compares a secret in constant time (a mismatch takes as long wherever it is). */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Library files the pages import: package and file inside it, served from node_modules. */
const VENDOR: Record<string, [string, string]> = {
  "preact.mjs": ["preact", "dist/preact.module.js"],
  "hooks.mjs": ["preact", "hooks/dist/hooks.module.js"],
  "htm.mjs": ["htm", "dist/htm.module.js"],
  "uplot.mjs": ["uplot", "dist/uPlot.esm.js"],
  "uplot.css": ["uplot", "dist/uPlot.min.css"],
};

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
}

/** Something that pushes live updates to the browser. */
export interface LiveFeed {
  /** Calls `send(event, data)` for each update; returns a function that stops it. */
  subscribe(send: (event: string, data: unknown) => void): () => void;
}

export class DashboardServer {
  readonly #source: StateSource;
  readonly #feed: LiveFeed;
  readonly #options: ServerOptions;
  readonly #server: Server;
  readonly #pages = fileURLToPath(new URL("./pages/", import.meta.url));
  readonly #require = createRequire(import.meta.url);
  readonly #streams = new Set<ServerResponse>();
  #port = 0;

  constructor(source: StateSource, feed: LiveFeed, options: ServerOptions) {
    this.#source = source;
    this.#feed = feed;
    this.#options = options;
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.#json(response, 500, { error: error instanceof Error ? error.message : String(error) });
        else response.end();
      });
    });
    // A script ends after its last await, as without a dashboard, even with a browser connected.
    this.#server.unref();
    this.#server.on("connection", (socket) => socket.unref());
  }

  /** Listens on the asked port, or the next free one; resolves with the port used. */
  async listen(): Promise<number> {
    const asked = this.#options.port;
    for (let attempt = 0; ; attempt++) {
      const port = asked === 0 ? 0 : attempt < PORT_TRIES ? asked + attempt : 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const fail = (error: Error): void => reject(error);
          this.#server.once("error", fail);
          this.#server.listen(port, this.#options.host, () => {
            this.#server.off("error", fail);
            resolve();
          });
        });
        this.#port = (this.#server.address() as AddressInfo).port;
        return this.#port;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || port === 0) throw error;
      }
    }
  }

  get url(): string {
    const host = this.#options.host.includes(":") ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${this.#port}`;
  }

  async close(): Promise<void> {
    for (const stream of this.#streams) stream.end();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #authorized(request: IncomingMessage, url: URL): boolean {
    const token = this.#options.token;
    if (token !== undefined) return sameSecret(request.headers.authorization, `Bearer ${token}`) || sameSecret(url.searchParams.get("token") ?? undefined, token);
    return LOOPBACK_HOST.test(request.headers.host ?? "");
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://dashboard");
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end("the rayts dashboard is read-only\n");
      return;
    }
    if (!this.#authorized(request, url)) {
      if (this.#options.token === undefined) {
        response.writeHead(403, { "content-type": "text/plain" }).end("the rayts dashboard answers only requests addressed to a loopback host (127.0.0.1, localhost)\n");
      } else {
        response
          .writeHead(401, { "content-type": "text/plain" })
          .end("this rayts dashboard asks for its token: open it as /?token=<token>, send `Authorization: Bearer <token>`, or give the CLI --token\n");
      }
      return;
    }
    const route = url.pathname;
    if (route === "/events") {
      this.#events(response);
      return;
    }
    if (route === "/metrics") {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metricsText(await this.#source.status()));
      return;
    }
    if (route.startsWith("/api/")) return this.#api(route.slice(5), url, response);
    const name = route.slice(1);
    if (route.startsWith("/vendor/")) this.#file(response, this.#vendor(route.slice(8)));
    else if (route === "/" || route === "/index.html") this.#file(response, path.join(this.#pages, "index.html"));
    else if (/^[\w-]+\.(js|css)$/.test(name)) this.#file(response, path.join(this.#pages, name));
    else response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }

  #vendor(name: string): string | undefined {
    const entry = Object.hasOwn(VENDOR, name) ? VENDOR[name] : undefined;
    if (entry === undefined) return undefined;
    const [pkg, file] = entry;
    try {
      // A package's `exports` may hide its files from resolve: find its folder from its main entry.
      for (let dir = path.dirname(this.#require.resolve(pkg)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === pkg) return path.join(dir, file);
      }
    } catch {
      // Not installed: a 404.
    }
    return undefined;
  }

  #file(response: ServerResponse, file: string | undefined): void {
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    createReadStream(file).pipe(response);
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
  }

  async #api(route: string, url: URL, response: ServerResponse): Promise<void> {
    const answer = await apiAnswer(this.#source, route, url.searchParams);
    this.#json(response, answer.status, answer.body);
  }

  #events(response: ServerResponse): void {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    response.socket?.unref();
    response.write("retry: 2000\n\n");
    this.#streams.add(response);
    const stop = this.#feed.subscribe((event, data) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    response.on("close", () => {
      stop();
      this.#streams.delete(response);
    });
  }
}

/** `limit`, `offset` and every other query parameter as an equality filter. */
function listOptions(params: URLSearchParams): ListOptions | { error: string } {
  const filter: Record<string, string> = {};
  let limit: number | undefined;
  let offset: number | undefined;
  for (const [key, value] of params) {
    if (key === "limit" || key === "offset") {
      const number = Number(value);
      if (!Number.isInteger(number) || number < (key === "limit" ? 1 : 0)) return { error: `Expected \`${key}\` to be an integer from ${key === "limit" ? 1 : 0} and up, got "${value}"` };
      if (key === "limit") limit = number;
      else offset = number;
    } else if (key !== "token") filter[key] = value;
  }
  return { filter, ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) };
}

/**
 * The JSON API: the answer to `/api/<route>?<params>` from `source`, for the
 * server and for the CLI when it reads a cluster's Redis directly.
 */
export async function apiAnswer(source: StateSource, route: string, params: URLSearchParams): Promise<{ status: number; body: unknown }> {
  const task = /^tasks\/([^/]+)$/.exec(route);
  if (task !== null && task[1] !== "summary") {
    let id: string;
    try {
      id = decodeURIComponent(task[1] as string);
    } catch {
      return { status: 400, body: { error: `Expected a percent-encoded task id after /api/tasks/, got "${task[1] as string}"` } };
    }
    const detail = await source.getTask(id as TaskId, params.get("nodeId") ?? undefined);
    return detail === undefined ? { status: 404, body: { error: `no task ${task[1]} is recorded` } } : { status: 200, body: detail };
  }
  const options = listOptions(params);
  if ("error" in options) return { status: 400, body: options };
  const problem = Object.hasOwn(FILTER_FIELDS, route) && options.filter !== undefined ? filterProblem(route as ListKind, options.filter) : undefined;
  if (problem !== undefined) return { status: 400, body: { error: problem } };
  const handlers: Record<string, () => Promise<unknown>> = {
    status: () => source.status(),
    tasks: () => source.listTasks(options),
    "tasks/summary": () => source.summarizeTasks(),
    actors: () => source.listActors(options),
    nodes: () => source.listNodes(options),
    workers: () => source.listWorkers(options),
    objects: () => source.listObjects(options),
    memory: () => source.memorySummary(),
    logs: () => source.listLogs(options),
    timeline: async () => ({ traceEvents: await source.timeline(), displayTimeUnit: "ms" }),
  };
  const handler = Object.hasOwn(handlers, route) ? handlers[route] : undefined;
  if (handler === undefined) return { status: 404, body: { error: `unknown API ${route}; expected one of ${Object.keys(handlers).join(", ")}, tasks/<id>` } };
  return { status: 200, body: await handler() };
}
