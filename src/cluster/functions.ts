/**
 * The function registry: a remote function or actor class is published once
 * under a content hash of its definition, and nodes fetch and cache it on
 * first use. Source-text definitions ship as they are; a compiled task
 * module (raycompile output) ships as its file's text, content-addressed,
 * with its captured values (as Ray's `runtime_env.working_dir` ships code).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serialize } from "node:v8";
import { RayError } from "../core/api/errors.js";
import type { FunctionDefinition } from "../core/protocol/protocol.js";
import type { ArgWire } from "./wire.js";

/** A definition as it is published in Redis (v8-serialized). */
export type PublishedFunction =
  | { readonly kind: "source"; readonly name: string; readonly source: string }
  | {
      readonly kind: "module";
      readonly name: string;
      /** sha-256 of the module's text, the key of `rayts:code:<hash>`. */
      readonly hash: string;
      readonly exportName: string;
      /** Captured values, by name. */
      readonly captures: Readonly<Record<string, ArgWire>>;
    };

/** A compiled module's text and content hash. */
export interface ModuleCode {
  readonly hash: string;
  readonly text: string;
}

/** Reads a compiled task module (a file URL) and hashes it. */
export function moduleCode(url: string, name: string): ModuleCode {
  let text: string;
  try {
    text = readFileSync(fileURLToPath(url), "utf8");
  } catch (error) {
    throw new RayError(`cannot read the task module of ${name} (${url}) to ship it to the cluster: ${(error as Error).message}`);
  }
  return { hash: createHash("sha256").update(text).digest("hex"), text };
}

/**
 * The published form of a definition; `capture` turns a compiled module's
 * captured object ids into argument wires.
 */
export function publishable(def: FunctionDefinition, capture: (objectId: number) => ArgWire, code: (url: string, name: string) => ModuleCode): PublishedFunction {
  if (def.kind === "source") return { kind: "source", name: def.name, source: def.source };
  const captures: Record<string, ArgWire> = {};
  for (const [name, id] of Object.entries(def.captures)) captures[name] = capture(id);
  return { kind: "module", name: def.name, hash: code(def.url, def.name).hash, exportName: def.exportName, captures };
}

/** The bytes published and their content key. */
export function encodeFunction(published: PublishedFunction): { key: string; bytes: Buffer } {
  const bytes = serialize(published);
  return { key: createHash("sha256").update(bytes).digest("base64url").slice(0, 22), bytes };
}
