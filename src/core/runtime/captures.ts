/**
 * Captured values of compiled remote functions (`remoteFromModule`): each
 * is read and put once per runtime, by the thread that defined the
 * function, when the function is first called; workers receive it by ref.
 *
 * Reading or putting a capture can fail (the value cannot be cloned, the
 * const is read before its initializer ran, Arrow data fails to encode
 * later). A failure is recorded in the definition and turns into the error
 * of the task that needed the capture: never an exception thrown out of
 * the runtime's message loop.
 */
import type { Backend } from "./backend.js";
import { errorToData, RayError, SerializationError, type ErrorData } from "../api/errors.js";
import { state } from "./global-state.js";
import type { ObjectRef } from "../api/object-ref.js";
import type { FunctionDefinition } from "../protocol/protocol.js";

type ModuleDefinition = Extract<FunctionDefinition, { kind: "module" }>;

/**
 * What the defining thread keeps beside a definition: the thunks that read
 * the captured values, and the runtime their refs belong to. Hung on the
 * definition under a registered symbol, non-enumerable, so a structured
 * clone of the definition (to the driver, to workers) leaves it behind.
 */
interface CaptureSource {
  readonly thunks: Readonly<Record<string, () => unknown>>;
  /** The runtime the current refs were put in; undefined until they all were. */
  backend: Backend | undefined;
  /** Keeps the captured objects alive as long as the definition. */
  refs: ObjectRef<unknown>[];
}

const SOURCE = Symbol.for("rayts.captureSource");
/** Refs of captured objects by runtime and value, so a const captured by several functions is put once. */
const REFS = Symbol.for("rayts.captureRefs");

/** Id standing for a capture that was never put (ids start at 1). */
export const NO_CAPTURE = 0;

function sourceOf(def: ModuleDefinition): CaptureSource | undefined {
  return (def as unknown as { [SOURCE]?: CaptureSource })[SOURCE];
}

function refCache(backend: Backend): WeakMap<object, ObjectRef<unknown>> {
  const holder = state as unknown as { [REFS]?: WeakMap<Backend, WeakMap<object, ObjectRef<unknown>>> };
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- false positive: an optional symbol-keyed property reads as never undefined
  const byBackend = (holder[REFS] ??= new WeakMap());
  let cache = byBackend.get(backend);
  if (cache === undefined) byBackend.set(backend, (cache = new WeakMap()));
  return cache;
}

/** A module definition whose captures are read later by {@link prepareCaptures}. */
export function moduleDefinition(name: string, url: string, exportName: string, thunks: Record<string, () => unknown>): ModuleDefinition {
  const captures: Record<string, number> = {};
  for (const key of Object.keys(thunks)) captures[key] = NO_CAPTURE;
  const def: ModuleDefinition = { kind: "module", name, url, exportName, captures };
  const source: CaptureSource = { thunks, backend: undefined, refs: [] };
  Object.defineProperty(def, SOURCE, { value: source, enumerable: false });
  return def;
}

/** The error a task gets when one of its captures could not be read or put. */
function captureError(name: string, fn: string, error: unknown): ErrorData {
  const reason = error instanceof Error ? error.message : String(error);
  const message = `capture \`${name}\` of ${fn} cannot be shipped to the workers: ${reason}`;
  const wrapped = error instanceof SerializationError ? new SerializationError(message, { cause: error }) : new RayError(message, { cause: error });
  return errorToData(wrapped);
}

/**
 * Reads and puts the captured values of function `fn` in `backend`, once
 * per runtime (again after `shutdown()` and `init()`). A no-op for other
 * definitions, and for copies of a definition made in another thread.
 * Failures are recorded in the definition's `captureErrors`.
 */
export function prepareCaptures(fn: number, backend: Backend): void {
  const def = state.functions.get(fn);
  if (def === undefined || def.kind !== "module") return;
  const source = sourceOf(def);
  if (source === undefined || source.backend === backend) return;
  const ids = def.captures as Record<string, number>;
  const errors: Record<string, ErrorData> = {};
  const refs: ObjectRef<unknown>[] = [];
  const cache = refCache(backend);
  let failed = false;
  for (const [name, thunk] of Object.entries(source.thunks)) {
    try {
      const value = thunk();
      // A captured ObjectRef is put too: the task receives the ref, as it would any value.
      let ref = typeof value === "object" && value !== null ? cache.get(value) : undefined;
      if (ref === undefined) {
        ref = backend.put(value);
        if (typeof value === "object" && value !== null) cache.set(value, ref);
      }
      ids[name] = ref.num;
      refs.push(ref);
    } catch (error) {
      ids[name] = NO_CAPTURE;
      errors[name] = captureError(name, def.name, error);
      failed = true;
    }
  }
  (def as { captureErrors?: Readonly<Record<string, ErrorData>> | undefined }).captureErrors = failed ? errors : undefined;
  source.refs = refs;
  // After a failure, the next call tries again (the const may not have been initialised yet).
  source.backend = failed ? undefined : backend;
}

/**
 * Why a capture of `def` is not usable, as the error of a task that needs
 * it: recorded when it was read or put, or `fallback` (a capture the
 * defining thread never put).
 */
export function captureFailure(def: ModuleDefinition, name: string, fallback: string): ErrorData {
  return def.captureErrors?.[name] ?? errorToData(new RayError(`capture \`${name}\` of ${def.name} is not available: ${fallback}`));
}
