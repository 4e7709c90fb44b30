/**
 * Compiling a folder of rayts programs with raycompile, as a user would.
 *
 * The programs in this repo import the runtime from its sources
 * (`../src/index.js`) so that they typecheck and run under tsx without a
 * build. A user's program imports `"rayts"`; so before compiling, the
 * folder is staged into `.rayts-tmp/` with that one import rewritten to the
 * package name, which (inside this package) resolves to the build in
 * `dist/` through the package's own `exports`. Needs `npm run build`.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root: the nearest folder above this file with a package.json (this file also runs compiled, from .rayts-tmp/bench-build). */
export const REPO = ((): string => {
  for (let dir = fileURLToPath(new URL("../../", import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error("rayts: no package.json above the bench folder");
  }
})();
export const CLI = path.join(REPO, "dist/compiler/cli.js");

/**
 * Rewrites `from "../src/index.js"` (any depth) to `from "rayts"`, and any
 * other module of the sources (`../src/ops/index.js`) to its build in dist/,
 * which shares its runtime instance with the package entry.
 */
function toPackageImport(source: string): string {
  return source
    .replace(/from\s+["'](?:\.\.\/)+src\/index\.js["']/g, 'from "rayts"')
    .replace(/from\s+["'](?:\.\.\/)+src\/([\w/.-]+\.js)["']/g, (_, rest: string) => `from ${JSON.stringify(pathToFileURL(path.join(REPO, "dist", rest)).href)}`);
}

function stage(from: string, to: string, exclude: readonly string[]): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (exclude.includes(name)) continue;
    const src = path.join(from, name);
    const dst = path.join(to, name);
    if (statSync(src).isDirectory()) stage(src, dst, exclude);
    else if (name.endsWith(".ts")) writeFileSync(dst, toPackageImport(readFileSync(src, "utf8")));
    else cpSync(src, dst);
  }
}

export type CompileOutcome = { readonly ok: true; readonly outDir: string; readonly report: string } | { readonly ok: false; readonly reason: string };

/** Stages `srcDir` (relative to the repo, minus `exclude`d names) and compiles it into `.rayts-tmp/<name>-dist`. */
export function compileFolder(srcDir: string, name: string, exclude: readonly string[] = []): CompileOutcome {
  if (!existsSync(CLI)) return { ok: false, reason: "dist/compiler/cli.js is missing: run `npm run build` first" };
  const staged = path.join(REPO, ".rayts-tmp", `${name}-src`);
  const outDir = path.join(REPO, ".rayts-tmp", `${name}-dist`);
  rmSync(staged, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  stage(path.join(REPO, srcDir), staged, exclude);
  const run = spawnSync(process.execPath, [CLI, staged, "--outDir", outDir], { cwd: REPO, encoding: "utf8" });
  const report = `${run.stdout}${run.stderr}`.trim();
  if (run.status !== 0) return { ok: false, reason: `raycompile exited ${run.status}: ${report.split("\n").filter((line) => /error|warning/.test(line)).slice(0, 12).join(" | ") || report.split("\n").slice(0, 8).join(" | ")}` };
  return { ok: true, outDir, report };
}
