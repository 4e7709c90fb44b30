// Task bodies shared by every runtime in a benchmark: serial code calls them
// directly, the workerpool and piscina workers import them, and rayts ships
// their source text (so each one is self-contained: no helper outside its
// own body, no import). Plain JavaScript because pool workers on Node 20 do
// not inherit the tsx loader.

/** Does nothing: the empty task of the overhead suite. */
export function empty() {
  return 0;
}

/**
 * Busy loop of `iterations` steps (calibrated to durations by the harness).
 * The modulo keeps V8 from folding the loop away; the result is returned so
 * it cannot be dropped either.
 */
export function spin(iterations) {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x + i * 7) % 1000003;
  return x;
}

/** Seed 004's `foo1`: touch one element of the array it was given. */
export function peek(array) {
  return array[5] ** 2;
}

/** A fresh array of `bytes` ones: a large result. */
export function ones(bytes) {
  return new Uint8Array(bytes).fill(1);
}

/** Returns the length of whatever array-like it receives (by-value transfers). */
export function length(array) {
  return array.length;
}

/** Seed 003's `generate_fibonacci`: BigInt terms, like Python's ints; returns the count. */
export function fibonacci(sequenceSize) {
  const terms = [];
  for (let i = 0; i < sequenceSize; i++) {
    if (i < 2) {
      terms.push(BigInt(i));
      continue;
    }
    terms.push(terms[i - 1] + terms[i - 2]);
  }
  return terms.length;
}

/** Seed 003's `sampling_task`: Monte Carlo darts in the unit circle. */
export function piSamples(numSamples) {
  let inside = 0;
  for (let i = 0; i < numSamples; i++) {
    const x = Math.random() * 2 - 1;
    const y = Math.random() * 2 - 1;
    if (Math.hypot(x, y) <= 1) inside++;
  }
  return inside;
}

/**
 * Seed 003's `transform_image` on an in-memory "RPM" image (see
 * encodeImage): decode to planar RGB, random horizontal flip, random crop of
 * 224x224 with 4 pixels of zero padding, to float in [0, 1], normalise with
 * mean 0.5 and std 0.5. Returns a Float32Array of 3 * 224 * 224.
 * `image` is the image's bytes or, as in the seed (`Image.open(path)`), the
 * path of its file, read here.
 */
export function augmentImage(image, seed) {
  const encoded = typeof image === "string" ? process.getBuiltinModule("node:fs").readFileSync(image) : image;
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  // Decode: 12-byte header "RPM1", width, height (u32 LE), then rows of
  // run-length pairs per channel-interleaved pixel: [count, r, g, b].
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const width = view.getUint32(4, true);
  const height = view.getUint32(8, true);
  const plane = width * height;
  const pixels = new Uint8Array(plane * 3);
  let at = 12;
  let p = 0;
  while (p < plane) {
    const count = encoded[at];
    const r = encoded[at + 1];
    const g = encoded[at + 2];
    const b = encoded[at + 3];
    at += 4;
    for (let k = 0; k < count; k++, p++) {
      pixels[p] = r;
      pixels[plane + p] = g;
      pixels[2 * plane + p] = b;
    }
  }
  // RandomHorizontalFlip (p = 0.5) over the whole image, as torchvision does.
  if (random() < 0.5) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < height; y++) {
        const row = c * plane + y * width;
        for (let l = row, r = row + width - 1; l < r; l++, r--) {
          const t = pixels[l];
          pixels[l] = pixels[r];
          pixels[r] = t;
        }
      }
    }
  }
  // RandomCrop(224, padding=4), ToTensor, Normalize(0.5, 0.5).
  const size = 224;
  const pad = 4;
  const top = Math.floor(random() * (height + 2 * pad - size + 1)) - pad;
  const left = Math.floor(random() * (width + 2 * pad - size + 1)) - pad;
  const out = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      const sy = top + y;
      for (let x = 0; x < size; x++) {
        const sx = left + x;
        const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
        const value = inside ? pixels[c * plane + sy * width + sx] / 255 : 0;
        out[c * size * size + y * size + x] = (value - 0.5) / 0.5;
      }
    }
  }
  return out;
}

/**
 * Makes a synthetic image (noise in short runs, like a photo's texture) in
 * the format `augmentImage` decodes. Driver-side helper, not a task.
 */
export function encodeImage(width, height, seed) {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const plane = width * height;
  const chunks = [];
  let total = 12;
  let p = 0;
  let run = new Uint8Array(4 * 65536);
  let used = 0;
  while (p < plane) {
    const bits = random();
    const count = Math.min(1 + (bits & 3), plane - p);
    if (used + 4 > run.length) {
      chunks.push(run.subarray(0, used));
      total += used;
      run = new Uint8Array(4 * 65536);
      used = 0;
    }
    run[used] = count;
    run[used + 1] = (bits >>> 8) & 255;
    run[used + 2] = (bits >>> 16) & 255;
    run[used + 3] = (bits >>> 24) & 255;
    used += 4;
    p += count;
  }
  chunks.push(run.subarray(0, used));
  total += used;
  const encoded = new Uint8Array(total);
  const view = new DataView(encoded.buffer);
  encoded.set([82, 80, 77, 49], 0); // "RPM1"
  view.setUint32(4, width, true);
  view.setUint32(8, height, true);
  let at = 12;
  for (const chunk of chunks) {
    encoded.set(chunk, at);
    at += chunk.length;
  }
  return encoded;
}
