/**
 * Stale outputs: after a source file or a remote function is renamed or
 * deleted, the task modules an earlier compile wrote for it are removed
 * (they are raycompile's own files); `--clean` also removes the other
 * files an earlier compile wrote that this one does not produce. A file
 * raycompile did not write, or one changed since, is never removed.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Watcher } from "../../src/compiler/index.js";
import type { CompileReport } from "../../src/compiler/report.js";
import { listTree, removeDir, runCli, runNode, tempDir } from "./support.js";

const scratch = tempDir("stale");
after(() => removeDir(scratch));

const MANIFEST = ".raycompile-manifest.json";

/** A tsconfig of its own (no source maps), so that the outputs do not depend on the repository's. */
function tsconfig(root: string): void {
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", strict: true, skipLibCheck: true } }));
}

/** A project whose main.ts holds one remote function bound to `binding`, plus a helper module. */
function project(name: string, binding = "triple"): { root: string; src: string; out: string } {
  const root = path.join(scratch, name);
  const src = path.join(root, "src");
  tsconfig(root);
  fs.mkdirSync(path.join(src, "lib"), { recursive: true });
  fs.writeFileSync(path.join(src, "lib", "factor.ts"), "export const FACTOR = 3;\n");
  writeMain(src, "main.ts", binding);
  return { root, src, out: path.join(root, "out") };
}

function writeMain(src: string, file: string, binding: string): void {
  fs.writeFileSync(
    path.join(src, file),
    [
      'import * as ray from "rayts";',
      'import { FACTOR } from "./lib/factor.js";',
      "const OFFSET = 1;",
      `const ${binding} = ray.remote((x: number) => x * FACTOR + OFFSET);`,
      "await ray.init({ numCpus: 1, includeDashboard: false });",
      `console.log(await ray.get(${binding}.remote(2)));`,
      "await ray.shutdown();",
      "",
    ].join("\n"),
  );
}

/** The output files, without the manifest. */
function outputs(out: string): string[] {
  return listTree(out).filter((file) => file !== MANIFEST);
}

function compileJson(root: string, ...extra: string[]): { code: number; report: CompileReport; stderr: string } {
  const run = runCli(["src", "--outDir", "out", "--report", "json", ...extra], root);
  return { code: run.code, report: JSON.parse(run.stdout) as CompileReport, stderr: run.stderr };
}

describe("stale outputs", () => {
  it("a renamed remote function's old task module is removed on the next compile", async () => {
    const { root, src, out } = project("renamed-function");
    assert.equal(compileJson(root).code, 0);
    assert.ok(outputs(out).includes("main.triple.task.js"), outputs(out).join(", "));
    writeMain(src, "main.ts", "times3");
    const second = compileJson(root);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.report.removed, [path.join("out", "main.triple.task.js")]);
    assert.deepEqual(outputs(out), ["__rayts__/capture-check.js", "lib/factor.js", "main.js", "main.times3.task.js"]);
    assert.equal((await runNode(path.join(out, "main.js"))).stdout, "7\n");
  });

  it("a renamed source file: its task modules go at once, its caller module with --clean, files raycompile did not write stay", async () => {
    const { root, src, out } = project("renamed-file");
    assert.equal(compileJson(root).code, 0);
    fs.writeFileSync(path.join(out, "notes.txt"), "mine\n");
    fs.mkdirSync(path.join(out, "vendor"));
    fs.writeFileSync(path.join(out, "vendor", "extra.js"), "export {};\n");
    fs.renameSync(path.join(src, "main.ts"), path.join(src, "app.ts"));

    const second = compileJson(root);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.report.removed, [path.join("out", "main.triple.task.js")]);
    assert.deepEqual(second.report.staleKept, [path.join("out", "main.js")]);
    assert.deepEqual(outputs(out), ["__rayts__/capture-check.js", "app.js", "app.triple.task.js", "lib/factor.js", "main.js", "notes.txt", "vendor/extra.js"]);
    assert.match(runCli(["src", "--outDir", "out"], root).stdout, /1 stale output kept .*main\.js.*--clean removes/);

    const cleaned = compileJson(root, "--clean");
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(cleaned.report.removed, [path.join("out", "main.js")]);
    assert.deepEqual(cleaned.report.staleKept, []);
    assert.deepEqual(outputs(out), ["__rayts__/capture-check.js", "app.js", "app.triple.task.js", "lib/factor.js", "notes.txt", "vendor/extra.js"]);
    assert.equal((await runNode(path.join(out, "app.js"))).stdout, "7\n");
  });

  it("--clean removes a deleted source's outputs and the folders it empties, and a second run changes nothing", () => {
    const { root, src, out } = project("deleted-folder");
    fs.mkdirSync(path.join(src, "jobs"));
    writeMain(src, path.join("jobs", "job.ts"), "job");
    fs.writeFileSync(path.join(src, "jobs", "job.ts"), fs.readFileSync(path.join(src, "jobs", "job.ts"), "utf8").replace("./lib/", "../lib/"));
    assert.equal(compileJson(root).code, 0);
    assert.ok(outputs(out).includes("jobs/job.job.task.js"));
    fs.rmSync(path.join(src, "jobs"), { recursive: true });
    const cleaned = compileJson(root, "--clean");
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(cleaned.report.removed, [path.join("out", "jobs", "job.job.task.js"), path.join("out", "jobs", "job.js")].sort());
    assert.equal(fs.existsSync(path.join(out, "jobs")), false, "the emptied folder goes too");
    const before = listTree(out).map((file) => [file, fs.readFileSync(path.join(out, file), "utf8")]);
    const again = compileJson(root, "--clean");
    assert.deepEqual(again.report.removed, []);
    assert.deepEqual(listTree(out).map((file) => [file, fs.readFileSync(path.join(out, file), "utf8")]), before, "idempotent");
  });

  it("never removes a stale output that was changed since raycompile wrote it", () => {
    const { root, src, out } = project("changed-since");
    assert.equal(compileJson(root).code, 0);
    fs.appendFileSync(path.join(out, "main.triple.task.js"), "// edited by hand\n");
    fs.writeFileSync(path.join(out, "main.js"), "console.log('hand-written');\n");
    fs.rmSync(path.join(src, "main.ts"));
    const cleaned = compileJson(root, "--clean");
    assert.equal(cleaned.code, 0, cleaned.stderr);
    // Nothing captures a const any more, so the capture-check module (untouched) goes; the edited files stay.
    assert.deepEqual(cleaned.report.removed, [path.join("out", "__rayts__", "capture-check.js")]);
    assert.ok(fs.existsSync(path.join(out, "main.triple.task.js")));
    assert.ok(fs.existsSync(path.join(out, "main.js")));
  });

  it("two srcDirs compiled into one outDir do not remove each other's files", () => {
    const root = path.join(scratch, "two-sources");
    tsconfig(root);
    for (const name of ["a", "b"]) {
      fs.mkdirSync(path.join(root, name), { recursive: true });
      fs.writeFileSync(path.join(root, name, `${name}.ts`), `import * as ray from "rayts";\nexport const ${name}Task = ray.remote((x: number) => x + 1);\n`);
    }
    assert.equal(runCli(["a", "--outDir", "out"], root).code, 0);
    assert.equal(runCli(["b", "--outDir", "out", "--clean"], root).code, 0);
    assert.deepEqual(listTree(path.join(root, "out")).filter((file) => file !== MANIFEST), ["a.aTask.task.js", "a.js", "b.bTask.task.js", "b.js"]);
    assert.equal(runCli(["a", "--outDir", "out", "--clean"], root).code, 0);
    assert.deepEqual(listTree(path.join(root, "out")).filter((file) => file !== MANIFEST), ["a.aTask.task.js", "a.js", "b.bTask.task.js", "b.js"]);
  });

  it("--check --clean reports what would be removed and removes nothing", () => {
    const { root, src, out } = project("check-clean");
    assert.equal(compileJson(root).code, 0);
    fs.rmSync(path.join(src, "main.ts"));
    const before = listTree(out);
    const checked = compileJson(root, "--check", "--clean");
    assert.equal(checked.code, 0, checked.stderr);
    assert.deepEqual(checked.report.removed, [path.join("out", "__rayts__", "capture-check.js"), path.join("out", "main.js"), path.join("out", "main.triple.task.js")]);
    assert.match(runCli(["src", "--outDir", "out", "--check", "--clean"], root).stdout, /would remove 3 stale outputs/);
    assert.deepEqual(listTree(out), before);
  });

  it("watch mode removes the task modules of a function renamed while watching", () => {
    const { root, src, out } = project("watch-rename");
    const watcher = new Watcher({ srcDir: "src", outDir: "out", cwd: root }, () => undefined);
    assert.deepEqual(watcher.compileNow().result.diagnostics, []);
    writeMain(src, "main.ts", "times3");
    const second = watcher.compileNow();
    assert.deepEqual(second.result.diagnostics, []);
    assert.equal(second.written, 2, "main.js and the new task module");
    assert.deepEqual(outputs(out), ["__rayts__/capture-check.js", "lib/factor.js", "main.js", "main.times3.task.js"]);
  });

  it("an empty srcDir creates no outDir; once every source is deleted, --clean empties what it wrote", () => {
    const root = path.join(scratch, "empty");
    tsconfig(root);
    fs.mkdirSync(path.join(root, "src"));
    assert.equal(runCli(["src", "--outDir", "out"], root).code, 0);
    assert.equal(fs.existsSync(path.join(root, "out")), false);
    const { src, out } = project("all-deleted");
    assert.equal(compileJson(path.dirname(src)).code, 0);
    fs.rmSync(src, { recursive: true });
    fs.mkdirSync(src);
    const cleaned = compileJson(path.dirname(src), "--clean");
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.deepEqual(listTree(out), [MANIFEST]);
  });

  it("--help documents --clean", () => {
    assert.match(runCli(["--help"]).stdout, /--clean/);
  });
});
