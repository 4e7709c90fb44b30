/**
 * Where the observability commands read from: the JSON API and live
 * updates of a dashboard (a driver's or a cluster head's), or a cluster's
 * Redis read directly through {@link ClusterState} (no dashboard needed).
 */
import { deserialize } from "node:v8";
import type { ControlPlane } from "../cluster/control-plane.js";
import type { LogBatch } from "../cluster/event-publisher.js";
import type { ClusterState } from "./cluster-state.js";
import type { LogLine } from "./state-source.js";
import { formatId, type TaskId } from "../core/api/ids.js";

/** A line stream started by {@link Target.follow}. */
export interface Following {
  /** Resolves when the source ends the stream (the dashboard went away). */
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

export interface Target {
  /** The answer of `/api/<path>?<query>`; throws with the error the source gave. */
  get<T>(path: string, query?: [string, string][]): Promise<T>;
  /** Calls `onLine` for each line printed from now on; resolves once subscribed. */
  follow(onLine: (line: LogLine) => void): Promise<Following>;
  close(): Promise<void>;
}

/** What a target is opened from. */
export interface TargetFlags {
  /** A dashboard URL, or "HOST:PORT" of a cluster's Redis when `redisPassword` is given. */
  readonly address: string;
  readonly token: string | undefined;
  readonly redisPassword: string | undefined;
}

export async function openTarget(flags: TargetFlags): Promise<Target> {
  return flags.redisPassword === undefined ? new DashboardTarget(flags.address, flags.token) : RedisTarget.open(flags.address, flags.redisPassword);
}

class DashboardTarget implements Target {
  readonly #address: string;
  readonly #headers: Record<string, string>;

  constructor(address: string, token: string | undefined) {
    this.#address = address;
    this.#headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  #unreachable(): Error {
    return new Error(`no rayts dashboard answers at ${this.#address}: start a driver (ray.init()) or a head (rayts start --head), or pass --address`);
  }

  async get<T>(path: string, query: [string, string][] = []): Promise<T> {
    const url = new URL(`${this.#address}/api/${path}`);
    for (const [key, value] of query) url.searchParams.append(key, value);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.#headers });
    } catch {
      throw this.#unreachable();
    }
    if (response.status === 401 || response.status === 403) throw this.#refused(response.status);
    const text = await response.text();
    let body: T & { error?: string };
    try {
      body = JSON.parse(text) as T & { error?: string };
    } catch {
      throw new Error(`${this.#address} answered ${response.status} with something other than the rayts dashboard's JSON: ${JSON.stringify(text.slice(0, 200))}`);
    }
    if (!response.ok) throw new Error(`${this.#address} answered ${response.status}: ${body.error ?? response.statusText}`);
    return body;
  }

  /** The dashboard turned the request away: it asks for a token (401), or refuses this client (403). */
  #refused(status: number): Error {
    if (status === 403) return new Error(`the dashboard at ${this.#address} refused the request (403)`);
    const given = this.#headers["authorization"] === undefined ? "no token was given" : "the token given is not its token";
    return new Error(`the dashboard at ${this.#address} asks for its token and ${given} (401): pass it with --token or RAYTS_DASHBOARD_TOKEN`);
  }

  async follow(onLine: (line: LogLine) => void): Promise<Following> {
    const abort = new AbortController();
    let response: Response;
    try {
      response = await fetch(`${this.#address}/events`, { headers: this.#headers, signal: abort.signal });
    } catch {
      throw this.#unreachable();
    }
    if (response.status === 401 || response.status === 403) throw this.#refused(response.status);
    if (!response.ok || response.body === null) throw new Error(`${this.#address} answered ${response.status} to /events`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const ended = (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event === "log" && data !== undefined) onLine(JSON.parse(data) as LogLine);
          }
        }
      } catch {
        // Aborted by stop(), or the connection dropped: the stream ends.
      }
    })();
    return {
      ended,
      async stop() {
        abort.abort();
        await ended;
      },
    };
  }

  async close(): Promise<void> {}
}

class RedisTarget implements Target {
  readonly #plane: ControlPlane;
  readonly #state: ClusterState;

  private constructor(plane: ControlPlane, state: ClusterState) {
    this.#plane = plane;
    this.#state = state;
  }

  static async open(address: string, password: string): Promise<RedisTarget> {
    // Loaded only here: reading a dashboard needs no Redis client.
    const [{ ControlPlane }, { ClusterState }] = await Promise.all([import("../cluster/control-plane.js"), import("./cluster-state.js")]);
    const plane = await ControlPlane.connect(address, password, "rayts-cli");
    return new RedisTarget(plane, new ClusterState(plane.redis));
  }

  async get<T>(path: string, query: [string, string][] = []): Promise<T> {
    const { apiAnswer } = await import("./server.js");
    const answer = await apiAnswer(this.#state, path, new URLSearchParams(query));
    if (answer.status !== 200) throw new Error(`${this.#plane.address} answered: ${(answer.body as { error?: string }).error ?? answer.status}`);
    return answer.body as T;
  }

  async follow(onLine: (line: LogLine) => void): Promise<Following> {
    const { LOG_STREAM } = await import("../cluster/event-publisher.js");
    const redis = await this.#plane.connection("rayts-cli-follow");
    let last = (await redis.xrevrange(LOG_STREAM, "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
    let stopped = false;
    const ended = (async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the returned stop()
      while (!stopped) {
        let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
        try {
          reply = (await redis.callBuffer("XREAD", "BLOCK", 1000, "STREAMS", LOG_STREAM, last)) as typeof reply;
        } catch {
          return;
        }
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            last = id.toString();
            const batch = deserialize(fields[1] as Buffer) as LogBatch;
            for (const line of batch.lines) onLine({ time: line.time, worker: line.worker, stream: line.stream, text: line.text, taskId: line.task === undefined ? undefined : formatId<TaskId>(batch.tag, line.task), nodeId: batch.node });
          }
        }
      }
    })();
    return {
      ended,
      async stop() {
        stopped = true;
        redis.disconnect();
        await ended;
      },
    };
  }

  async close(): Promise<void> {
    await this.#plane.close();
  }
}
