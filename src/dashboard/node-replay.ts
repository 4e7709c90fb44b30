/**
 * One node of a cluster as the state API sees it from Redis: its published
 * events replayed into a {@link Recorder}, its last snapshot standing in for
 * the runtime's probe, so that a {@link LocalState} answers for the node as
 * it does for a local driver. Sequence gaps count what the capped streams
 * trimmed before this reader saw it.
 */
import { type ObjectProbe, type RuntimeEvent, type RuntimeProbe, type TaskView, type WorkerName } from "../core/runtime/events.js";
import type { EventBatch, LogBatch, NodeSnapshot, WireEvent } from "../cluster/event-publisher.js";
import { Recorder } from "./recorder.js";
import { LocalState } from "./local-state.js";

const NO_OBJECTS: ObjectProbe[] = [];

export class NodeReplay {
  readonly nodeId: string;
  readonly recorder = new Recorder();
  readonly state: LocalState;
  address = "";
  /** Registered and heartbeating. */
  alive = false;
  /** Listed in the cluster's node table (a node declared dead, or stopped, is not). */
  registered = false;
  /** CPU slots it declared when it registered. */
  cpus = 0;
  /** Tasks queued here beyond its CPUs, from its last heartbeat. */
  queued = 0;
  snapshot: NodeSnapshot | undefined;
  /** The prefix of the node runtime's public ids, from its batches. */
  tag = "";
  /** Events and lines published that this reader never saw (trimmed by the caps, or dropped by the node). */
  lostEvents = 0;
  lostLines = 0;
  readonly #live = new Map<number, TaskView>();
  #nextSeq = 0;
  #nextLogSeq = 0;

  constructor(nodeId: string) {
    this.nodeId = nodeId;
    const probe: RuntimeProbe = {
      liveTasks: () => this.#live.values(),
      runningTasks: () => new Map((this.snapshot?.running ?? []) as [WorkerName, number][]),
      objects: () => this.snapshot?.objects ?? NO_OBJECTS,
      slots: () => this.snapshot?.slots ?? { used: 0, total: this.cpus },
      store: () => this.snapshot?.store ?? { bytesUsed: 0, capacity: 0, numObjects: 0 },
      node: () => ({ nodeId: this.nodeId, address: this.address || this.snapshot?.address || "" }),
    };
    this.state = new LocalState(this.recorder, probe, () => this.tag);
  }

  /** Replays one batch of events. */
  applyEvents(batch: EventBatch): void {
    if (batch.seq > this.#nextSeq) this.lostEvents += batch.seq - this.#nextSeq;
    else if (batch.seq < this.#nextSeq) return; // seen already
    this.#nextSeq = batch.seq + batch.events.length;
    this.tag = batch.tag;
    batch.events.forEach((event, index) => this.#apply(event, (batch.times[index] as number) - performance.timeOrigin));
  }

  /** Replays one batch of log lines. */
  applyLines(batch: LogBatch): void {
    if (batch.seq > this.#nextLogSeq) this.lostLines += batch.seq - this.#nextLogSeq;
    else if (batch.seq < this.#nextLogSeq) return;
    this.#nextLogSeq = batch.seq + batch.lines.length;
    this.tag = batch.tag;
    for (const line of batch.lines) {
      this.recorder.emit({ kind: "log", worker: line.worker as WorkerName, stream: line.stream, text: line.text, task: line.task }, line.time - performance.timeOrigin);
    }
  }

  #apply(event: WireEvent, at: number): void {
    if (!("task" in event) || typeof event.task !== "object") {
      this.recorder.emit(event as RuntimeEvent, at);
      return;
    }
    const wire = event.task;
    let view = this.#live.get(wire.id);
    if (event.kind === "taskSubmitted") {
      view = { id: wire.id, fn: 0, name: wire.name, attempts: wire.attempts, options: { numCpus: 0, maxRetries: 0 }, actor: wire.actor, method: undefined, deps: wire.deps, observed: undefined };
      this.#live.set(wire.id, view);
    }
    // Its submission was trimmed before this reader saw it.
    if (view === undefined) return;
    (view as { attempts: number }).attempts = wire.attempts;
    this.recorder.emit({ ...event, task: view } as RuntimeEvent, at);
    if (!this.recorder.isLive(view)) this.#live.delete(wire.id);
  }

  /** Tasks submitted and not ended that this reader knows of. */
  get liveTasks(): number {
    return this.#live.size;
  }
}
