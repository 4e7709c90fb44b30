/**
 * Streaming generators submitted by a cluster driver (the driver's side;
 * the node's is node-generators.ts): generator functions, and generator
 * methods of actors. The generator task (or call) is an ordinary one whose
 * result is its item count; each item arrives on the driver's
 * result stream as soon as the node has it and becomes an object the driver
 * owns (`<task>:i<index>`), handed to the ObjectRefGenerator in order. The
 * driver tells the node how many items it took (backpressure), closes the
 * stream on the node when the consumer stops early, and, when the node dies
 * and the task runs again elsewhere, asks for the items after those already
 * delivered.
 */
import { RayError } from "../core/api/errors.js";
import { nextId } from "../core/runtime/global-state.js";
import type { ObjectRef } from "../core/api/object-ref.js";
import type { OwnedObject, OwnershipTable } from "./objects.js";
import type { FromNode, ToNode } from "./wire.js";

/** What the driver lends its generators. */
export interface GeneratorHost {
  readonly objects: OwnershipTable;
  firstRef(object: OwnedObject): ObjectRef<unknown>;
  send(nodeId: string, message: ToNode): void;
  /** Refs nested in an item's value become objects the driver owns. */
  revive(value: unknown): unknown;
  /** When `object` is the actor call just made, streams it: returns where its actor lives (as it moves). */
  streamCall(object: OwnedObject, backpressure: number): (() => string | undefined) | undefined;
}

interface Stream {
  readonly object: OwnedObject;
  /** The node running it. */
  readonly node: () => string | undefined;
  readonly backpressure: number;
  /** Received and not yet taken, in order. */
  readonly items: OwnedObject[];
  delivered: number;
  consumed: number;
  readonly waiters: ((ref: ObjectRef<unknown> | undefined) => void)[];
}

export class RemoteGenerators {
  readonly #host: GeneratorHost;
  readonly #byNum = new Map<number, Stream>();
  readonly #byGid = new Map<string, Stream>();

  constructor(host: GeneratorHost) {
    this.#host = host;
  }

  /** A generator task was submitted; `object` is its completion. */
  submitted(object: OwnedObject, backpressure: number | undefined, node: () => string | undefined = () => object.node?.nodeId): void {
    const stream: Stream = { object, node, backpressure: backpressure ?? 0, items: [], delivered: 0, consumed: 0, waiters: [] };
    this.#byNum.set(object.num, stream);
    this.#byGid.set(object.gid, stream);
    // The task settles after its last item: waiting consumers then see the end.
    object.waiters.push(() => {
      for (const wake of stream.waiters.splice(0)) wake(undefined);
      if (stream.items.length === 0) this.#forget(stream);
    });
  }

  /** The `stream` field of the task's message: items delivered so far are skipped by a new run. */
  wire(object: OwnedObject): { skip: number; backpressure: number } {
    const stream = this.#byGid.get(object.gid);
    return { skip: stream?.delivered ?? 0, backpressure: stream?.backpressure ?? 0 };
  }

  /** `openStream` of the backend: a generator task (known since its submission), or the actor call just made. */
  open(task: number, backpressure: number): void {
    if (this.#byNum.has(task)) return;
    const object = this.#host.objects.byNum(task);
    if (object === undefined || object.state !== undefined) return; // settled (failed) already: the stream is empty
    const node = this.#host.streamCall(object, backpressure > 0 ? backpressure : 0);
    if (node === undefined) throw new RayError(`object ${object.gid} is neither a generator task nor an actor call: it cannot stream`);
    this.submitted(object, backpressure, node);
  }

  /** An item arrived from the node running the generator. */
  item(result: Extract<FromNode, { k: "item" }>): void {
    const stream = this.#byGid.get(result.id);
    const item = result.item;
    const objects = this.#host.objects;
    const object = objects.create(nextId(), item.id);
    switch (item.k) {
      case "ok":
        objects.settle(object, { ok: true, inline: true, value: this.#host.revive(item.v) });
        break;
      case "big":
        objects.settle(object, { ok: true, inline: false, size: item.size, holders: [item.holder] });
        break;
      case "err":
        objects.settle(object, { ok: false, error: item.e });
        break;
    }
    if (stream === undefined || result.index < stream.delivered) {
      // Closed, or delivered already by an earlier run: freed at once (and on its holder).
      objects.addRef(object, -1);
      return;
    }
    stream.delivered = result.index + 1;
    const waiter = stream.waiters.shift();
    if (waiter === undefined) stream.items.push(object);
    else waiter(this.#take(stream, object));
  }

  #take(stream: Stream, object: OwnedObject): ObjectRef<unknown> {
    stream.consumed++;
    const node = stream.backpressure > 0 ? stream.node() : undefined;
    if (node !== undefined) this.#host.send(node, { k: "ack", id: stream.object.gid, consumed: stream.consumed });
    return this.#host.firstRef(object);
  }

  /** `nextItem` of the backend: the next item's ref, or undefined once the generator ended. */
  next(task: number): Promise<ObjectRef<unknown> | undefined> {
    const stream = this.#byNum.get(task);
    if (stream === undefined) return Promise.resolve(undefined);
    const object = stream.items.shift();
    if (object !== undefined) return Promise.resolve(this.#take(stream, object));
    if (stream.object.state !== undefined) {
      this.#forget(stream);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => stream.waiters.push(resolve));
  }

  /** `closeStream` of the backend: unconsumed items are freed, the generator stops on its node. */
  close(task: number): void {
    const stream = this.#byNum.get(task);
    if (stream === undefined) return;
    this.#forget(stream);
    for (const object of stream.items.splice(0)) this.#host.objects.addRef(object, -1);
    for (const wake of stream.waiters.splice(0)) wake(undefined);
    const { object } = stream;
    const node = stream.node();
    if (object.state === undefined && object.sent && node !== undefined) this.#host.send(node, { k: "cancel", id: object.gid, force: false });
  }

  #forget(stream: Stream): void {
    this.#byNum.delete(stream.object.num);
    this.#byGid.delete(stream.object.gid);
  }
}
