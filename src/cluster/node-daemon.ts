/**
 * The node daemon: one per machine (`rayts start`). It registers the node,
 * heartbeats, reads its task stream as a consumer group member, runs what
 * arrives on its own local rayts runtime (worker threads and object store,
 * see node-exec.ts), and writes results to each owner's result stream
 * (node-outbox.ts). Large results stay here (node-objects.ts) and are served
 * to other nodes by the object server.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { deserialize } from "node:v8";
import type { Redis } from "ioredis";
import * as api from "../core/api/api.js";
import { RemoteFunction } from "../core/api/remote-function.js";
import { DriverRuntime } from "../core/runtime/runtime.js";
import { ControlPlane, PREFIX, type NodeLoad, type NodeRecord } from "./control-plane.js";
import { forgetOwner, unnameActors } from "./actor-registry.js";
import { NestedSpill } from "./nested-submit.js";
import { NodeActors } from "./node-actors.js";
import { state } from "../core/runtime/global-state.js";
import { ObjectServer } from "./object-server.js";
import { observeNode, type NodeObservation } from "./node-observation.js";
import type { HeadDashboardOptions } from "../dashboard/head-dashboard.js";
import { FaultInjector, FaultySender } from "./fault-injection.js";
import { faultSettings } from "./fault-settings.js";
import { Liveness } from "./liveness.js";
import { OwnerWatch, type OwnerWork } from "./owner-watch.js";
import { NodeExec } from "./node-exec.js";
import { NodeLogs } from "./node-logs.js";
import { ActorArrivals } from "./actor-arrivals.js";
import { NodeFunctions } from "./node-functions.js";
import { NodeObjects } from "./node-objects.js";
import { NodeOutbox, type StreamEntry } from "./node-outbox.js";
import { toPayload, type ToNode } from "./wire.js";

/** Options of a node daemon. */
export interface NodeOptions {
  /** "HOST:PORT" of the cluster's Redis. */
  readonly redisAddress: string;
  readonly redisPassword: string;
  /** Address this node binds its object server to and reports. */
  readonly nodeIpAddress: string;
  readonly numCpus: number;
  /** Custom resources, e.g. `{ GPU: 1 }`. */
  readonly resources: Readonly<Record<string, number>>;
  readonly objectStoreMemory: number | undefined;
  readonly head: boolean;
  readonly logDir: string;
  /** The head serves the cluster's dashboard here (none when undefined). */
  readonly dashboard?: HeadDashboardOptions;
}

/** Entries read per XREADGROUP call (each entry is a batch of up to 2000 messages). */
const READ_COUNT = 512;
/**
 * Messages handled per turn of the event loop: between two slices, the
 * local runtime hands finished workers their next tasks, so that a large
 * batch arriving at once does not leave the node's CPUs idle while it is
 * taken in.
 */
const HANDLE_SLICE = 32;

/** What a node daemon tells the process that runs it. */
export interface NodeEvents {
  /** The cluster declared this node dead: it stopped taking work and must rejoin as a new node. */
  refused?(): void;
  /** Redis stayed out of reach past the reconnect window. */
  unreachable?(error: Error): void;
}

/** Environment variables through which tasks on a node learn where they run (see runtime-context.ts). */
export const NODE_ID_ENV = "RAYTS_NODE_ID";
export const NODE_ADDRESS_ENV = "RAYTS_NODE_ADDRESS";

export class NodeDaemon {
  readonly nodeId: string;
  readonly #options: NodeOptions;
  readonly #log: (line: string) => void;
  #plane!: ControlPlane;
  #reader!: Redis;
  #server!: ObjectServer;
  #objects!: NodeObjects;
  #outbox!: NodeOutbox;
  #exec!: NodeExec;
  #stopped = false;
  #detachLogs: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #observation: NodeObservation | undefined;
  #stopping: Promise<void> | undefined;
  #liveness: Liveness | undefined;
  #owners!: OwnerWatch;
  /** Nested tasks of this node's tasks that go to other nodes (see nested-submit.ts). */
  #spill: NestedSpill | undefined;
  /** Handles to actors of the cluster inside this node's tasks (see node-actors.ts). */
  #actors: NodeActors | undefined;
  readonly #events: NodeEvents;
  readonly #sender: FaultySender | undefined;

  private constructor(options: NodeOptions, log: (line: string) => void, events: NodeEvents) {
    this.nodeId = randomBytes(8).toString("hex");
    this.#options = options;
    this.#log = log;
    this.#events = events;
    const injector = FaultInjector.fromEnv();
    this.#sender = injector === undefined ? undefined : new FaultySender(injector);
  }

  /** The cluster dashboard's address, when this head serves it. */
  get dashboardUrl(): string | undefined {
    return this.#observation?.dashboardUrl;
  }

  get #stream(): string {
    return `${PREFIX}tasks:${this.nodeId}`;
  }

  /** Starts a node and joins the cluster; resolves once it takes tasks. */
  static async start(options: NodeOptions, log: (line: string) => void, events: NodeEvents = {}): Promise<NodeDaemon> {
    const daemon = new NodeDaemon(options, log, events);
    await daemon.#start();
    return daemon;
  }

  async #start(): Promise<void> {
    const options = this.#options;
    this.#plane = await ControlPlane.connect(options.redisAddress, options.redisPassword, `rayts-node-${this.nodeId}`);
    this.#reader = await this.#plane.connection(`rayts-node-${this.nodeId}-reader`);
    process.env[NODE_ID_ENV] = this.nodeId;
    process.env[NODE_ADDRESS_ENV] = options.nodeIpAddress;
    // Installed before the runtime starts, which hands it its parts.
    const actors = (this.#actors = new NodeActors({
      nodeId: this.nodeId,
      hosted: () => this.#exec.actors,
      sendCall: (task, parts, actor, node, streams) => this.#spill?.actors.sendCall(task, parts, actor, node, streams) ?? "dead",
      refreshNodes: (node) => this.#spill?.actors.refreshNodes(node) ?? Promise.resolve(),
      placeActor: (options, parts) => this.#spill?.actors.placeActor(options, parts),
      sendActor: (actor, parts, node) => (this.#spill === undefined ? "the node is stopping" : this.#spill.actors.sendActor(actor, parts, node)),
      sendKill: (actor, node, name) => this.#spill?.actors.sendKill(actor, node, name),
      relocate: (actor, lost) => this.#spill?.actors.relocate(actor, lost) ?? Promise.resolve({ dead: "the node is stopping" }),
      release: (actor, name) => this.#spill?.actors.release(actor, name),
    }));
    state.remoteActors = actors;
    await api.init({
      numCpus: options.numCpus,
      ...(options.objectStoreMemory === undefined ? {} : { objectStoreMemory: options.objectStoreMemory }),
      // The node publishes its state to the cluster (node-observation.ts) instead.
      includeDashboard: false,
      recordState: false,
    });
    this.#observation = await observeNode(this.#plane, this.nodeId, options.nodeIpAddress, options.dashboard, this.#log);
    this.#owners = new OwnerWatch(this.#plane, (owner, work) => this.#ownerDied(owner, work));
    this.#outbox = new NodeOutbox({
      redis: this.#plane.redis,
      nodeId: this.nodeId,
      address: options.nodeIpAddress,
      stream: this.#stream,
      numCpus: options.numCpus,
      running: () => this.#exec.running.size,
      dead: this.#owners.dead,
      beforeWrite: (pipeline) => this.#observation?.flushEvents(pipeline), // the events of these results' runs go first
      sender: this.#sender,
      log: this.#log,
    });
    const token = await this.#plane.token();
    this.#objects = new NodeObjects(this.#plane, this.nodeId, token, {
      seen: (owner) => this.#owners.seen(owner),
      located: (id) => this.#outbox.located(id),
      // Called once tasks arrive: `functions` below is made by then.
      remoteFunction: async (wire) => new RemoteFunction(await functions.fn(wire.key), wire.options),
      remoteActor: (wire) => actors.handle(wire),
    });
    const functions = new NodeFunctions(this.#plane, this.nodeId, (args) => this.#objects.args(args));
    this.#exec = new NodeExec({
      nodeId: this.nodeId,
      address: options.nodeIpAddress,
      functions,
      objects: this.#objects,
      outbox: this.#outbox,
      owners: this.#owners,
      arrivals: new ActorArrivals(this.#plane, this.nodeId, faultSettings()),
      exportActor: (handle) => actors.export(handle),
      log: this.#log,
    });
    // What tasks print goes to their drivers too (see node-logs.ts).
    const runtime = state.backend;
    if (runtime instanceof DriverRuntime) {
      const exec = this.#exec;
      const outbox = this.#outbox;
      this.#detachLogs = runtime.observe(new NodeLogs({ address: options.nodeIpAddress, ownerOf: (task) => exec.ownerOf(task), send: (owner, line) => outbox.line(owner, line) }));
    }
    this.#server = new ObjectServer(token, (id) => this.#objects.payload(id), this.#log, { served: (bytes, partial) => this.#objects.served(bytes, partial) });
    const objectPort = await this.#server.listen(options.nodeIpAddress);
    await this.#plane.registerHolder(this.nodeId, `${options.nodeIpAddress}:${objectPort}`);
    await this.#reader.call("XGROUP", "CREATE", this.#stream, "node", "$", "MKSTREAM");
    const totals = api.clusterResources();
    const record: NodeRecord = {
      nodeId: this.nodeId,
      address: options.nodeIpAddress,
      objectPort,
      resources: {
        CPU: options.numCpus,
        memory: totals.memory,
        object_store_memory: totals.object_store_memory,
        [`node:${options.nodeIpAddress}`]: 1,
        ...options.resources,
      },
      pid: process.pid,
      head: options.head,
      startedAt: Date.now(),
      logDir: options.logDir,
    };
    await this.#plane.registerNode(record, this.#load());
    this.#liveness = new Liveness(this.#plane, { kind: "node", id: this.nodeId, load: () => this.#load() }, faultSettings(), {
      log: this.#log,
      refused: () => {
        this.#stopped = true;
        this.#events.refused?.();
      },
      unreachable: (error) => {
        this.#log(error.message);
        this.#events.unreachable?.(error);
      },
      watch: () => this.#owners.check(),
    });
    await this.#liveness.start();
    const lend = (id: string, value: unknown): number => {
      const payload = toPayload(value);
      this.#exec.hold(this.nodeId, id, api.put(value), payload);
      return payload.bytes.byteLength;
    };
    this.#spill = new NestedSpill(this.#plane, this.nodeId, options.numCpus, token, this.#log, lend);
    await this.#spill.start();
    actors.follow(this.#spill);
    this.#loop = this.#consume();
    this.#log(`node ${this.nodeId} joined the cluster at ${options.redisAddress} as ${options.nodeIpAddress} (${hostname()}), ${options.numCpus} CPUs, object port ${objectPort}`);
  }

  #load(): NodeLoad {
    const exec = this.#exec;
    return { inFlight: exec.running.size, busyCpus: Math.min(this.#options.numCpus, exec.busyCpus), actors: exec.actors.size };
  }

  // ---- the task stream ----

  async #consume(): Promise<void> {
    while (!this.#stopped) {
      let reply: unknown;
      try {
        reply = await this.#reader.callBuffer("XREADGROUP", "GROUP", "node", "n", "COUNT", READ_COUNT, "BLOCK", 1000, "STREAMS", this.#stream, ">");
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await
        if (this.#stopped) return;
        this.#log(`reading the task stream failed: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply as [Buffer, [Buffer, Buffer[]][]][]) {
        for (const [entryId, fields] of entries) {
          const entry = this.#outbox.entry(entryId.toString());
          const messages = deserialize(fields[1] as Buffer) as ToNode[];
          for (let start = 0; start < messages.length; start += HANDLE_SLICE) {
            if (start > 0) await new Promise((resolve) => setImmediate(resolve));
            for (const message of messages.slice(start, start + HANDLE_SLICE)) this.#handle(message, entry);
          }
          entry.pending--;
        }
      }
      this.#outbox.schedule();
    }
  }

  #handle(message: ToNode, entry: StreamEntry): void {
    if ("owner" in message && this.#owners.dead.has(message.owner)) return; // its owner exited: nothing to run for
    switch (message.k) {
      case "task":
        this.#exec.task(message, entry);
        return;
      case "actor":
        this.#exec.actor(message, entry);
        return;
      case "call":
        this.#exec.call(message, entry);
        return;
      case "kill":
        this.#exec.kill(message.actor);
        return;
      case "ack":
        this.#exec.generators.ack(message.id, message.consumed);
        return;
      case "stream":
        this.#exec.generators.expect(message.id, message.backpressure);
        return;
      case "cancel":
        this.#exec.cancel(message.id, message.force);
        return;
      case "free":
        this.#objects.free(message.ids);
        return;
      case "named":
        this.#actors?.known([message.actor]);
        return;
    }
  }

  /** The owner exited: its tasks are cancelled, its non-detached actors killed, its objects dropped here. */
  #ownerDied(owner: string, work: OwnerWork): void {
    const { cancelled, killed } = this.#exec.ownerDied(work);
    const dropped = this.#objects.dropOwner(owner);
    this.#outbox.drop(owner);
    // Names of the killed actors are released, so that no driver finds them any more; the owner's placements go too (nobody restarts its actors now).
    void unnameActors(this.#plane, killed).catch((error: unknown) => this.#log(`releasing the names of ${owner}'s actors failed: ${String(error)}`));
    void forgetOwner(this.#plane, owner).catch(() => undefined);
    this.#log(`owner ${owner} is gone: cancelled ${cancelled} task(s), killed ${killed.size} actor(s), dropped ${dropped} object(s)`);
  }

  /** Leaves the cluster and stops the local runtime. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    await this.#liveness?.stop();
    await this.#spill?.stop();
    try {
      await this.#plane.removeNode(this.nodeId);
    } catch (error) {
      this.#log(`leaving the cluster failed: ${String(error)}`);
    }
    this.#reader.disconnect();
    await this.#loop?.catch(() => undefined);
    this.#detachLogs?.();
    await this.#observation?.close().catch((error: unknown) => this.#log(`stopping the observers failed: ${String(error)}`));
    await this.#server.close();
    await this.#plane.close();
    await api.shutdown();
    if (state.remoteActors === this.#actors) state.remoteActors = undefined;
    this.#log(`node ${this.nodeId} stopped`);
  }
}
