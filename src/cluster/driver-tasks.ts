/**
 * The tasks a cluster driver submits: functions published once by content,
 * arguments as wires (inline values, or refs to large objects that the
 * receiving node pulls from their holders), work started once its
 * dependencies settled, and placed by the scheduling policy on a node with
 * room for it (else queued there until some is released).
 */
import { checkSendable, serializing } from "../core/codec/codec.js";
import { errorToData, RayError, type ErrorData } from "../core/api/errors.js";
import { nextId, state } from "../core/runtime/global-state.js";
import { isObjectRef, ObjectRef } from "../core/api/object-ref.js";
import { RemoteFunction } from "../core/api/remote-function.js";
import type { ResolvedTaskOptions } from "../core/protocol/protocol.js";
import type { ControlPlane } from "./control-plane.js";
import type { Work } from "./driver-actors.js";
import type { DriverObjects } from "./driver-objects.js";
import type { DriverOutbox } from "./driver-outbox.js";
import { encodeFunction, moduleCode, publishable } from "./functions.js";
import { taskSpecBytes, type Lineage } from "./lineage.js";
import { holdsRefs, markRefs, REMOTE_FN, refsIn } from "./nested-refs.js";
import type { OwnedObject } from "./objects.js";
import type { Placement } from "./placement.js";
import type { RemoteGenerators } from "./remote-generators.js";
import { available } from "./scheduling.js";
import { INLINE_LIMIT, inlineSize, unshare, type ArgWire } from "./wire.js";
import { actorMarker, localHandle, type ActorWire, type LocalHandle } from "./actor-wire.js";

/** Tasks without large arguments share this empty locality map. */
const NO_LOCALITY: ReadonlyMap<string, number> = new Map();

/** What the tasks need from the driver backend. */
export interface TaskHost {
  readonly driverId: string;
  readonly plane: ControlPlane;
  readonly objects: DriverObjects;
  readonly placement: Placement;
  readonly outbox: DriverOutbox;
  readonly generators: RemoteGenerators;
  readonly lineage: () => Lineage;
  /** What an actor handle of this driver travels as. */
  readonly actorWire: (handle: LocalHandle) => ActorWire;
}

export class DriverTasks {
  readonly #host: TaskHost;
  readonly #published = new Map<number, string>();
  readonly #codeSent = new Set<string>();
  /** Redis stayed out of reach past the reconnect window: every later submission fails with this. */
  gaveUp: ErrorData | undefined;

  constructor(host: TaskHost) {
    this.#host = host;
  }

  /** The published key of a driver function (published once, with its module code). */
  fnKey(fn: number): string {
    let key = this.#published.get(fn);
    if (key !== undefined) return key;
    const def = state.functions.get(fn);
    if (def === undefined) throw new RayError(`remote function ${fn} is not defined in the driver`);
    const { objects, plane } = this.#host;
    const published = publishable(
      def,
      (id) => {
        const object = objects.table.byNum(id);
        if (object === undefined) throw new RayError(`a capture of ${def.name} (object ${id}) is not known to this driver`);
        objects.table.pin(object); // definitions live as long as the driver
        return this.wires([new ObjectRef(id)], []).wires[0] as ArgWire;
      },
      (url, name) => {
        const code = moduleCode(url, name);
        if (!this.#codeSent.has(code.hash)) {
          this.#codeSent.add(code.hash);
          void plane.publishCode(code.hash, code.text);
        }
        return code;
      },
    );
    const encoded = encodeFunction(published);
    key = encoded.key;
    // Same connection as the task streams: published before any task naming it is read.
    void plane.publishFunction(key, encoded.bytes);
    this.#published.set(fn, key);
    return key;
  }

  /** Argument wires: inline values, or refs to large objects (auto-put when passed by value); a remote function as its published key. */
  wires(args: readonly unknown[], pins: OwnedObject[]): { wires: ArgWire[]; locality: ReadonlyMap<string, number> } {
    const objects = this.#host.objects;
    let locality: Map<string, number> | undefined;
    const wires = args.map((arg, index): ArgWire => {
      let object: OwnedObject;
      if (isObjectRef(arg)) object = objects.object(arg);
      else if (arg instanceof RemoteFunction) return { i: { [REMOTE_FN]: { key: this.fnKey(arg.id), options: arg.taskOptions } } };
      else if (localHandle(arg) !== undefined) return { i: actorMarker(this.#host.actorWire(localHandle(arg) as LocalHandle)) };
      else if (holdsRefs(arg)) return { i: unshare(markRefs(arg, (ref) => this.wires([ref], pins).wires[0] as ArgWire, this.#host.actorWire)) };
      else if (sendableSize(arg, `argument ${index} of the task`) <= INLINE_LIMIT) return { i: unshare(arg) };
      else {
        object = objects.putObject(arg);
        // Pinned before its only count goes, or it would be freed before the task reads it.
        objects.table.pin(object);
        objects.table.addRef(object, -1);
        pins.push(object);
      }
      const settled = object.state;
      if (settled === undefined || !settled.ok) throw new RayError(`argument ${object.gid} is not ready`);
      if (settled.inline) return { i: objects.inlineWire(object, settled.value) };
      locality ??= new Map();
      for (const holder of settled.holders) locality.set(holder, (locality.get(holder) ?? 0) + settled.size);
      return { r: object.gid, size: settled.size, holders: settled.holders };
    });
    return { wires, locality: locality ?? NO_LOCALITY };
  }

  /** Runs `work` once every dependency has settled (in order for an actor's queue). */
  whenReady(work: Work): void {
    if (work.deps.length === 0) {
      this.start(work);
      return;
    }
    const pending = work.deps.filter((dep) => dep.state === undefined);
    if (pending.length === 0) {
      this.start(work);
      return;
    }
    void this.#host.objects.table.whenSettled(pending, pending.length, undefined).then(() => this.start(work));
  }

  /** Sends `work`, or fails it with the error of a failed dependency. */
  start(work: Work): void {
    if (this.gaveUp !== undefined) { work.fail(this.gaveUp); return; }
    const failed = work.deps.length === 0 ? undefined : work.deps.find((dep) => dep.state?.ok === false);
    if (failed !== undefined && failed.state?.ok === false) {
      work.fail(failed.state.error);
      return;
    }
    try {
      work.send();
    } catch (error) {
      work.fail(errorToData(error));
    }
  }

  /** Submits a task; returns the ref of its result. */
  submit(fn: number, args: readonly unknown[], options: ResolvedTaskOptions): ObjectRef<unknown> {
    const { objects, placement, generators } = this.#host;
    const table = objects.table;
    const lineage = this.#host.lineage();
    const key = this.fnKey(fn);
    const object = table.create(nextId());
    const streaming = options.numReturns === "streaming";
    if (streaming) generators.submitted(object, options.generatorBackpressureNumObjects);
    const deps = args.length === 0 ? [] : refsIn(args).map((ref) => objects.object(ref));
    for (const dep of deps) table.pin(dep);
    object.deps = deps;
    const work: Work = {
      deps,
      fail: (error) => table.settle(object, { ok: false, error }),
      send: () => {
        if (object.state !== undefined) return; // cancelled while waiting
        if (placement.held(options)) {
          // The nodes have their share: what was queued for them goes now, not when the program's loop ends.
          if (placement.backlog === 0) this.#host.outbox.flush();
          placement.later(() => {
            work.send();
          }, options.numCpus);
          return;
        }
        const { wires, locality } = this.wires(args, object.deps);
        const demand = placement.demand(options.numCpus, options, locality);
        const node = placement.choose(demand);
        const go = (): boolean => {
          if (object.state !== undefined) return true;
          if (lineage.dead.has(node.nodeId)) {
            // The node died while the task waited for its resources there: place it again.
            this.start(work);
            return true;
          }
          if (!available(node, demand)) return false;
          placement.hold(node, demand);
          object.node = node;
          object.demand = demand;
          object.sent = true;
          this.#host.outbox.send(node.nodeId, {
            k: "task",
            id: object.gid,
            owner: this.#host.driverId,
            fn: key,
            name: options.name,
            args: wires,
            numCpus: options.numCpus,
            maxRetries: options.maxRetries,
            retryExceptions: options.retryExceptions,
            ...(streaming ? { stream: generators.wire(object) } : {}),
          });
          return true;
        };
        if (!go()) {
          node.waiting.push({ go, demand });
          placement.onChange();
        }
      },
    };
    object.retry = () => this.start(work);
    object.retriesLeft = options.maxRetries;
    lineage.record(object, work, () => taskSpecBytes(key, options.name, args));
    this.whenReady(work);
    return objects.firstRef(object);
  }
}

/** The inline size of a value sent by the driver, after the checks the local runtime makes (a SerializationError naming `what`). */
export function sendableSize(value: unknown, what: string): number {
  checkSendable(value, what);
  return serializing(value, what, () => inlineSize(value));
}
