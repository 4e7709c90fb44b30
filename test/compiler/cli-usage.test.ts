/**
 * The raycompile command line: help, exit codes, bad paths, `--check`,
 * `--report json`, and that srcDir is never written.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { parseCommandLine } from "../../src/compiler/cli.js";
import { DIAGNOSTIC_CODES } from "../../src/compiler/diagnostics.js";
import type { CompileReport } from "../../src/compiler/report.js";
import { diagnosticLines, FIXTURES, listTree, removeDir, runCli, tempDir } from "./support.js";

const seedSrc = path.join(FIXTURES, "seed-004", "src");
const scratch = tempDir("cli");
after(() => removeDir(scratch));

describe("raycompile command line", () => {
  it("prints help with exit code 0", () => {
    const run = runCli(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: raycompile <srcDir>/);
    assert.match(run.stdout, /--outDir/);
    assert.match(run.stdout, /--report <format>/);
  });

  it("exits 2 on bad usage, naming the problem", () => {
    for (const [argv, pattern] of [
      [[], /Expected a srcDir, got none/],
      [["a", "b"], /Expected one srcDir, got 2/],
      [["src", "--frobnicate"], /Unknown option '--frobnicate'/],
      [["src", "--report", "xml"], /Expected `--report` to be "text" or "json", got "xml"/],
      [["src", "--outDir"], /argument missing/],
    ] as const) {
      const run = runCli(argv);
      assert.equal(run.code, 2, `exit code for ${argv.join(" ")}`);
      assert.match(run.stderr, pattern);
      assert.match(run.stderr, /Usage: raycompile/);
    }
  });

  it("parses every option", () => {
    assert.deepEqual(parseCommandLine(["src", "-o", "out", "-p", "tsconfig.app.json", "--check", "--noCheck", "--report", "json"]), {
      srcDir: "src",
      outDir: "out",
      project: "tsconfig.app.json",
      check: true,
      noCheck: true,
      clean: false,
      watch: false,
      report: "json",
    });
  });

  it("reports a missing srcDir (RC1001) and writes nothing", () => {
    const out = path.join(scratch, "missing-out");
    const run = runCli(["no/such/dir", "--outDir", out]);
    assert.equal(run.code, 1);
    assert.deepEqual(diagnosticLines(run.stderr), ["no/such/dir - error RC1001: srcDir no/such/dir does not exist"]);
    assert.match(run.stderr, /hint: pass the folder that holds your \.ts sources/);
    assert.equal(fs.existsSync(out), false);
  });

  it("refuses an outDir inside srcDir (RC1002) and writes nothing", () => {
    const src = path.join(scratch, "project", "src");
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, "main.ts"), "export const x = 1;\n");
    for (const outDir of ["src/dist", "src", "src/./nested/../dist"]) {
      const run = runCli(["src", "--outDir", outDir], path.join(scratch, "project"));
      assert.equal(run.code, 1, outDir);
      assert.match(run.stderr, /error RC1002: outDir .* is inside srcDir src; compiling would write into the sources/);
      assert.deepEqual(listTree(src), ["main.ts"]);
    }
  });

  it("reports an unreadable tsconfig (RC1003) and writes nothing", () => {
    const out = path.join(scratch, "tsconfig-out");
    const missing = runCli([seedSrc, "--outDir", out, "--project", path.join(scratch, "nope.json")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.json - error RC1003: cannot read tsconfig .*nope\.json \(ENOENT\)/);
    const folder = runCli([seedSrc, "--outDir", out, "--project", scratch]);
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /error RC1003: cannot read tsconfig .* \(EISDIR\)/);
    const badOption = path.join(scratch, "bad-option.json");
    fs.writeFileSync(badOption, JSON.stringify({ compilerOptions: { target: "ES1999" } }));
    const invalid = runCli([seedSrc, "--outDir", out, "--project", badOption]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /error RC1003: invalid tsconfig: Argument for '--target' option must be/);
    assert.equal(fs.existsSync(out), false);
  });

  it("with --check analyses and reports but writes nothing; --report json is the report alone", () => {
    const out = path.join(scratch, "check-out");
    const run = runCli([seedSrc, "--outDir", out, "--check", "--report", "json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as CompileReport;
    assert.equal(report.written, false);
    assert.equal(report.files, 1);
    assert.deepEqual(
      report.remoteFunctions.map((r) => [r.binding, r.kind, r.captures.map((c) => `${c.name}:${c.shippedAs}`)]),
      [
        ["foo1", "task", []],
        ["foo2", "task", ["A:ref"]],
      ],
    );
    assert.equal(fs.existsSync(out), false);
  });

  it("never writes into srcDir", () => {
    const before = listTree(seedSrc).map((file) => [file, fs.statSync(path.join(seedSrc, file)).mtimeMs]);
    const run = runCli([seedSrc, "--outDir", path.join(scratch, "seed-out")]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      listTree(seedSrc).map((file) => [file, fs.statSync(path.join(seedSrc, file)).mtimeMs]),
      before,
    );
    assert.deepEqual(listTree(path.join(scratch, "seed-out")), [
      ".raycompile-manifest.json",
      "__rayts__/capture-check.js",
      // The repository's tsconfig (the nearest above the fixture) asks for source maps.
      "main.foo1.task.js",
      "main.foo1.task.js.map",
      "main.foo2.task.js",
      "main.foo2.task.js.map",
      "main.js",
      "main.js.map",
    ]);
  });

  it("warns (exit 0) about imports leaving srcDir, captured class instances, re-imported modules with top-level effects", () => {
    const project = path.join(scratch, "warnings");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.writeFileSync(path.join(project, "shared.ts"), "export const SHARED = 1;\n");
    fs.writeFileSync(
      path.join(project, "src", "main.ts"),
      [
        'import { remote } from "rayts";',
        'import { SHARED } from "../shared.js";',
        "class Point { constructor(public x: number) {} }",
        "const ORIGIN = new Point(0);",
        "export const f = remote(() => ORIGIN.x + SHARED);",
        "",
      ].join("\n"),
    );
    // A task re-importing a binding from a module whose top level does work (through a re-export).
    fs.writeFileSync(path.join(project, "src", "entry.ts"), 'export const LIMIT = 3;\nconsole.log("entry starts");\n');
    fs.writeFileSync(path.join(project, "src", "limits.ts"), 'export { LIMIT } from "./entry.js";\n');
    fs.writeFileSync(
      path.join(project, "src", "tasks.ts"),
      'import { remote } from "rayts";\nimport { LIMIT } from "./limits.js";\nexport const g = remote((x: number) => Math.min(x, LIMIT));\n',
    );
    const run = runCli(["src", "--outDir", "out"], project);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(diagnosticLines(run.stderr), [
      'src/main.ts:2:24 - warning RC1302: import "../shared.js" resolves outside srcDir',
      "src/main.ts:5:31 - warning RC1303: remote function f captures `ORIGIN`, an instance of class Point: it reaches the worker as a plain object, without its methods",
      'src/tasks.ts:2:1 - warning RC1304: remote function g re-imports `LIMIT` in workers, which runs the top-level code of src/entry.ts (imported through "./limits.js") there: line 2 does more than declare',
    ]);
    assert.ok(fs.existsSync(path.join(project, "out", "main.js")));
  });

  it("writes nothing at all when one output cannot be written (RC1004), and --check finds it too", () => {
    const project = path.join(scratch, "blocked");
    fs.mkdirSync(path.join(project, "src", "lib"), { recursive: true });
    fs.writeFileSync(path.join(project, "src", "main.ts"), 'import { remote } from "rayts";\nimport { two } from "./lib/two.js";\nexport const f = remote(() => two() + 1);\n');
    fs.writeFileSync(path.join(project, "src", "lib", "two.ts"), "export function two() { return 2; }\n");
    fs.mkdirSync(path.join(project, "dist"));
    fs.writeFileSync(path.join(project, "dist", "lib"), "a file where a folder must go\n");
    for (const extra of [[], ["--check"]]) {
      const run = runCli(["src", "--outDir", "dist", ...extra], project);
      assert.equal(run.code, 1, extra.join(" "));
      assert.match(run.stderr, /error RC1004: cannot write .*two\.js: .*lib is a file, not a folder/);
      assert.match(run.stdout, /nothing written/);
      assert.deepEqual(listTree(path.join(project, "dist")), ["lib"]);
    }
  });

  it("with --noCheck compiles a project that has type errors", () => {
    const out = path.join(scratch, "no-check-out");
    const run = runCli(["src", "--outDir", out, "--noCheck"], path.join(FIXTURES, "err-type-errors"));
    assert.equal(run.code, 0, run.stderr);
    assert.ok(fs.existsSync(path.join(out, "main.js")));
  });

  it("lists every remote function in the report even when one has errors", () => {
    const project = path.join(scratch, "some-errors");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.writeFileSync(
      path.join(project, "src", "main.ts"),
      'import { remote } from "rayts";\nlet counter = 0;\nexport const ok = remote((x: number) => x + 1);\nexport const bad = remote(() => counter);\n',
    );
    const run = runCli(["src", "--outDir", "out", "--report", "json"], project);
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as CompileReport;
    assert.deepEqual(report.remoteFunctions.map((r) => r.binding), ["ok", "bad"]);
    assert.equal(report.written, false);
    assert.equal(fs.existsSync(path.join(project, "out")), false);
  });

  it("counts calls in const initialisers as top-level effects (RC1304), not standard-library calls", () => {
    const project = path.join(scratch, "const-effects");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    fs.writeFileSync(path.join(project, "src", "connect.ts"), "export function connect() { return { open: true }; }\n");
    fs.writeFileSync(path.join(project, "src", "db.ts"), 'import { connect } from "./connect.js";\nexport const DB = connect();\nexport const LIMIT = 3;\n');
    fs.writeFileSync(path.join(project, "src", "pure.ts"), "export const KEYS = Object.freeze([1, 2]);\nexport const T = new Float64Array(4);\n");
    fs.writeFileSync(
      path.join(project, "src", "main.ts"),
      'import { remote } from "rayts";\nimport { LIMIT } from "./db.js";\nimport { KEYS } from "./pure.js";\nexport const f = remote(() => LIMIT + KEYS.length);\n',
    );
    const run = runCli(["src", "--outDir", "out"], project);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(diagnosticLines(run.stderr), [
      "src/main.ts:2:1 - warning RC1304: remote function f re-imports `LIMIT` in workers, which runs the top-level code of src/db.ts there: line 2 does more than declare",
    ]);
  });

  it("is importable as rayts/compiler (the build, through the package's exports)", async () => {
    const specifier: string = "rayts/compiler";
    const api = (await import(specifier)) as Record<string, unknown>;
    for (const name of ["compile", "writeOutputs", "Watcher", "formatDiagnostic", "formatReport"]) assert.equal(typeof api[name], "function", name);
  });

  it("documents every diagnostic code in docs/compiler.md", () => {
    const docs = fs.readFileSync(path.join(import.meta.dirname, "../../docs/compiler.md"), "utf8");
    for (const code of Object.keys(DIAGNOSTIC_CODES)) assert.match(docs, new RegExp(`\\| ${code} `), `${code} missing from docs/compiler.md`);
  });
});
