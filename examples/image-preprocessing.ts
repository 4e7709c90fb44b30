/**
 * Seed 003: image preprocessing as in deep-learning data loaders. Images
 * are generated in memory in a small run-length format ("RPM1": a 12-byte
 * header, then [count, r, g, b] runs), then each is decoded, randomly
 * flipped, randomly cropped to 224x224 (padding 4) and normalised to a
 * Float32Array tensor of shape [3, 224, 224].
 */
import * as ray from "../src/index.js";
import { quick, report, timed } from "./support.js";

const NUM_IMAGES = quick ? 4 : 16;
const [WIDTH, HEIGHT] = quick ? [640, 480] : [2000, 1500];

/**
 * A synthetic image: noise in short runs, like a photo's texture. Written
 * straight into its bytes, as a loader reading files would hand them over.
 */
function generateImage(width: number, height: number, seed: number): Uint8Array {
  let state = seed;
  const plane = width * height;
  let bytes = new Uint8Array(12 + 4 * Math.ceil(plane / 2));
  let at = 12;
  for (let p = 0; p < plane; at += 4) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const count = Math.min(1 + (state & 3), plane - p);
    if (at + 4 > bytes.length) {
      const grown = new Uint8Array(bytes.length * 2);
      grown.set(bytes);
      bytes = grown;
    }
    bytes[at] = count;
    bytes[at + 1] = (state >>> 4) & 255;
    bytes[at + 2] = (state >>> 12) & 255;
    bytes[at + 3] = (state >>> 20) & 255;
    p += count;
  }
  bytes = bytes.slice(0, at);
  bytes.set([82, 80, 77, 49]);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, width, true);
  view.setUint32(8, height, true);
  return bytes;
}

/** Decode, RandomHorizontalFlip, RandomCrop(224, padding=4), ToTensor, Normalize(0.5, 0.5). */
function transformImage(encoded: Uint8Array, seed: number): Float32Array {
  let state = seed;
  const random = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const width = view.getUint32(4, true);
  const height = view.getUint32(8, true);
  const plane = width * height;
  const pixels = new Uint8Array(plane * 3);
  for (let at = 12, p = 0; p < plane; at += 4) {
    for (let k = 0; k < encoded[at]!; k++, p++) {
      pixels[p] = encoded[at + 1]!;
      pixels[plane + p] = encoded[at + 2]!;
      pixels[2 * plane + p] = encoded[at + 3]!;
    }
  }
  if (random() < 0.5) {
    for (let row = 0; row < 3 * height; row++) pixels.subarray(row * width, (row + 1) * width).reverse();
  }
  const size = 224;
  const top = Math.floor(random() * (height + 8 - size + 1)) - 4;
  const left = Math.floor(random() * (width + 8 - size + 1)) - 4;
  const tensor = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const sy = top + y;
        const sx = left + x;
        const v = sy >= 0 && sy < height && sx >= 0 && sx < width ? pixels[c * plane + sy * width + sx]! / 255 : 0;
        tensor[(c * size + y) * size + x] = (v - 0.5) / 0.5;
      }
    }
  }
  return tensor;
}

// transformImage uses only its parameters and globals, so it ships as is,
// compiled or not.
const augmentImageDistributed = ray.remote(transformImage);

await ray.init({ numCpus: 2 });
const images = Array.from({ length: NUM_IMAGES }, (_, i) => generateImage(WIDTH, HEIGHT, i + 1));
// One untimed image each way first, so both sides are timed warm (each worker
// loads the task and compiles it on its first image).
transformImage(images[0]!, 0);
await ray.get([0, 1].map(() => augmentImageDistributed.remote(images[0]!, 0)));
console.log(`Running ${NUM_IMAGES} images (${WIDTH}x${HEIGHT}) serially....`);
const [serial, serialMs] = await timed(() => images.map((image, i) => transformImage(image, i + 1)));
console.log(`Running ${NUM_IMAGES} images distributed....`);
const [distributed, distributedMs] = await timed(() => ray.get(images.map((image, i) => augmentImageDistributed.remote(image, i + 1))));
const same = serial.every((t, i) => t.length === distributed[i]!.length && t.every((v, j) => v === distributed[i]![j]));
console.log(`tensor shape: [3, 224, 224], ${distributed.length} tensors, equal to serial: ${same}`);
report(`Serial :: ${NUM_IMAGES} images`, serialMs);
report(`Distributed :: ${NUM_IMAGES} images`, distributedMs, serialMs);
await ray.shutdown();
