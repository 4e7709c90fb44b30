/**
 * The worker thread. `workerpool` starts it and calls `serve` once with a
 * MessagePort; from then on the thread runs rayts's protocol on that port:
 * it defines functions once, runs the tasks (or actor calls) it is sent, and
 * answers in batches. Inside tasks the rayts API talks to the driver through
 * {@link WorkerBackend}.
 */
import { receiveMessageOnPort, threadId, type MessagePort } from "node:worker_threads";
import { format } from "node:util";
import workerpool from "workerpool";
import * as api from "../api/api.js";
import * as rayts from "../index.js";
import { errorToData, RayError, SerializationError, TaskCancelledError, taskErrorData, type ErrorData } from "../api/errors.js";
import { adoptIdCounter, state } from "../runtime/global-state.js";
import type { Encoded, FromWorker, FunctionDefinition, RunCells, ToWorker } from "../protocol/protocol.js";
import { collectNow, FinalizerTurns, MemoryPressure } from "../store/collector.js";
import { explainMissing, namespaceAliases, referToFirst, usedOnlyAsRemote } from "../runtime/missing-names.js";
import { RemoteFunction, defaultTaskOptions } from "../api/remote-function.js";
import { decode, encode, evictBlocks, needsArrow, recycleBlocks, preloadArrow, sharedBytes, sizeOf } from "../codec/serialization.js";
import { WorkerBackend } from "./worker-backend.js";
import { ActorHost } from "./actor-host.js";
import { runningNow } from "../../cluster/runtime-context.js";
import { GeneratorRunner } from "./generator-worker.js";
import { isGeneratorObject } from "../api/object-ref-generator.js";
import { NAMESPACE_NAME, TASK_SCOPE_API } from "../api/api-names.js";
import type { WorkerInfo } from "../transport/worker-pool.js";

/** Names the rayts API is visible under inside an uncompiled task. */
const API_SCOPE: Record<string, unknown> = {
  [NAMESPACE_NAME]: rayts,
  ...Object.fromEntries(TASK_SCOPE_API.map((name) => [name, api[name]])),
  // Helper that esbuild-based loaders (tsx) insert into function sources to keep names.
  __name: (target: object, value: string) => Object.defineProperty(target, "name", { value, configurable: true }),
};
const SCOPE_NAMES = Object.keys(API_SCOPE);
const SCOPE_VALUES = Object.values(API_SCOPE);

/** Bytes of forgotten shared blocks between two collections a worker asks for (see collector.ts). */
const WORKER_COLLECT_BYTES = 128 * 1024 * 1024;
/** Answers to `get`/`wait` between two turns given to finalizers (see collector.ts). */
const FINALIZER_TURN_EVERY = 64;
/** Bytes of by-value argument copies that make a worker collect its young generation. */
const COPY_COLLECT_BYTES = 1024 * 1024;

type Callable = (...args: unknown[]) => unknown;

/** A typed array or ArrayBuffer in memory of its thread's own (which a result is copied out of). */
function isPrivateBinary(value: unknown): boolean {
  return value instanceof ArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer);
}
/** One task of a `run` batch, unpacked. */
interface Run {
  readonly task: number;
  readonly fn: number;
  readonly name: string;
  readonly args: Encoded[];
  /** Its arguments name cached blocks that must stay cached until they are decoded. */
  pinned: boolean;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * What a name used only as `name.remote(...)` is bound to: rayts's `remote`
 * when given a function or class (`rt.remote(fn)`); any other argument means
 * the name was a remote function or actor class of the task's module
 * (`double.remote(x)`), which the worker does not have.
 */
function remoteOrMissing(name: string): { remote: (target: unknown, options?: unknown) => unknown } {
  return {
    remote: (target, options) => {
      if (typeof target === "function") return api.remote(target as never, options as never);
      throw new ReferenceError(`${name} is not defined`);
    },
  };
}

/** The names a source-text function sees: the rayts API and its module's namespace aliases of rayts. */
function scopeOf(source: string): string[] {
  const aliases = namespaceAliases(source, SCOPE_NAMES, Object.keys(rayts));
  return [...SCOPE_NAMES, ...aliases.filter((name) => !usedOnlyAsRemote(source, name))];
}

/**
 * Rebuilds a function or class from its source text, with the rayts API in
 * scope: as `ray`, by name, and under any other namespace name the source
 * uses only for rayts calls (`import * as rt from "rayts"` in its module).
 */
function fromSource(source: string): unknown {
  const aliases = namespaceAliases(source, SCOPE_NAMES, Object.keys(rayts));
  const names = [...SCOPE_NAMES, ...aliases];
  const values = [...SCOPE_VALUES, ...aliases.map((name) => (usedOnlyAsRemote(source, name) ? remoteOrMissing(name) : rayts))];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- rebuilding shipped source is what a worker does
  const build = (body: string): unknown => new Function(...names, `"use strict";\nreturn (${body}\n);`)(...values);
  try {
    return build(source);
  } catch (error) {
    // A method written in shorthand (`name(x) { ... }`) is not an expression on its own.
    if (!(error instanceof SyntaxError)) throw error;
    const holder = build(`{ ${source} }`) as Record<string, unknown>;
    return Object.values(holder)[0];
  }
}

/**
 * A task function runs with `this` bound to its own RemoteFunction, so a
 * recursive task can call `this.remote(...)` (typed by `remote()`); a named
 * function expression also gets `.remote` and `.options`, so `fib.remote(...)`
 * inside `function fib` works at run time too.
 */
function withSelf(fn: Callable, id: number, name: string): Callable {
  if (typeof fn !== "function" || /^class\b/.test(Function.prototype.toString.call(fn))) return fn;
  const self = new RemoteFunction(id, defaultTaskOptions(name));
  if (Object.isExtensible(fn) && !Object.hasOwn(fn, "remote")) {
    Object.defineProperties(fn, {
      remote: { value: (...args: unknown[]) => self.remote(...(args as never[])), configurable: true },
      options: { value: (options: Parameters<typeof self.options>[0]) => self.options(options), configurable: true },
    });
  }
  // Only a function that reads `this` pays for the binding (and shows the receiver in its stack frames).
  if (!/\bthis\b/.test(Function.prototype.toString.call(fn))) return fn;
  const bound: Callable = function (this: unknown, ...args: unknown[]) {
    return fn.apply(self, args);
  };
  return bound;
}

/** Functions whose missing names this thread already explained in full. */
const explained = new Set<FunctionDefinition>();

/** Explains a missing name in a task shipped as source text: in full the first time, then by reference. */
function explainMissingName(error: unknown, def: FunctionDefinition): unknown {
  if (def.kind !== "source" || !(error instanceof ReferenceError)) return error;
  const match = /^(\S+) is not defined$/.exec(error.message);
  if (match === null) return error;
  const name = match[1] as string;
  const first = !explained.has(def);
  explained.add(def);
  const result = new ReferenceError(first ? explainMissing(def.name, def.source, scopeOf(def.source), name) : referToFirst(def.name, name));
  result.stack = `${result.name}: ${result.message}\n${(error.stack ?? "").split("\n").slice(1).join("\n")}`;
  return result;
}

class WorkerServer {
  readonly #port: MessagePort;
  readonly #info: WorkerInfo;
  readonly #backend: WorkerBackend;
  readonly #running: Float64Array;
  readonly #defs = new Map<number, FunctionDefinition>();
  readonly #functions = new Map<number, Callable | Promise<Callable>>();
  readonly #queue: Run[] = [];
  readonly #cancelled = new Set<number>();
  /** Shared blocks this thread was told to forget wait for its collector. */
  readonly #pressure: MemoryPressure;
  /**
   * Shared values this thread received from `get`: the refs a task drops
   * free them only once this thread collects (and gives the refs back).
   */
  readonly #received: MemoryPressure;
  /** By-value argument copies, freed young so the next copy reuses their memory (8 MB: ~1.4 ms a call, ~5 ms on fresh pages). */
  readonly #copies = new MemoryPressure(COPY_COLLECT_BYTES, "young");
  /** Cached blocks that queued tasks still name, with counts: an eviction waits for them. */
  readonly #blockPins = new Map<number, number>();
  /** Blocks the driver said to forget while pinned. */
  readonly #evictLater = new Set<number>();
  #runners = 0;
  #currentName = "";
  /** The actor of each actor call started and not ended, for `getRuntimeContext()` after an await. */
  readonly #callActors = new Map<number, number>();
  #stop: (() => void) | undefined;
  /** The actors this thread hosts (actor threads only). */
  readonly #actors: ActorHost;
  /** Generators that tasks and calls returned, streaming their items. */
  readonly #generators: GeneratorRunner;

  constructor(port: MessagePort, info: WorkerInfo) {
    this.#port = port;
    this.#info = info;
    this.#running = new Float64Array(info.running);
    this.#pressure = new MemoryPressure(Math.min(WORKER_COLLECT_BYTES, info.collectBytes), "full", true);
    this.#received = new MemoryPressure(Math.min(WORKER_COLLECT_BYTES, info.collectBytes), "full", true);
    this.#actors = new ActorHost({
      definition: (fn) => this.#functions.get(fn),
      decodeArgs: (args) => this.#decodeArgs(args),
      pin: (args) => this.#pinBlocks(args),
      unpin: (args) => this.#unpinArgs(args),
      outcome: (task, name, result, start, explain) => this.#outcome(task, name, result, start, explain),
      fail: (task, name, error, start) => this.#fail(task, name, error, start),
      takeCancelled: (task) => this.#cancelled.delete(task),
      started: (task, name, actor) => {
        this.#running[this.#info.index] = task;
        this.#currentName = name;
        runningNow.task = task;
        runningNow.actor = actor;
        this.#callActors.set(task, actor);
      },
      catchUp: (started) => this.#catchUp(started),
      explain: (fn, error) => {
        const def = this.#defs.get(fn);
        return def === undefined ? error : explainMissingName(error, def);
      },
      send: (message) => this.send(message),
    });
    this.#backend = new WorkerBackend(
      (message) => this.send(message),
      () => this.#onBlocked(),
      (task) => this.#onUnblocked(task),
      () => this.#backend.scheduleFlush(port),
      new FinalizerTurns(FINALIZER_TURN_EVERY, this.#received),
    );
    state.backend = this.#backend;
    this.#generators = new GeneratorRunner({
      push: (message) => this.#backend.push(message),
      flushDue: () => {
        if (performance.now() - this.#backend.lastFlush > 0.2) this.#backend.flushNow();
      },
      flush: () => this.#backend.scheduleFlush(port),
      cancelled: (task) => this.#cancelled.delete(task),
      complete: (task, name, value, start) => this.#complete(task, name, value, start),
      fail: (task, name, error, start) => this.#fail(task, name, error, start),
    });
    adoptIdCounter(info.ids);
    this.#redirectConsole();
    port.on("message", (batch: ToWorker[]) => this.#receive(batch));
    // A thread that dies (process.exit, an uncaught error) still sends the
    // results it computed: only the tasks it was running are lost.
    process.on("exit", () => this.#backend.flushNow());
    this.send({ kind: "hello", threadId });
  }

  /** Resolves when the driver closes the port (shutdown). */
  served(): Promise<void> {
    return new Promise((resolve) => {
      this.#stop = resolve;
      this.#port.on("close", () => this.#stop?.());
    });
  }

  send(message: FromWorker): void {
    this.#backend.push(message);
    this.#backend.scheduleFlush(this.#port);
  }

  #prefix(): string {
    const name = this.#currentName || "worker";
    return `(${name} pid=${process.pid} worker=${this.#info.index})`;
  }

  /**
   * A throw outside any task's promise (a timer firing after its task
   * returned, say) ends this thread. Say so, with this worker's prefix, after
   * what the tasks printed, and post it all before the thread goes.
   */
  strayError(error: unknown): void {
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : format(error);
    this.send({
      kind: "log",
      stream: "err",
      task: 0,
      text: `${this.#prefix()} uncaught error outside any task's promise (e.g. in a timer or callback that outlived its task); this worker stops and is replaced, and the tasks it held are retried:\n${text}`,
    });
    this.#backend.flushNow();
  }

  #redirectConsole(): void {
    const emit = (stream: "out" | "err") => (...args: unknown[]) => {
      this.send({ kind: "log", stream, text: `${this.#prefix()} ${format(...args)}`, task: this.#running[this.#info.index] ?? 0 });
    };
    console.log = emit("out");
    console.info = emit("out");
    console.debug = emit("out");
    console.warn = emit("err");
    console.error = emit("err");
  }

  #receive(batch: ToWorker[]): void {
    for (const message of batch) {
      if (Array.isArray(message)) {
        this.#queueRuns(message);
        continue;
      }
      switch (message.kind) {
        case "define":
          this.#define(message.fn, message.def, message.captures);
          break;
        case "cancel":
          this.#cancelled.add(message.task);
          this.#generators.cancelled(message.task);
          break;
        case "streamCredit":
          this.#generators.credit(message.task, message.upTo);
          break;
        case "evict":
          this.#evict(message.blocks);
          break;
        case "recycle":
          this.#evict(message.blocks, true);
          break;
        case "names":
          this.#backend.names(message);
          break;
        case "values":
          this.#pinBlocks(message.values as readonly Encoded[], false);
          for (let index = 0; index < message.values.length; index++) {
            if (message.errors[index] !== true) this.#received.add(sharedBytes(message.values[index] as Encoded));
          }
          if (message.values.some(needsArrow)) void preloadArrow().then(() => this.#backend.reply(message));
          else this.#backend.reply(message);
          break;
        case "waited":
        case "timeout":
          this.#backend.reply(message);
          break;
        case "actorInit":
          this.#actors.init(message.cells);
          break;
        case "call":
          this.#pinBlocks(message.args, false);
          this.#actors.call(message);
          break;
        case "actorKill":
          this.#actors.kill(message.actor);
          break;
      }
    }
    this.#actors.run();
    this.#pump();
  }

  /** Unpacks a run of tasks (see {@link RunCells}) onto the queue; side tasks start at once. */
  #queueRuns(cells: RunCells): void {
    for (let at = 0; at < cells.length; ) {
      const task = cells[at] as number;
      const fn = cells[at + 1] as number;
      const name = (cells[at + 2] as string | 0) || (this.#defs.get(fn)?.name ?? "task");
      const side = cells[at + 3] as boolean;
      const argc = cells[at + 4] as number;
      const args = cells.slice(at + 5, at + 5 + argc);
      at += 5 + argc;
      const run: Run = { task, fn, name, args, pinned: this.#pinBlocks(args) };
      // A task of less than one CPU does not wait for the runner: async ones overlap on this event loop.
      if (side) void this.#run(run, true);
      else this.#queue.push(run);
    }
  }

  #define(fn: number, def: FunctionDefinition, captures: Readonly<Record<string, Encoded>>): void {
    this.#defs.set(fn, def);
    state.functions.set(fn, def);
    this.#backend.known(fn);
    if (def.kind === "source") {
      try {
        this.#functions.set(fn, withSelf(fromSource(def.source) as Callable, fn, def.name));
      } catch (error) {
        // Reported to each task of this function when it runs.
        const failed = Promise.reject(error);
        failed.catch(() => undefined);
        this.#functions.set(fn, failed);
      }
      return;
    }
    const values: Record<string, unknown> = {};
    for (const [name, encoded] of Object.entries(captures)) values[name] = decode(encoded, this.#backend.revive);
    const loading = import(def.url).then((module: Record<string, unknown>) => {
      const factory = module[def.exportName];
      if (typeof factory !== "function") throw new RayError(`task module ${def.url} has no factory export ${def.exportName}`);
      const built = withSelf((factory as (captures: Record<string, unknown>) => Callable)(values), fn, def.name);
      this.#functions.set(fn, built);
      return built;
    });
    loading.catch(() => undefined);
    this.#functions.set(fn, loading);
  }

  /**
   * After a long synchronous task, reads the messages that arrived meanwhile
   * before starting the next one, so that a cancel sent while a task ran
   * reaches the tasks queued behind it.
   */
  #catchUp(started: number): void {
    const now = performance.now();
    // Results of a long run of short tasks go out every ~0.2 ms, so the driver can send more work in time.
    if (now - this.#backend.lastFlush > 0.2) this.#backend.flushNow();
    if (now - started < 1) return;
    for (let message = receiveMessageOnPort(this.#port); message !== undefined; message = receiveMessageOnPort(this.#port)) {
      this.#receive(message.message as ToWorker[]);
    }
  }

  /** The arguments of a task or call, counting the by-value copies among them. */
  #decodeArgs(args: readonly Encoded[]): unknown[] {
    return args.map((arg) => {
      if (typeof arg === "object" && arg !== null && arg.t === "tc") this.#copies.add(arg.v.byteLength);
      return decode(arg, this.#backend.revive);
    });
  }

  /**
   * Notes the shared blocks named in values that just arrived. A block sent
   * with its buffer is cached again, so an eviction still waiting for it is
   * void; with `pin`, blocks sent by id alone stay cached until
   * {@link #unpinBlocks}: the driver may say to forget a block while tasks
   * queued here still name it. Returns whether anything was pinned.
   */
  #pinBlocks(values: readonly Encoded[], pin = true): boolean {
    let pinned = false;
    for (const value of values) {
      if (typeof value !== "object" || value === null || (value.t !== "ta" && value.t !== "ab")) continue;
      if (value.b !== undefined) this.#evictLater.delete(value.k);
      else if (pin) {
        this.#blockPins.set(value.k, (this.#blockPins.get(value.k) ?? 0) + 1);
        pinned = true;
      }
    }
    return pinned;
  }

  /** A queued task no longer needs its blocks cached (its arguments are decoded, or it will not run). */
  #unpinBlocks(run: Run): void {
    if (!run.pinned) return;
    run.pinned = false;
    this.#unpinArgs(run.args);
  }

  /** Undoes one {@link #pinBlocks} of these values. */
  #unpinArgs(args: readonly Encoded[]): void {
    const evict: number[] = [];
    for (const value of args) {
      if (typeof value !== "object" || value === null || (value.t !== "ta" && value.t !== "ab") || value.b !== undefined) continue;
      const count = (this.#blockPins.get(value.k) ?? 0) - 1;
      if (count > 0) {
        this.#blockPins.set(value.k, count);
        continue;
      }
      this.#blockPins.delete(value.k);
      if (this.#evictLater.delete(value.k)) evict.push(value.k);
    }
    if (evict.length > 0) this.#pressure.add(evictBlocks(evict));
  }

  /** Forgets blocks the store dropped, once no queued task names them; with `recycle`, keeps those it may reuse. */
  #evict(blocks: readonly number[], recycle = false): void {
    const now: number[] = [];
    for (const block of blocks) {
      if (this.#blockPins.has(block)) this.#evictLater.add(block);
      else now.push(block);
    }
    this.#pressure.add(recycle ? recycleBlocks(now) : evictBlocks(now));
  }

  /** Between two tasks, when nothing of the last one is left on the stack: a collection that is due runs now. */
  #collectDue(): void {
    if (this.#pressure.due) this.#pressure.collectDue();
    else if (this.#received.due) this.#received.collectDue();
  }

  /** Starts runners while the queue has work and no runner is free: a runner blocked in `get` frees its slot. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#runners - this.#backend.blocked < 1) {
      this.#runners++;
      void this.#runLoop();
    }
  }

  async #runLoop(): Promise<void> {
    try {
      for (let task = this.#queue.shift(); task !== undefined; task = this.#queue.shift()) {
        const started = performance.now();
        const pending = this.#run(task, false, started);
        if (pending !== undefined) await pending;
        // The last queued task's result goes out before the bookkeeping below: the driver may be waiting for it.
        if (this.#queue.length === 0) this.#backend.flushNow();
        this.#catchUp(started);
        this.#collectDue();
        if (this.#runners - this.#backend.blocked > 1) break; // a blocked runner woke up: let it finish alone
      }
    } finally {
      this.#runners--;
      if (this.#runners === 0 && this.#queue.length === 0) this.#collectIdle();
    }
  }

  /**
   * The thread has nothing to run: if its tasks held refs, collect now so
   * that the refs they dropped are given back (and their objects freed)
   * instead of waiting for a collection that an idle thread never has.
   */
  #collectIdle(): void {
    if (this.#backend.takeAdopted() === 0) return;
    // In a later turn: refs made or read in this one are kept alive until it ends.
    setImmediate(() => {
      if (this.#runners === 0 && this.#queue.length === 0) collectNow();
    });
  }

  /** Runs one task; returns a promise only when the task is asynchronous. A side task does not take the running slot. */
  #run(task: Run, side = false, start = performance.now()): Promise<void> | undefined {
    if (this.#cancelled.delete(task.task)) {
      this.#unpinBlocks(task);
      this.#fail(task.task, task.name, new TaskCancelledError(`task ${task.name} was cancelled before it started`), start);
      return undefined;
    }
    const fn = this.#functions.get(task.fn);
    if (fn === undefined) {
      this.#unpinBlocks(task);
      this.#fail(task.task, task.name, new RayError(`function ${task.fn} was never defined on this worker`), start);
      return undefined;
    }
    if (task.args.some(needsArrow)) return preloadArrow().then(() => this.#run(task, side));
    if (fn instanceof Promise) {
      return fn.then(
        () => this.#run(task, side),
        (error: unknown) => {
          this.#unpinBlocks(task);
          this.#fail(task.task, task.name, error, start);
        },
      );
    }
    if (!side) this.#running[this.#info.index] = task.task;
    this.#currentName = task.name;
    runningNow.task = task.task;
    runningNow.actor = undefined;
    const explain = (error: unknown): unknown => {
      try {
        return explainMissingName(error, this.#defs.get(task.fn) as FunctionDefinition);
      } catch {
        return error; // a thrown value whose fields throw: reported as it is
      }
    };
    let result: unknown;
    try {
      let args: unknown[];
      try {
        args = this.#decodeArgs(task.args);
      } finally {
        this.#unpinBlocks(task);
      }
      result = fn(...args);
    } catch (error) {
      this.#fail(task.task, task.name, explain(error), start);
      return undefined;
    }
    return this.#outcome(task.task, task.name, result, start, explain);
  }

  /** Reports what a task or call returned: at once for a value, when it settles for a promise. */
  #outcome(task: number, name: string, result: unknown, start: number, explain: (error: unknown) => unknown): Promise<void> | undefined {
    let thenable: boolean;
    try {
      if (isGeneratorObject(result)) return this.#generators.run(task, name, result, start, explain);
      thenable = isThenable(result);
    } catch (error) {
      // A returned proxy whose `then` throws.
      this.#fail(task, name, error, start);
      return undefined;
    }
    if (!thenable) {
      this.#complete(task, name, result, start);
      return undefined;
    }
    return Promise.resolve(result).then(
      (value) => this.#complete(task, name, value, start),
      (error: unknown) => this.#fail(task, name, explain(error), start),
    );
  }

  #complete(task: number, name: string, value: unknown, start: number): void {
    if (needsArrow(value)) {
      void preloadArrow().then(() => this.#complete(task, name, value, start));
      return;
    }
    let encoded: Encoded;
    try {
      encoded = encode(value, `the return value of ${name}`);
    } catch (error) {
      this.#fail(task, name, error, start);
      return;
    }
    // A returned array copied into the store is usually garbage now: collected young, its memory serves the next one still mapped.
    if (typeof encoded === "object" && encoded !== null && (encoded.t === "ta" || encoded.t === "ab") && isPrivateBinary(value)) this.#copies.add(sizeOf(encoded));
    this.#callActors.delete(task);
    this.#backend.done(task, encoded, (performance.now() - start) * 1000);
    this.#backend.scheduleFlush(this.#port);
  }

  #fail(task: number, name: string, error: unknown, start: number): void {
    this.#callActors.delete(task);
    let data: ErrorData;
    try {
      data = error instanceof SerializationError || error instanceof TaskCancelledError ? errorToData(error) : taskErrorData(name, error);
    } catch {
      data = taskErrorData(name, undefined); // `instanceof` on a proxy whose traps throw
    }
    this.send({ kind: "fail", task, error: data, us: (performance.now() - start) * 1000 });
  }

  /** A task parks in `get`/`wait`: its slot goes to the next queued task. Returns the parked task. */
  #onBlocked(): number {
    const task = this.#running[this.#info.index] ?? 0;
    this.send({ kind: "blocked", task });
    // Not now: the next task would run inside the caller's `get`, before its
    // request is registered, and could read the answer too early.
    queueMicrotask(() => this.#pump());
    return task;
  }

  /**
   * A parked task resumes: it is the running one again, so that a crash
   * from here on is charged to it and not to whichever task started last.
   */
  #onUnblocked(task: number): void {
    this.#running[this.#info.index] = task;
    runningNow.task = task;
    runningNow.actor = this.#callActors.get(task);
    this.send({ kind: "unblocked", task });
  }
}

// A throw outside any task's promise is a crash, as in Ray: the thread ends
// and the driver retries what it was running on a fresh worker.
let server: WorkerServer | undefined;
process.on("unhandledRejection", (reason) => {
  throw reason;
});
process.on("uncaughtException", (error) => {
  server?.strayError(error);
  throw error;
});

workerpool.worker({
  serve(port: MessagePort, info: WorkerInfo): Promise<void> {
    server = new WorkerServer(port, info);
    return server.served();
  },
});

