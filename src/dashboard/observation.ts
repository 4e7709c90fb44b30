/**
 * What `init()` starts beside a driver runtime: the state recorder (always,
 * unless `recordState: false`), a sampler of the overview's time series, and
 * the dashboard server (unless `includeDashboard: false`). Starting the
 * dashboard never fails `init`: a taken port moves to the next free one, and
 * any other failure is reported on stderr and leaves the state API working.
 */
import type { ObservableRuntime, Observation, ObservationOptions } from "../core/runtime/events.js";
import { LocalState } from "./local-state.js";
import { Recorder } from "./recorder.js";
import { DashboardServer, type LiveFeed } from "./server.js";

/** Milliseconds between two samples of the time series (and two live updates). */
const SAMPLE_MS = 1000;

export class LocalObservation implements Observation, LiveFeed {
  readonly recorder = new Recorder();
  readonly state: LocalState;
  readonly ready: Promise<void>;
  dashboardUrl: string | undefined;
  readonly #runtime: ObservableRuntime;
  #detach: (() => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(event: string, data: unknown) => void>();
  #server: DashboardServer | undefined;

  constructor(runtime: ObservableRuntime, options: ObservationOptions) {
    this.state = new LocalState(this.recorder, runtime.probe);
    this.#runtime = runtime;
    this.#detach = runtime.observe(this.recorder);
    this.recorder.onLog((line) => this.#send("log", { time: performance.timeOrigin + line.time, worker: line.worker, stream: line.stream, text: line.text, taskId: line.task }));
    this.#timer = setInterval(() => void this.#tick(), SAMPLE_MS);
    this.#timer.unref();
    this.ready = options.includeDashboard ? this.#startServer(options) : Promise.resolve();
  }

  async #startServer(options: ObservationOptions): Promise<void> {
    const server = new DashboardServer(this.state, this, { host: options.dashboardHost, port: options.dashboardPort, token: options.dashboardToken });
    try {
      const port = await server.listen();
      this.#server = server;
      this.dashboardUrl = server.url;
      if (options.dashboardPort !== 0 && port !== options.dashboardPort) {
        process.stderr.write(`rayts: port ${options.dashboardPort} is taken; the dashboard uses port ${port}\n`);
      }
    } catch (error) {
      process.stderr.write(`rayts: the dashboard could not start (${error instanceof Error ? error.message : String(error)}); ray.state still works\n`);
    }
  }

  async #tick(): Promise<void> {
    const sample = this.state.sample();
    if (this.#listeners.size === 0) return;
    const status = await this.state.status();
    this.#send("status", { ...status, sample });
  }

  #send(event: string, data: unknown): void {
    for (const listener of this.#listeners) listener(event, data);
  }

  subscribe(send: (event: string, data: unknown) => void): () => void {
    this.#listeners.add(send);
    void this.state.status().then((status) => send("status", status));
    return () => this.#listeners.delete(send);
  }

  /** Stops or resumes recording; the runtime then emits no events at all (for measuring what recording costs). */
  setRecording(on: boolean): void {
    if (on && this.#detach === undefined) this.#detach = this.#runtime.observe(this.recorder);
    else if (!on && this.#detach !== undefined) {
      this.#detach();
      this.#detach = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.setRecording(false);
    await this.ready;
    await this.#server?.close();
  }
}
