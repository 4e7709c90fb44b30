// Worker script of the raw `workerpool` peer: the same kernels, registered by name.
import workerpool from "workerpool";
import { augmentImage, empty, fibonacci, length, peek, piSamples, spin } from "./kernels.mjs";

workerpool.worker({ empty, spin, peek, length, fibonacci, piSamples, augmentImage });
