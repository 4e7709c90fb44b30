/**
 * What can cross to a worker, in types. Structured clone keeps data but not
 * prototypes or functions, so a value with methods (a class instance, an
 * object holding a callback) arrives as something else; rayts refuses such
 * values at run time with a SerializationError, and these types refuse them
 * at compile time, naming the reason in the type.
 */

/** A type that no value has; its key says why the value cannot be sent. */
export interface NotSendable<Why extends string> {
  readonly "cannot be sent to a worker": Why;
}

type Handle = { readonly __rayts$: string } | { readonly actorId: string; readonly actorName: string };
/** Arrow data, by shape (rayts keeps it in shared memory). */
type ArrowLike = { readonly schema: object; readonly numRows: number } | { readonly type: object; readonly data: readonly unknown[]; readonly length: number };
type Cloneable =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a function that returns nothing returns `void`, which must count as sendable
  | void
  | Date
  | RegExp
  | Error
  | ArrayBuffer
  | SharedArrayBuffer
  | ArrayBufferView
  | Handle
  | ArrowLike;

type Fn = (...args: never[]) => unknown;
type HasMethods<T> = { [K in keyof T]-?: T[K] extends Fn ? K : never }[keyof T] extends never ? false : true;

/**
 * True when a value of type T survives a copy to a worker as it is. Looks 4
 * levels deep (recursive types stay cheap to check); deeper levels are
 * checked at run time only.
 */
export type IsSendable<T, Depth extends unknown[] = []> = Depth["length"] extends 4
  ? true
  : unknown extends T
    ? true
    : T extends Cloneable
      ? true
      : T extends Fn
        ? false
        : T extends ReadonlyMap<infer K, infer V>
          ? [IsSendable<K, [...Depth, 0]>, IsSendable<V, [...Depth, 0]>] extends [true, true]
            ? true
            : false
          : T extends ReadonlySet<infer V>
            ? IsSendable<V, [...Depth, 0]>
            : T extends readonly (infer E)[]
              ? IsSendable<E, [...Depth, 0]>
              : T extends object
                ? HasMethods<T> extends true
                  ? false
                  : false extends { [K in keyof T]-?: IsSendable<T[K], [...Depth, 0]> }[keyof T]
                    ? false
                    : true
                : true;

/**
 * T itself when it can be sent to a worker, else a {@link NotSendable}
 * saying why: a function, or an object with methods such as a class instance.
 */
export type Sendable<T> = [IsSendable<T>] extends [true]
  ? T
  : NotSendable<"it holds a function or an object with methods (a class instance?): structured clone drops prototypes; send plain data">;
