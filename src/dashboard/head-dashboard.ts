/**
 * The dashboard a cluster's head serves (`rayts start --head`): the same
 * pages, JSON API and `/metrics` as a local driver's, answered by a
 * {@link ClusterState} over every node, with live updates: the overview
 * every second, and each line a worker prints anywhere in the cluster as it
 * reaches the log stream.
 */
import { deserialize } from "node:v8";
import type { Redis } from "ioredis";
import type { ControlPlane } from "../cluster/control-plane.js";
import { LOG_STREAM, type LogBatch } from "../cluster/event-publisher.js";
import { ClusterState } from "./cluster-state.js";
import { DashboardServer, type LiveFeed } from "./server.js";
import type { LogLine } from "./state-source.js";
import { formatId, type TaskId } from "../core/api/ids.js";

const SAMPLE_MS = 1000;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** Where the head's dashboard listens. */
export interface HeadDashboardOptions {
  readonly host: string;
  /** 0 picks a free port; a taken port moves to the next free one. */
  readonly port: number;
  /** Required when `host` is not a loopback address. */
  readonly token: string | undefined;
}

/** Checks the options, naming the one that is wrong. */
export function checkHeadDashboard(options: HeadDashboardOptions): void {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`Expected \`--dashboard-port\` to be a port from 0 to 65535, got ${JSON.stringify(options.port)}`);
  }
  if (!LOOPBACK.test(options.host) && (options.token === undefined || options.token === "")) {
    throw new RangeError(`Expected \`--dashboard-token\` when \`--dashboard-host\` is not a loopback address, got host "${options.host}" and no token`);
  }
}

export class HeadDashboard implements LiveFeed {
  readonly state: ClusterState;
  readonly #server: DashboardServer;
  readonly #follower: Redis;
  readonly #listeners = new Set<(event: string, data: unknown) => void>();
  readonly #timer: NodeJS.Timeout;
  readonly #log: (line: string) => void;
  #closed = false;
  #follow: Promise<void> | undefined;

  private constructor(reader: Redis, follower: Redis, options: HeadDashboardOptions, log: (line: string) => void) {
    this.state = new ClusterState(reader);
    this.#follower = follower;
    this.#log = log;
    this.#server = new DashboardServer(this.state, this, options);
    this.#timer = setInterval(() => void this.#tick(), SAMPLE_MS);
    this.#timer.unref();
  }

  /** Starts serving; resolves once it listens. */
  static async start(plane: ControlPlane, options: HeadDashboardOptions, log: (line: string) => void): Promise<HeadDashboard> {
    checkHeadDashboard(options);
    const dashboard = new HeadDashboard(await plane.connection("rayts-head-dashboard"), await plane.connection("rayts-head-logs"), options, log);
    const newest = (await dashboard.#follower.xrevrange(LOG_STREAM, "+", "-", "COUNT", 1))[0];
    dashboard.#follow = dashboard.#followLogs(newest?.[0] ?? "0-0");
    const port = await dashboard.#server.listen();
    if (options.port !== 0 && port !== options.port) log(`port ${options.port} is taken; the dashboard uses port ${port}`);
    return dashboard;
  }

  get url(): string {
    return this.#server.url;
  }

  async #tick(): Promise<void> {
    try {
      const sample = await this.state.sample();
      if (this.#listeners.size === 0) return;
      const status = await this.state.status();
      this.#send("status", { ...status, sample });
    } catch (error) {
      if (!this.#closed) this.#log(`dashboard update failed: ${String(error)}`);
    }
  }

  /** Sends each line added to the log stream after `from` to the live subscribers. */
  async #followLogs(from: string): Promise<void> {
    let last = from;
    while (!this.#closed) {
      let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        reply = (await this.#follower.callBuffer("XREAD", "BLOCK", 1000, "STREAMS", LOG_STREAM, last)) as typeof reply;
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
        if (this.#closed) return;
        this.#log(`following the log stream failed: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id.toString();
          const batch = deserialize(fields[1] as Buffer) as LogBatch;
          for (const line of batch.lines) {
            this.#send("log", { time: line.time, worker: line.worker, stream: line.stream, text: line.text, taskId: line.task === undefined ? undefined : formatId<TaskId>(batch.tag, line.task), nodeId: batch.node } satisfies LogLine);
          }
        }
      }
    }
  }

  #send(event: string, data: unknown): void {
    for (const listener of this.#listeners) listener(event, data);
  }

  subscribe(send: (event: string, data: unknown) => void): () => void {
    this.#listeners.add(send);
    void this.state.status().then(
      (status) => send("status", status),
      () => undefined,
    );
    return () => this.#listeners.delete(send);
  }

  /** Stops serving (the connections close with the control plane). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#server.close();
    this.#follower.disconnect();
    await this.#follow?.catch(() => undefined);
  }
}
