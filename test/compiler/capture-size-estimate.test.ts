/**
 * Compile-time sizes of captured consts, read from their initializers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { estimateInitializerBytes, formatBytes } from "../../src/compiler/capture-size.js";
import { initializerOf, snippet } from "./snippets.js";

/** The estimate for `const X = <initializer>`, with `prelude` declared before it. */
function estimate(initializer: string, prelude = ""): number | undefined {
  const { file, checker } = snippet(`${prelude}\nconst X = ${initializer};\nexport {};`);
  return estimateInitializerBytes(checker, initializerOf(file, "X"));
}

describe("capture size estimate", () => {
  it("reads typed arrays, buffers and arrays of literal length", () => {
    assert.equal(estimate("new Float64Array(4200).fill(42)"), 33_600);
    assert.equal(estimate("new Uint8Array(1 << 20)"), 1_048_576);
    assert.equal(estimate("new Int32Array([1, 2, 3])"), 12);
    assert.equal(estimate("new ArrayBuffer(2 ** 10)"), 1024);
    assert.equal(estimate("Buffer.alloc(64 * 1024)"), 65_536);
    assert.equal(estimate("new Array(1000).fill(0)"), 8000);
    assert.equal(estimate("Array.from({ length: 10 }, (_, i) => i)"), 80);
    assert.equal(estimate("Float32Array.from({ length: 10 }, () => 1)"), 40);
    assert.equal(estimate('"ab".repeat(1_000)'), 2000);
    assert.equal(estimate("[1, 2, 3]"), 24);
  });

  it("follows numeric consts", () => {
    assert.equal(estimate("new Float64Array(N * 2)", "const M = 1_000_000; const N = M / 2;"), 8_000_000);
  });

  it("gives up on sizes known only at run time", () => {
    assert.equal(estimate("new Float64Array(Number(process.env.N))"), undefined);
    assert.equal(estimate("loadWeights()", "declare function loadWeights(): Float64Array;"), undefined);
    assert.equal(estimate("{ a: 1 }"), undefined);
  });

  it("formats sizes for messages", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(33_600), "32.8 KB");
    assert.equal(formatBytes(12 * 1024 * 1024), "12.0 MB");
  });
});
