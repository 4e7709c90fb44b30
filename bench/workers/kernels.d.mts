// Types of kernels.mjs, for the TypeScript benchmark and example files.
export declare function empty(): number;
export declare function spin(iterations: number): number;
export declare function peek(array: ArrayLike<number>): number;
export declare function ones(bytes: number): Uint8Array;
export declare function length(array: ArrayLike<unknown>): number;
export declare function fibonacci(sequenceSize: number): number;
export declare function piSamples(numSamples: number): number;
export declare function augmentImage(image: Uint8Array | string, seed: number): Float32Array;
export declare function encodeImage(width: number, height: number, seed: number): Uint8Array;
