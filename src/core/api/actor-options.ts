/**
 * Validation of actor options (`remote(Class, options)`, `.options(...)`).
 * Checks that need the class's method names (per-method concurrency groups)
 * run in {@link checkMethodGroups} once the methods are known.
 */
import { checkBoolean, checkInteger, checkKeys, checkName, checkObject, checkObjectOption, checkRetries, show } from "./checks.js";
import { placement, type ResolvedActorOptions } from "./options.js";

/** The namespace of actor names when none is given. */
export const DEFAULT_NAMESPACE = "default";

const ACTOR_OPTION_KEYS = [
  "maxRestarts",
  "maxTaskRetries",
  "name",
  "namespace",
  "getIfExists",
  "lifetime",
  "maxConcurrency",
  "concurrencyGroups",
  "methodOptions",
  "dedicatedThread",
  "scheduling",
  "resources",
] as const;

function checkGroups(value: unknown): Record<string, number> {
  const groups = checkObjectOption(value, "concurrencyGroups");
  const resolved: Record<string, number> = {};
  for (const [group, limit] of Object.entries(groups)) resolved[group] = checkInteger(limit, `concurrencyGroups.${group}`, 1);
  return resolved;
}

function checkMethodOptions(value: unknown): Record<string, string> {
  const methods = checkObjectOption(value, "methodOptions");
  const groups: Record<string, string> = {};
  for (const [method, options] of Object.entries(methods)) {
    const checked = checkObjectOption(options, `methodOptions.${method}`);
    checkKeys(checked, ["concurrencyGroup"], `methodOptions.${method}`);
    if (checked["concurrencyGroup"] !== undefined) groups[method] = checkName(checked["concurrencyGroup"], `methodOptions.${method}.concurrencyGroup`);
  }
  return groups;
}

/** Resolves actor options over `base` (the class's options, or the defaults). */
export function resolveActorOptions(input: unknown, base: ResolvedActorOptions): ResolvedActorOptions {
  const options = checkObject(input, "actor options");
  checkKeys(options, ACTOR_OPTION_KEYS, "actor options");
  const lifetime = options["lifetime"];
  if (lifetime !== undefined && lifetime !== "detached" && lifetime !== "default") {
    throw new TypeError(`Expected \`lifetime\` to be "detached" or "default", got ${show(lifetime)}`);
  }
  const resolved: ResolvedActorOptions = {
    maxRestarts: options["maxRestarts"] === undefined ? base.maxRestarts : checkRetries(options["maxRestarts"], "maxRestarts"),
    maxTaskRetries:
      options["maxTaskRetries"] === undefined ? base.maxTaskRetries : checkRetries(options["maxTaskRetries"], "maxTaskRetries"),
    name: options["name"] === undefined ? base.name : checkName(options["name"], "name"),
    namespace: options["namespace"] === undefined ? base.namespace : checkName(options["namespace"], "namespace"),
    getIfExists: options["getIfExists"] === undefined ? base.getIfExists : checkBoolean(options["getIfExists"], "getIfExists"),
    detached: lifetime === undefined ? base.detached : lifetime === "detached",
    maxConcurrency:
      options["maxConcurrency"] === undefined ? base.maxConcurrency : checkInteger(options["maxConcurrency"], "maxConcurrency", 1),
    concurrencyGroups: options["concurrencyGroups"] === undefined ? base.concurrencyGroups : checkGroups(options["concurrencyGroups"]),
    methodGroups: options["methodOptions"] === undefined ? base.methodGroups : checkMethodOptions(options["methodOptions"]),
    dedicatedThread:
      options["dedicatedThread"] === undefined ? base.dedicatedThread : checkBoolean(options["dedicatedThread"], "dedicatedThread"),
    ...placement(options, base),
  };
  if (resolved.getIfExists && resolved.name === undefined) {
    throw new TypeError("Expected `name` with `getIfExists: true` (only a named actor can be found), got no name");
  }
  return resolved;
}

/** Checks that every per-method group names a method of the class and a declared group. */
export function checkMethodGroups(options: ResolvedActorOptions, methods: readonly string[], className: string): void {
  for (const [method, group] of Object.entries(options.methodGroups)) {
    if (!methods.includes(method)) {
      throw new TypeError(`Expected \`methodOptions\` to name methods of actor class ${className} (${methods.join(", ")}), got ${show(method)}`);
    }
    if (options.concurrencyGroups[group] === undefined) {
      const declared = Object.keys(options.concurrencyGroups);
      throw new TypeError(
        `Expected \`methodOptions.${method}.concurrencyGroup\` to be one of the \`concurrencyGroups\` (${declared.length === 0 ? "none declared" : declared.join(", ")}), got ${show(group)}`,
      );
    }
  }
}
