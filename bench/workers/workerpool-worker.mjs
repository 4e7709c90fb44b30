// Worker script of the raw `workerpool` peer: the same kernels, registered by name.
import workerpool from "workerpool";
import { augmentImage, empty, fibonacci, length, ones, peek, piSamples, spin } from "./kernels.mjs";

workerpool.worker({ empty, spin, peek, length, ones, fibonacci, piSamples, augmentImage });
