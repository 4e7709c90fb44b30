/**
 * Compiled fixture programs run and print what their `expected-output.txt`
 * says; the compile report says how each capture is shipped. Programs run
 * with node from a temp folder inside the repo, importing the built rayts
 * (`dist/`, made by `npm run build` before the tests).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { CompileReport, RemoteReport } from "../../src/compiler/report.js";
import { FIXTURES, fixtureFile, removeDir, runCli, runNode, tempDir, transpileWithoutRaycompile, type CliRun } from "./support.js";

const scratch = tempDir("programs");
after(() => removeDir(scratch));

/** Compiles a fixture with `--report json`; returns the report and the run. */
function compileFixture(name: string): { report: CompileReport; run: CliRun; outDir: string } {
  const outDir = path.join(scratch, name);
  const run = runCli(["src", "--outDir", outDir, "--report", "json"], path.join(FIXTURES, name));
  assert.equal(run.code, 0, run.stderr);
  return { report: JSON.parse(run.stdout) as CompileReport, run, outDir };
}

/** Compiles and runs a fixture; checks its stdout against expected-output.txt. */
async function compileAndRun(name: string): Promise<{ report: CompileReport; compile: CliRun; program: CliRun }> {
  const { report, run, outDir } = compileFixture(name);
  const program = await runNode(path.join(outDir, "main.js"));
  assert.equal(program.code, 0, program.stderr);
  assert.equal(program.stdout, fixtureFile(name, "expected-output.txt"));
  return { report, compile: run, program };
}

function remoteNamed(report: CompileReport, binding: string): RemoteReport {
  const found = report.remoteFunctions.find((r) => r.binding === binding);
  assert.ok(found !== undefined, `no remote function ${binding} in the report`);
  return found;
}

function shipping(remote: RemoteReport): string[] {
  return remote.captures.map((c) => `${c.name}:${c.shippedAs}`);
}

// Each test compiles its own fixture into its own folder and runs it in a child process: two go side by side, so one
// compiles (in this process) while the other's program runs.
describe("compiled programs", { concurrency: 2 }, () => {
  it("seed 004: foo2's captured A gives foo1's results and is put exactly once", async () => {
    const { report } = await compileAndRun("seed-004");
    assert.deepEqual(shipping(remoteNamed(report, "foo1")), []);
    const foo2 = remoteNamed(report, "foo2");
    assert.deepEqual(foo2.captures, [
      {
        name: "A",
        shippedAs: "ref",
        detail: "module-level const (32.8 KB), put once on first call and passed to workers by ref",
        estimatedBytes: 4200 * 8,
      },
    ]);
    // Uncompiled, foo2 cannot see A in the worker: the runtime says so and points at raycompile.
    const plainDir = path.join(scratch, "seed-004-uncompiled");
    transpileWithoutRaycompile(path.join(FIXTURES, "seed-004", "src"), plainDir);
    const plain = await runNode(path.join(plainDir, "main.js"));
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /A is not defined in the worker/);
    assert.match(plain.stderr, /raycompile/);
  });

  it("self-contained remote functions print the same compiled and uncompiled", async () => {
    const { program } = await compileAndRun("equivalence");
    const plainDir = path.join(scratch, "equivalence-uncompiled");
    transpileWithoutRaycompile(path.join(FIXTURES, "equivalence", "src"), plainDir);
    const plain = await runNode(path.join(plainDir, "main.js"));
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, program.stdout);
  });

  it("workers never run the caller's top-level code", async () => {
    const { report } = await compileAndRun("top-level-stays-in-driver");
    assert.deepEqual(shipping(remoteNamed(report, "inspect")), ["LABEL:import", "describe:copy"]);
  });

  it("ships every kind of capture, found through the checker whatever the import style", async () => {
    const { report } = await compileAndRun("captures");
    // Aliased import, namespace import, a user re-export and a name passed by reference are all found; the local `remote` is not.
    assert.deepEqual(
      report.remoteFunctions.map((r) => r.binding),
      ["useAll", "fib", "viaReexport", "addTenRemote", "Tally", "readShared", "bump"],
    );
    assert.deepEqual(shipping(remoteNamed(report, "useAll")), [
      "double:import",
      "thrice:import",
      "m:import",
      "config:import",
      "Color:copy",
      "Vec:copy",
      "bias:copy",
      "area:copy",
      "SETTINGS:ref",
      "TABLE:ref",
    ]);
    assert.equal(remoteNamed(report, "useAll").captures.find((c) => c.name === "bias")?.via, "Vec");
    assert.deepEqual(shipping(remoteNamed(report, "fib")), ["ray:import", "fib:remote"]);
    assert.deepEqual(shipping(remoteNamed(report, "viaReexport")), ["ray:import", "useAll:remote"]);
    assert.deepEqual(shipping(remoteNamed(report, "addTenRemote")), ["bias:copy", "addTen:copy", "SETTINGS:ref"]);
    const tally = remoteNamed(report, "Tally");
    assert.equal(tally.kind, "actor");
    assert.deepEqual(tally.methods, ["add"]);
    assert.deepEqual(shipping(remoteNamed(report, "bump")), ["ray:import", "tally:ref"]);
  });

  it("handles module shapes: default exports, names passed by reference, .mts, shebang, API names without import", async () => {
    const { report } = await compileAndRun("module-shapes");
    const byBinding = (binding: string) => shipping(remoteNamed(report, binding));
    assert.deepEqual(byBinding("default"), ["plusOne:copy", "LATER:ref"]);
    assert.equal(remoteNamed(report, "default").taskModule.endsWith(path.join("lib", "tasks.default.task.js")), true);
    assert.deepEqual(byBinding("AccActor"), ["Acc:import"]);
    assert.deepEqual(remoteNamed(report, "AccActor").methods, ["add", "hidden", "unhidden", "base"]);
    assert.deepEqual(byBinding("usesActorClass"), ["ray:import", "Counter:copy"]);
    assert.deepEqual(byBinding("importedFn"), ["plusOne:import"]);
    assert.deepEqual(byBinding("bareGet"), ["timesThree:remote", "get:runtime"]);
    assert.deepEqual(byBinding("named"), ["tag:import"]);
    const main = fs.readFileSync(path.join(scratch, "module-shapes", "main.js"), "utf8");
    assert.match(main, /^#!\/usr\/bin\/env node\n/);
  });

  it("compiles generator functions and generator methods into streaming tasks", async () => {
    const { report } = await compileAndRun("generators");
    assert.equal(remoteNamed(report, "Feed").kind, "actor");
    const main = fs.readFileSync(path.join(scratch, "generators", "main.js"), "utf8");
    assert.equal(main.match(/streaming: true/g)?.length, 2, "both generator functions are marked as streaming");
    assert.match(main, /streamingMethods: \["lines"\]/);
  });

  it("a capture that cannot be shipped fails its tasks with a named error; Arrow, nested and re-initialised captures work", async () => {
    const { report } = await compileAndRun("capture-failures");
    assert.deepEqual(shipping(remoteNamed(report, "inner")), ["BASE:ref"]);
    assert.deepEqual(shipping(remoteNamed(report, "usesToken")), ["TOKEN:ref"]);
  });

  it("leaves calls it cannot move to the runtime, and matches the uncompiled program on names, template literals and imports", async () => {
    const { report, compile, program } = await compileAndRun("uncompiled-calls");
    assert.match(compile.stderr, /src\/main\.ts:14:32 - warning RC1305: remote\(\) receives a call expression/);
    assert.match(compile.stderr, /src\/main\.ts:17:19 - warning RC1305: remote\(\) receives a number \(42\)/);
    // `d` must not make a task module TypeScript takes for a declaration file.
    assert.equal(path.basename(remoteNamed(report, "d").taskModule), "main.d_.task.js");
    assert.equal(remoteNamed(report, "worker").name, "work");
    assert.equal(remoteNamed(report, "BoxActor").kind, "actor");
    const plainDir = path.join(scratch, "uncompiled-calls-uncompiled");
    transpileWithoutRaycompile(path.join(FIXTURES, "uncompiled-calls", "src"), plainDir);
    const plain = await runNode(path.join(plainDir, "main.js"));
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, program.stdout);
  });

  it("ships an enum merged with a namespace whole", async () => {
    const { report } = await compileAndRun("merged-declarations");
    assert.deepEqual(shipping(remoteNamed(report, "toMetres")), ["Unit:copy"]);
  });

  it("writes source maps when the tsconfig asks: stack traces point at the .ts lines, in the driver and in workers", async () => {
    const { outDir } = compileFixture("source-maps");
    assert.ok(fs.existsSync(path.join(outDir, "main.js.map")));
    assert.ok(fs.existsSync(path.join(outDir, "main.boom.task.js.map")));
    const program = await runNode(path.join(outDir, "main.js"), 60_000, ["--enable-source-maps"]);
    assert.equal(program.code, 0, program.stderr);
    assert.equal(program.stdout, fixtureFile("source-maps", "expected-output.txt"));
  });

  it("warns about large captures at compile time (literal sizes) and at first call (the rest)", async () => {
    const { compile, program } = await compileAndRun("large-capture");
    // One warning per const, naming every remote function that captures it.
    assert.match(compile.stderr, /src\/main\.ts:6:7 - warning RC1301: remote functions lookup and product capture `WEIGHTS` of 11\.4 MB \(above 10 MB\)/);
    assert.doesNotMatch(compile.stderr, /BUFFER/);
    assert.match(program.stderr, /lookup captures `WEIGHTS` of 11\.4 MB/);
    assert.match(program.stderr, /lookup captures `BUFFER` of 12\.0 MB/);
    assert.equal(compile.stderr.match(/RC1301/g)?.length, 1);
    assert.equal(program.stderr.match(/captures `WEIGHTS`/g)?.length, 1);
    assert.equal(program.stderr.match(/captures `BUFFER`/g)?.length, 1);
  });
});
