/**
 * Helpers for the compiler tests: compile a fixture project into a temp
 * folder inside the repo (so the emitted `import "rayts"` resolves to this
 * package's `dist/` through its self-reference), run the result with node,
 * and compare with the fixture's expectations.
 *
 * A fixture is `test/compiler/fixtures/<case>/` with sources in `src/` and
 * either `expected-output.txt` (stdout of the compiled program) or
 * `expected-diagnostics.txt` (one line per diagnostic, paths relative to
 * the fixture folder).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { main, type CliIo } from "../../src/compiler/cli.js";

/** The repository root. */
export const REPO = path.resolve(import.meta.dirname, "../..");
/** Fixture projects. */
export const FIXTURES = path.join(import.meta.dirname, "fixtures");
const TMP_ROOT = path.join(REPO, ".rayts-tmp", "compiler");

/** A fresh empty folder under `.rayts-tmp/compiler/` (gitignored, inside the package). */
export function tempDir(name: string): string {
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  return fs.mkdtempSync(path.join(TMP_ROOT, `${name}-`));
}

/** Removes a temp folder. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The outcome of one CLI run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `raycompile` in-process with `argv`, from `cwd`. */
export function runCli(argv: readonly string[], cwd: string = REPO): CliRun {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (text) => out.push(text), stderr: (text) => err.push(text), cwd };
  const code = main(argv, io);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Reads a fixture file, or undefined. */
export function fixtureFile(fixture: string, name: string): string | undefined {
  const file = path.join(FIXTURES, fixture, name);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/** Every file under a folder, relative paths, sorted. */
export function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

/** The diagnostic lines of stderr (the `hint:` lines dropped). */
export function diagnosticLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.length > 0 && !line.startsWith("  hint: "));
}

/** Makes worker log prefixes comparable: `(f pid=123 worker=1)` -> `(f pid=N worker=N)`. */
export function normaliseOutput(text: string): string {
  return text.replace(/pid=\d+ worker=\d+/g, "pid=N worker=N").replace(/\r\n/g, "\n");
}

/** Runs a JavaScript entry point with node and collects its output; `timeoutMs` guards against a hang (generous: a busy machine runs two at once). */
export function runNode(entry: string, timeoutMs = 60_000, nodeOptions: readonly string[] = []): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeOptions, entry], { cwd: path.dirname(entry), timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout: normaliseOutput(stdout), stderr: normaliseOutput(stderr) });
    });
  });
}

/**
 * The uncompiled program: every source transpiled as it is (no raycompile),
 * so remote functions ship their source text. Used to check that compiling
 * changes no result where the uncompiled program works.
 */
export function transpileWithoutRaycompile(srcDir: string, outDir: string): void {
  for (const rel of listTree(srcDir)) {
    const from = path.join(srcDir, rel);
    if (!rel.endsWith(".ts")) {
      fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      fs.copyFileSync(from, path.join(outDir, rel));
      continue;
    }
    const output = ts.transpileModule(fs.readFileSync(from, "utf8"), {
      fileName: from,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    const target = path.join(outDir, rel.replace(/\.ts$/, ".js"));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, output);
  }
}
