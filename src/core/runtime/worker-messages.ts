/**
 * How the driver answers its workers: one handler per message kind, in a
 * table keyed by the kind, each typed by that kind's message. A batch from a
 * peer comes with an envelope (which peer sent it, and the thread that owns
 * that peer); handlers reach the rest of the runtime only through its parts.
 */
import type { DriverParts, Owner } from "./driver-parts.js";
import { workerName } from "./driver-parts.js";
import { newTask } from "../scheduling/dependencies.js";
import { state } from "./global-state.js";
import { ObjectRef } from "../api/object-ref.js";
import { DONE_CELLS, type DoneCells, type Encoded, type FromWorker } from "../protocol/protocol.js";
import type { Transport } from "../transport/transport.js";
import type { WorkerFailures } from "./worker-failures.js";

/** A message object a worker sends the driver (results come as flat {@link DoneCells} instead). */
export type KindedMessage = Exclude<FromWorker, DoneCells>;
/** Every kind of message object a worker sends the driver. */
export type WorkerMessageKind = KindedMessage["kind"];
/** The message of one kind. */
export type WorkerMessage<K extends WorkerMessageKind> = Extract<KindedMessage, { readonly kind: K }>;

/** A worker thread said it is up, with its thread id. */
export type HelloMessage = WorkerMessage<"hello">;
/** A task threw. */
export type FailMessage = WorkerMessage<"fail">;
/** A task waits in a nested `get`/`wait` (it gives back its CPU slot meanwhile), or stopped waiting. */
export type BlockedMessage = WorkerMessage<"blocked">;
export type UnblockedMessage = WorkerMessage<"unblocked">;
/** A task defined a remote function or actor class the driver may not know yet. */
export type DefineFnMessage = WorkerMessage<"defineFn">;
/** A task submitted a task, an actor call, or created an actor. */
export type SubmitMessage = WorkerMessage<"submit">;
export type SubmitCallMessage = WorkerMessage<"submitCall">;
export type CreateActorMessage = WorkerMessage<"createActor">;
/** A task's `put`, `get` and `wait`; refs it gives back. */
export type PutMessage = WorkerMessage<"put">;
export type GetMessage = WorkerMessage<"get">;
export type WaitMessage = WorkerMessage<"wait">;
export type ReleaseMessage = WorkerMessage<"release">;
/** A task's `cancel` and `kill`. */
export type CancelTaskMessage = WorkerMessage<"cancelTask">;
export type KillMessage = WorkerMessage<"kill">;
/** A line a task printed. */
export type LogMessage = WorkerMessage<"log">;
/** An actor's constructor threw. */
export type ActorInitFailedMessage = WorkerMessage<"actorInitFailed">;
/** Items of a streaming generator task, and a consumer's requests for them (see generator-task.ts). */
export type StreamMessage = WorkerMessage<"streamYield" | "streamWait" | "streamOpen" | "streamNext" | "streamClose">;

/** Who a batch came from. */
export interface Envelope {
  readonly peer: Transport;
  readonly owner: Owner;
}

/** One handler per message kind, and one for results. */
export type MessageHandlers = { readonly [K in WorkerMessageKind]: (envelope: Envelope, message: WorkerMessage<K>) => void } & {
  readonly done: (envelope: Envelope, cells: DoneCells) => void;
};

type AnyHandler = (envelope: Envelope, message: KindedMessage) => void;

/** Runs the handler of each message of a batch, in order. */
export function handleBatch(handlers: MessageHandlers, envelope: Envelope, batch: readonly FromWorker[]): void {
  for (const message of batch) {
    if (Array.isArray(message)) handlers.done(envelope, message);
    else (handlers[message.kind] as AnyHandler)(envelope, message);
  }
}

/** The driver's handlers. */
export function driverHandlers(parts: DriverParts, failures: WorkerFailures): MessageHandlers {
  const learnArgs = (owner: Owner, args: readonly Encoded[]): void => {
    for (const arg of args) parts.lending.learn(owner, arg);
  };
  return {
    hello: ({ peer }, message) => peer.attach(message.threadId),
    done: ({ owner }, cells) => {
      const { tasks, lending, taskEvents } = parts;
      for (let at = 0; at < cells.length; at += DONE_CELLS) {
        const us = cells[at + 1] as number;
        const value = cells[at + 2];
        lending.learn(owner, value);
        const task = tasks.finished(owner, cells[at] as number, us);
        if (task === undefined) continue;
        taskEvents?.taskFinished(task, us);
        tasks.done(task, value);
      }
    },
    fail: ({ owner }, message) => {
      const task = parts.tasks.finished(owner, message.task, message.us);
      if (task !== undefined) parts.tasks.failed(task, message.error);
    },
    blocked: ({ owner }, message) => failures.blocked(owner, message.task),
    unblocked: ({ owner }, message) => failures.unblocked(owner, message.task),
    defineFn: (_, message) => parts.control.publishFunction(message.fn, message.def),
    submit: ({ owner }, message) => {
      learnArgs(owner, message.args);
      if (parts.reuse.submitted(owner, message.parent ?? 0, message.task, message.fn, message.args, message.options)) return;
      parts.tasks.submit(newTask(message.task, message.fn, [...message.args], message.options), owner);
    },
    submitCall: ({ owner }, message) => {
      learnArgs(owner, message.args);
      parts.actors.call(message.actor, message.method, [...message.args], message.task, owner);
    },
    createActor: ({ owner }, message) => {
      learnArgs(owner, message.args);
      parts.actors.exported(message.actor);
      // A name another actor holds is settled here (an error, or that actor with getIfExists), wherever the options would place it.
      if (parts.actors.nameHolder(message.options) === undefined && state.remoteActors?.create(message.actor, message.cls, message.args, message.options, message.methods) === true) return;
      parts.actors.create(message.actor, message.cls, [...message.args], message.options, message.methods);
    },
    put: ({ peer, owner }, message) => {
      parts.lending.learn(owner, message.value);
      parts.objects.putFromWorker(owner, workerName(peer, owner), message.id, message.value);
    },
    get: ({ peer, owner }, message) => parts.objects.getForWorker(peer, owner, message.req, message.ids, message.timeout),
    wait: ({ peer }, message) => parts.objects.waitForWorker(peer, message.req, message.ids, message.numReturns, message.timeout),
    release: ({ owner }, message) => parts.lending.giveBack(owner, message.ids),
    cancelTask: (_, message) => parts.tasks.cancel(new ObjectRef(message.id), message.force),
    kill: (_, message) => {
      // A task cannot be told that the id was unknown; the handle's shape was checked where kill() was called.
      if (parts.actors.get(message.actor) !== undefined) parts.actors.kill(message.actor);
      else state.remoteActors?.kill(message.actor); // an actor of another cluster node
    },
    log: ({ peer, owner }, message) => {
      (message.stream === "out" ? process.stdout : process.stderr).write(`${message.text}\n`);
      parts.events?.emit({ kind: "log", worker: workerName(peer, owner), stream: message.stream, text: message.text, task: message.task || undefined });
    },
    actorInitFailed: (_, message) => parts.actors.initFailed(message.actor, message.error),
    streamYield: ({ peer, owner }, message) => parts.streams.onMessage(peer, owner, message),
    streamWait: ({ peer, owner }, message) => parts.streams.onMessage(peer, owner, message),
    streamOpen: ({ peer, owner }, message) => parts.streams.onMessage(peer, owner, message),
    streamNext: ({ peer, owner }, message) => parts.streams.onMessage(peer, owner, message),
    streamClose: ({ peer, owner }, message) => parts.streams.onMessage(peer, owner, message),
  };
}
