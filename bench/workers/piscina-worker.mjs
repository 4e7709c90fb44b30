// Worker script of the `piscina` peer: each kernel is a named export, picked
// with `run(arg, { name })`. Piscina passes one argument.
import { augmentImage } from "./kernels.mjs";

export { augmentImage, empty, fibonacci, length, peek, piSamples, spin } from "./kernels.mjs";

/** augmentImage with its two arguments in one object. */
export function augmentImageTask({ image, seed }) {
  return augmentImage(image, seed);
}
