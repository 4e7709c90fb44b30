/**
 * What every part of a runtime agrees on: the function registry (which
 * remote function or actor class an id names), the actor-name registry,
 * and the nodes with their resources. `LocalControlPlane` keeps them in
 * this process; a cluster keeps them in Redis (src/cluster/control-plane.ts:
 * `publishFunction`/`fetchFunction`, `nameActor`/`unnameActor`/
 * `namedActors`, `registerNode`/`heartbeat`/`liveNodes`), asynchronously.
 */
import { nodeAddress } from "./node-address.js";
import { state } from "./global-state.js";
import type { FunctionDefinition } from "../protocol/protocol.js";

/**
 * Resources as Ray names them: CPU, memory, the object store, one
 * `node:<address>` per node, and the custom resources nodes declare
 * (`rayts start --resources '{"GPU":1}'`), undefined where none has them.
 */
export interface ClusterResources {
  CPU: number;
  memory: number;
  object_store_memory: number;
  [resource: string]: number | undefined;
}

/** One node of the cluster. */
export interface NodeInfo {
  nodeId: string;
  address: string;
  alive: boolean;
  resources: ClusterResources;
}

/** Registries and membership shared by the parts of a runtime. */
export interface ControlPlane {
  /** This node's id and address. */
  readonly nodeId: string;
  readonly address: string;
  /** The definition registered for a function or actor class id. */
  fetchFunction(fn: number): FunctionDefinition | undefined;
  /** Registers a definition; the first one for an id wins. */
  publishFunction(fn: number, def: FunctionDefinition): void;
  /** The actor registered under `name` in `namespace`. */
  actorByName(name: string, namespace: string): number | undefined;
  /** Registers `actor` under `name` in `namespace` (the caller checked that the name is free). */
  nameActor(name: string, namespace: string, actor: number): void;
  /** Frees the name if it still names `actor`; returns whether it did. */
  unnameActor(name: string, namespace: string, actor: number): boolean;
  /** Every actor that holds a name. */
  namedActors(): Iterable<number>;
  /** The live nodes, with their resources. */
  liveNodes(): NodeInfo[];
}

function nameKey(name: string, namespace: string): string {
  return `${namespace}\u0000${name}`;
}

/** The control plane of a runtime alone in its process: one node, registries in memory. */
export class LocalControlPlane implements ControlPlane {
  readonly nodeId = `local-${process.pid}`;
  readonly address = nodeAddress();
  readonly #resources: () => ClusterResources;
  readonly #names = new Map<string, number>();

  /** `resources` reads this node's total resources when asked. */
  constructor(resources: () => ClusterResources) {
    this.#resources = resources;
  }

  fetchFunction(fn: number): FunctionDefinition | undefined {
    return state.functions.get(fn);
  }

  publishFunction(fn: number, def: FunctionDefinition): void {
    if (!state.functions.has(fn)) state.functions.set(fn, def);
  }

  actorByName(name: string, namespace: string): number | undefined {
    return this.#names.get(nameKey(name, namespace));
  }

  nameActor(name: string, namespace: string, actor: number): void {
    this.#names.set(nameKey(name, namespace), actor);
  }

  unnameActor(name: string, namespace: string, actor: number): boolean {
    const key = nameKey(name, namespace);
    if (this.#names.get(key) !== actor) return false;
    this.#names.delete(key);
    return true;
  }

  namedActors(): Iterable<number> {
    return this.#names.values();
  }

  liveNodes(): NodeInfo[] {
    return [{ nodeId: this.nodeId, address: this.address, alive: true, resources: this.#resources() }];
  }
}
