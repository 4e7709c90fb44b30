/**
 * Bad inputs: every `fixtures/err-*` project compiles to exactly the
 * diagnostics in its `expected-diagnostics.txt`, each with a fix hint, exit
 * code 1, and no output at all.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { diagnosticLines, FIXTURES, fixtureFile, removeDir, runCli, tempDir } from "./support.js";

const scratch = tempDir("bad-input");
after(() => removeDir(scratch));

const cases = fs
  .readdirSync(FIXTURES)
  .filter((name) => name.startsWith("err-"))
  .sort();

describe("bad input gives a clear diagnostic and no output", () => {
  it("has a fixture for each kind of bad input", () => {
    assert.deepEqual(cases, [
      "err-arguments",
      "err-default-import",
      "err-function-scope",
      "err-mutable-let",
      "err-object-methods",
      "err-syntax",
      "err-this",
      "err-type-errors",
      "err-unreadable-tsconfig",
      "err-unshippable",
    ]);
  });

  for (const name of cases) {
    it(name, () => {
      const expected = fixtureFile(name, "expected-diagnostics.txt");
      assert.ok(expected !== undefined, `${name} needs an expected-diagnostics.txt`);
      const outDir = path.join(scratch, name);
      const run = runCli(["src", "--outDir", outDir], path.join(FIXTURES, name));
      assert.equal(run.code, 1);
      assert.deepEqual(diagnosticLines(run.stderr), expected.trim().split("\n"));
      const hints = run.stderr.split("\n").filter((line) => line.startsWith("  hint: "));
      assert.equal(hints.length, diagnosticLines(run.stderr).length, "every diagnostic carries a hint");
      assert.match(run.stdout, /nothing written/);
      assert.equal(fs.existsSync(outDir), false, "no partial output");
    });
  }
});
