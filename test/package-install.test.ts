/**
 * `npm pack` gives a package that works when installed into an empty
 * project: `import * as ray from "rayts"` runs a remote function there, and
 * `npx raycompile src` compiles a program whose remote function captures a
 * module-level const. The test packs the `dist/` that `npm run build` made
 * before the tests (as the compiler tests use it) instead of building it a
 * second time through `prepack`; that publishing builds first is checked on
 * package.json's scripts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO } from "./support/child.js";

const run = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const PROGRAM = `
import * as ray from "rayts";
const square = ray.remote((x) => x * x);
const Counter = ray.remote(class Counter { n = 0; inc() { return ++this.n; } });
const c = Counter.remote();
c.inc.remote();
const values = await ray.get([0, 1, 2, 3].map((i) => square.remote(i)));
const data = await ray.get(ray.put(new Float64Array([1, 2, 3])));
console.log(JSON.stringify({ values, count: await ray.get(c.inc.remote()), sum: data.reduce((a, b) => a + b, 0), error: typeof ray.RayTaskError }));
`;

const REQUIRING = `
const ray = require("rayts");
const square = ray.remote((x) => x * x);
ray.get([1, 2, 3].map((x) => square.remote(x))).then((values) => console.log(JSON.stringify(values)));
`;

const CAPTURING = `
import * as ray from "rayts";
const table = new Float64Array([10, 20, 30]);
const lookup = ray.remote((i: number) => table[i]! * 2);
console.log(JSON.stringify(await ray.get([0, 1, 2].map((i) => lookup.remote(i)))));
`;

test("npm pack, install into an empty project, import rayts and run a task", { timeout: 240_000 }, async () => {
  // Publishing builds first: `npm pack` and `npm publish` run prepack.
  const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts["prepack"], "npm run build");
  assert.ok(existsSync(join(REPO, "dist", "index.js")), "dist/ is missing: run `npm run build` before the tests (`npm test` does)");
  const dir = await mkdtemp(join(tmpdir(), "rayts-install-"));
  try {
    // The build of this run is packed as it is (prepack would build it again, and remove dist/ meanwhile).
    const packed = await run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    const tarball = join(dir, info[0]?.filename ?? "");
    const files = (info[0]?.files ?? []).map((file) => file.path);
    assert.ok(files.includes("dist/index.js"), `dist/index.js is not packed: ${files.join(", ")}`);
    assert.ok(files.includes("dist/index.d.ts"), "the types are not packed");
    assert.ok(!files.some((file) => file.startsWith("src/") || file.startsWith("test/")), "sources or tests were packed");
    // raycompile --help and the README point at docs/.
    for (const doc of ["docs/compiler.md", "docs/operators.md", "docs/benchmarks.md"]) assert.ok(files.includes(doc), `${doc} is not packed`);

    const project = join(dir, "project");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
    await run(npm, ["install", "--no-audit", "--no-fund", tarball], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
    await writeFile(join(project, "main.mjs"), PROGRAM);
    const { stdout } = await run(process.execPath, ["main.mjs"], { cwd: project, timeout: 60_000 });
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop() ?? ""), { values: [0, 1, 4, 9], count: 2, sum: 6, error: "function" });

    // CommonJS: require("rayts") works (Node >= 20.19 can require ES modules).
    await writeFile(join(project, "main.cjs"), REQUIRING);
    const required = await run(process.execPath, ["main.cjs"], { cwd: project, timeout: 60_000 });
    assert.deepEqual(JSON.parse(required.stdout.trim().split("\n").pop() ?? ""), [1, 4, 9]);

    await run("mkdir", ["-p", join(project, "src")]);
    await writeFile(join(project, "src", "main.ts"), CAPTURING);
    await run(npm, ["exec", "--no", "--", "raycompile", "src", "--outDir", "out"], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
    const compiled = await run(process.execPath, [join("out", "main.js")], { cwd: project, timeout: 60_000 });
    assert.deepEqual(JSON.parse(compiled.stdout.trim().split("\n").pop() ?? ""), [20, 40, 60]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
