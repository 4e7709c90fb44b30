import { RayError } from "../core/index.js";

/**
 * An item of `mapPipelined` or `pipeline` failed. `index` is the item's
 * position in the input (0-based); `cause` is the task's error
 * (`RayTaskError` when the function threw, `WorkerCrashedError`,
 * `SerializationError` for an item that cannot be sent...).
 *
 * @example
 * try {
 *   for await (const y of ray.mapPipelined(f, xs)) use(y);
 * } catch (error) {
 *   if (error instanceof MapItemError) console.log(error.index, error.cause);
 * }
 */
export class MapItemError extends RayError {
  override name = "MapItemError";
  /** Position of the failed item in the input. */
  readonly index: number;
  constructor(index: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`item ${index} failed: ${reason}`, { cause });
    this.index = index;
  }
}
