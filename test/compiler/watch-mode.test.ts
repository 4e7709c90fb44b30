/**
 * The watch mode: a kept compiler recompiles incrementally, rewrites only
 * the outputs that changed, and recompiles by itself when a source changes.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Watcher, type WatchOutcome } from "../../src/compiler/index.js";
import { removeDir, runNode, tempDir } from "./support.js";

const scratch = tempDir("watch");
after(() => removeDir(scratch));

function project(name: string): { root: string; src: string; out: string } {
  const root = path.join(scratch, name);
  const src = path.join(root, "src");
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, "scale.ts"), "export const FACTOR = 2;\n");
  fs.writeFileSync(
    path.join(src, "main.ts"),
    [
      'import * as ray from "rayts";',
      'import { FACTOR } from "./scale.js";',
      "const OFFSET = 1;",
      "const f = ray.remote((x: number) => x * FACTOR + OFFSET);",
      "await ray.init({ numCpus: 1 });",
      "console.log(await ray.get(f.remote(10)));",
      "await ray.shutdown();",
      "",
    ].join("\n"),
  );
  return { root, src, out: path.join(root, "out") };
}

describe("watch mode", () => {
  it("recompiles incrementally and rewrites only the outputs that changed", async () => {
    const { root, src, out } = project("incremental");
    const outcomes: WatchOutcome[] = [];
    const watcher = new Watcher({ srcDir: "src", outDir: "out", cwd: root }, (outcome) => outcomes.push(outcome));
    const first = watcher.compileNow();
    assert.deepEqual(first.result.diagnostics, []);
    assert.ok(first.written >= 3, `first compile wrote ${first.written} files`);
    assert.equal((await runNode(path.join(out, "main.js"))).stdout, "21\n");

    fs.writeFileSync(path.join(src, "scale.ts"), "export const FACTOR = 3;\n");
    const second = watcher.compileNow();
    assert.deepEqual(second.result.diagnostics, []);
    assert.equal(second.written, 1, "only scale.js changed");
    assert.equal((await runNode(path.join(out, "main.js"))).stdout, "31\n");

    fs.writeFileSync(path.join(src, "scale.ts"), "export const FACTOR: number = missing;\n");
    const third = watcher.compileNow();
    assert.deepEqual(third.result.diagnostics.map((d) => d.code), ["RC1012"]);
    assert.equal(third.written, 0);
    assert.equal(outcomes.length, 3);
  });

  it("recompiles by itself when a source file changes", async () => {
    const { root, src, out } = project("on-change");
    let next: (outcome: WatchOutcome) => void = () => undefined;
    const watcher = new Watcher({ srcDir: "src", outDir: "out", cwd: root }, (outcome) => next(outcome));
    const compiled = (): Promise<WatchOutcome> => new Promise((resolve) => (next = resolve));
    const started = compiled();
    watcher.start();
    try {
      await started;
      const changed = compiled();
      fs.writeFileSync(path.join(src, "scale.ts"), "export const FACTOR = 5;\n");
      const outcome = await changed;
      assert.deepEqual(outcome.result.diagnostics, []);
      assert.equal((await runNode(path.join(out, "main.js"))).stdout, "51\n");
    } finally {
      watcher.close();
    }
  });
});
