// Worker script of the `piscina` peer: each kernel is a named export, picked
// with `run(arg, { name })`. Piscina passes one argument.
export { augmentImage, empty, fibonacci, length, peek, piSamples, spin } from "./kernels.mjs";
