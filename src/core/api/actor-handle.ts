/**
 * Actor handles, made cheap enough to hold by the ten thousand.
 *
 * A handle's own fields are its two markers only: the handle kind and the
 * actor's data (id, name, method lists), so it crosses threads as plain
 * data. Its methods, `actorId` and `actorName` are getters on a prototype
 * shared by every handle of the same class (the same method lists) in this
 * runtime; a method's stub is made the first time it is read and then kept
 * on the handle, so `handle.inc === handle.inc`. Making a handle costs two
 * small objects, however many methods the class has; the method lists are
 * shared, frozen, by all of them.
 */
import { ACTOR_KEY, HANDLE_KEY } from "../protocol/protocol.js";
import { runtimeScoped, state } from "../runtime/global-state.js";
import { makeActorMethod } from "./actor-method.js";
import { ACTOR_OWNER, formatId } from "./ids.js";

/** What a handle carries across threads under {@link ACTOR_KEY}. */
interface ActorData {
  readonly id: number;
  readonly name: string;
  readonly methods: readonly string[];
  readonly streaming?: readonly string[];
}

/** The prototype of the handles of one class in one runtime, and the frozen method lists their data shares. */
export interface HandleShape {
  /** The runtime the shape belongs to (its id prefix). */
  readonly tag: string;
  readonly proto: object;
  readonly methods: readonly string[];
  readonly streaming: readonly string[];
}

const SHAPES = Symbol("rayts.handleShapes");
const NONE: readonly string[] = Object.freeze([]);

function dataOf(handle: object): ActorData {
  const data = (handle as Record<string, unknown>)[ACTOR_KEY] as ActorData | undefined;
  if (data === undefined) throw new TypeError("Expected an actor handle made by rayts, got an object that only inherits from one");
  return data;
}

function makeShape(methods: readonly string[], streaming: readonly string[]): HandleShape {
  const tag = state.tag;
  const descriptors: PropertyDescriptorMap = Object.create(null) as PropertyDescriptorMap;
  for (const method of methods) {
    // The markers are the handle's own fields: a method of that name cannot shadow them.
    if (method === HANDLE_KEY || method === ACTOR_KEY) continue;
    const streams = streaming.includes(method);
    descriptors[method] = {
      configurable: true,
      enumerable: false,
      get(this: object): unknown {
        const stub = makeActorMethod(dataOf(this).id, method, streams, this);
        Object.defineProperty(this, method, { value: stub, enumerable: false });
        return stub;
      },
    };
  }
  // A method of the same name wins: the id and name stay readable with `actorInfo()`.
  if (!methods.includes("actorId")) {
    descriptors["actorId"] = { configurable: true, enumerable: false, get: function (this: object): string { return formatId(tag, dataOf(this).id); } };
  }
  if (!methods.includes("actorName")) {
    descriptors["actorName"] = { configurable: true, enumerable: false, get: function (this: object): string { return dataOf(this).name; } };
  }
  return {
    tag,
    proto: Object.create(Object.prototype, descriptors) as object,
    methods: Object.freeze([...methods]),
    streaming: streaming.length === 0 ? NONE : Object.freeze([...streaming]),
  };
}

/** The shape of the handles with these methods in the current runtime (made once, then cached). */
export function handleShape(methods: readonly string[], streaming: readonly string[] = NONE): HandleShape {
  const shapes = runtimeScoped(SHAPES, () => new Map<string, HandleShape>());
  const key = JSON.stringify(streaming.length === 0 ? methods : [methods, streaming]);
  let shape = shapes.get(key);
  if (shape === undefined) shapes.set(key, (shape = makeShape(methods, streaming)));
  return shape;
}

/**
 * Builds a handle to actor `id`. The marker fields are the only own
 * enumerable ones, so a handle crosses threads as plain data and is rebuilt
 * there by this function.
 */
export function makeActorHandle(id: number, name: string, methods: readonly string[], streaming: readonly string[] = NONE, shape?: HandleShape): Record<string, unknown> {
  const { proto, methods: shared, streaming: streams } = shape ?? handleShape(methods, streaming);
  const data: ActorData = streams.length === 0 ? { id, name, methods: shared } : { id, name, methods: shared, streaming: streams };
  const handle = Object.create(proto) as Record<string, unknown>;
  handle[HANDLE_KEY] = "actor";
  handle[ACTOR_KEY] = data;
  // Not enumerable and symbol-keyed: the handle still crosses threads as its two markers.
  Object.defineProperty(handle, ACTOR_OWNER, { value: state.tag });
  state.backend?.trackActorHandle(handle, id);
  return handle;
}
