/**
 * The functions and actor classes a node runs, defined on its local runtime
 * from what drivers published under a content key: source text as it is,
 * compiled modules fetched by content hash and cached on disk (as Ray's
 * `runtime_env.working_dir`), their captured values put in the node's store.
 * Each key is defined once; later tasks find it synchronously.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deserialize } from "node:v8";
import * as api from "../core/api/api.js";
import { RayError } from "../core/api/errors.js";
import { isObjectRef, type ObjectRef } from "../core/api/object-ref.js";
import { defineFunction } from "../core/api/remote-function.js";
import type { ControlPlane } from "./control-plane.js";
import type { PublishedFunction } from "./functions.js";
import type { ArgWire } from "./wire.js";

/** Argument values of wires (see NodeObjects.args). */
export type ArgValues = (args: readonly ArgWire[]) => unknown[] | Promise<unknown[]>;

export class NodeFunctions {
  readonly #plane: ControlPlane;
  readonly #nodeId: string;
  readonly #args: ArgValues;
  readonly #functions = new Map<string, Promise<number>>();
  /** Functions defined already, for the synchronous path of a task. */
  readonly #defined = new Map<string, number>();
  readonly #captures: ObjectRef<unknown>[] = [];

  constructor(plane: ControlPlane, nodeId: string, args: ArgValues) {
    this.#plane = plane;
    this.#nodeId = nodeId;
    this.#args = args;
  }

  /** The local function of `key` when it is defined already. */
  defined(key: string): number | undefined {
    return this.#defined.get(key);
  }

  /** The local function of `key`, defined on first use (a failed definition is tried again next time). */
  async fn(key: string): Promise<number> {
    let defined = this.#functions.get(key);
    if (defined === undefined) {
      defined = this.#define(key);
      this.#functions.set(key, defined);
      defined.then((fn) => this.#defined.set(key, fn), () => undefined);
      defined.catch(() => this.#functions.delete(key));
    }
    return defined;
  }

  async #define(key: string): Promise<number> {
    const bytes = await this.#plane.fetchFunction(key);
    if (bytes === null) throw new RayError(`node ${this.#nodeId} found no published function under key ${key}`);
    const published = deserialize(bytes) as PublishedFunction;
    if (published.kind === "source") return defineFunction({ kind: "source", name: published.name, source: published.source });
    const url = await this.#module(published.hash, published.name);
    const captures: Record<string, number> = {};
    for (const [name, wire] of Object.entries(published.captures)) {
      const values = await this.#args([wire]);
      const value = values[0];
      // A capture is an object id of this node's store; the ref (kept for good) holds it.
      const ref = isObjectRef(value) ? value : api.put(value);
      this.#captures.push(ref);
      captures[name] = ref.num;
    }
    return defineFunction({ kind: "module", name: published.name, url, exportName: published.exportName, captures });
  }

  /**
   * A compiled task module fetched by content hash and cached on disk, under
   * node_modules/.cache when the node runs in a project (so that the module's
   * package imports resolve against the node's own node_modules).
   */
  async #module(hash: string, name: string): Promise<string> {
    const projectCache = join(process.cwd(), "node_modules", ".cache", "rayts");
    const dir = existsSync(join(process.cwd(), "node_modules")) ? projectCache : join(tmpdir(), "rayts-code");
    const file = join(dir, `${hash}.mjs`);
    if (!existsSync(file)) {
      const text = await this.#plane.fetchCode(hash);
      if (text === null) throw new RayError(`node ${this.#nodeId} found no published code for ${name} (sha-256 ${hash})`);
      mkdirSync(dir, { recursive: true });
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, text);
      renameSync(partial, file);
    }
    return pathToFileURL(file).href;
  }
}
