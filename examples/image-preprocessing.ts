/**
 * Image preprocessing as in deep-learning data loaders. The dataset is a
 * folder of image files (here in a small run-length format, "RPM1": a
 * 12-byte header, then [count, r, g, b] runs), written to a fresh folder
 * under the system's temporary directory at the start and deleted at the
 * end, and each task gets a path: it loads the file, randomly flips it, randomly
 * crops it to 224x224 (padding 4) and normalises it to a Float32Array tensor
 * of shape [3, 224, 224]. Passing the path, not the pixels, is what keeps
 * the driver out of the way: nothing large crosses between threads.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ray from "../src/index.js";
import { quick, report, step, timedMedian } from "./support.js";

const NUM_IMAGES = quick ? 4 : 16;
const [WIDTH, HEIGHT] = quick ? [640, 480] : [2000, 1500];
const ROUNDS = quick ? 1 : 3;

/**
 * A synthetic image file's bytes: noise in short runs, like a photo's
 * texture.
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

/**
 * Image.open + transform_image: loads one image file, then decode,
 * RandomHorizontalFlip, RandomCrop(224, padding=4), ToTensor,
 * Normalize(0.5, 0.5). Uses only its parameters and globals, so it ships
 * as is, compiled or not.
 */
function augmentImage(file: string, seed: number): Float32Array {
  const encoded: Uint8Array = process.getBuiltinModule("node:fs").readFileSync(file);
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

const augmentImageDistributed = ray.remote(augmentImage);

/** The dataset: NUM_IMAGES files in `dir`. */
function imageFiles(dir: string): string[] {
  return Array.from({ length: NUM_IMAGES }, (_, i) => {
    const file = path.join(dir, `${i}.rpm`);
    writeFileSync(file, generateImage(WIDTH, HEIGHT, i + 1));
    return file;
  });
}

await ray.init({ numCpus: 2 });
const dataDir = mkdtempSync(path.join(tmpdir(), "rayts-images-"));
const removeData = (): void => rmSync(dataDir, { recursive: true, force: true });
process.once("exit", removeData); // also when a step below throws
step(`writing ${NUM_IMAGES} images of ${WIDTH}x${HEIGHT} to ${dataDir} (deleted at the end)`);
const files = imageFiles(dataDir);
// One untimed image each way first, so both sides are timed warm (each worker
// loads the task and compiles it on its first image).
augmentImage(files[0]!, 0);
await ray.get([0, 1].map(() => augmentImageDistributed.remote(files[0]!, 0)));
if (ROUNDS > 1) console.log(`(times: median of ${ROUNDS} runs)`);
const [serial, serialMs, serialTiming] = await timedMedian(ROUNDS, () => files.map((file, i) => augmentImage(file, i + 1)), `serial: ${NUM_IMAGES} images`);
const [distributed, distributedMs, distributedTiming] = await timedMedian(
  ROUNDS,
  () => ray.get(files.map((file, i) => augmentImageDistributed.remote(file, i + 1))),
  `rayts: ${NUM_IMAGES} tasks`,
);
const same = serial.every((t, i) => t.length === distributed[i]!.length && t.every((v, j) => v === distributed[i]![j]));
console.log(`tensor shape: [3, 224, 224], ${distributed.length} tensors, equal to serial: ${same}`);
report(`Serial :: ${NUM_IMAGES} images`, serialMs);
report(`Distributed :: ${NUM_IMAGES} images`, distributedMs, { name: "serial", ms: serialMs, timing: serialTiming }, {
  timing: distributedTiming,
  slowerBecause:
    `each image is read from disk and decoded into ${((WIDTH * HEIGHT * 3) / 1e6).toFixed(1)} MB of pixels, so the tasks are bound by memory and disk traffic, ` +
    "which two threads share, more than by arithmetic; the 224x224 tensors also travel back to the driver",
});
await ray.shutdown();
removeData();
console.log(`deleted ${dataDir}`);
