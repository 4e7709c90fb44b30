/**
 * The function registry: a remote function or actor class is published once
 * under a content hash of its definition, and nodes fetch and cache it on
 * first use. Source-text definitions ship as they are.
 */
import { createHash } from "node:crypto";
import { RayError } from "../core/errors.js";
import type { FunctionDefinition } from "../core/protocol.js";

/** A definition as it is published in Redis. */
export interface PublishedFunction {
  readonly kind: "source";
  readonly name: string;
  readonly source: string;
}

/** The published form of a definition, or a RayError saying why it cannot run on another machine. */
export function publishable(def: FunctionDefinition): PublishedFunction {
  if (def.kind === "source") return { kind: "source", name: def.name, source: def.source };
  throw new RayError(
    `remote function ${def.name} comes from a compiled task module (${def.url}); cluster mode runs functions shipped as source text: ` +
      "pass ray.remote(fn) a self-contained function (its captures as arguments)",
  );
}

/** Content key of a published definition. */
export function functionKey(published: PublishedFunction): string {
  return createHash("sha256").update(JSON.stringify(published)).digest("base64url").slice(0, 22);
}
