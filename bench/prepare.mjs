// `npm run bench` step 1: builds the package (raycompile's CLI is needed by
// the large-args suite) and compiles src/ and bench/ to JavaScript in
// .rayts-tmp/bench-build, with bench/workers/*.mjs beside them. Suites then
// run on plain node: no TypeScript loader in any measured thread, as in a
// user's compiled program (a loader registered in a thread slows its code).
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../", import.meta.url));
const tsc = path.join(repo, "node_modules/typescript/bin/tsc");
const out = path.join(repo, ".rayts-tmp/bench-build");

function run(args) {
  const result = spawnSync(process.execPath, [tsc, ...args], { cwd: repo, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

rmSync(path.join(repo, "dist"), { recursive: true, force: true });
run(["-p", "tsconfig.build.json"]);
rmSync(out, { recursive: true, force: true });
run(["-p", "tsconfig.bench.json"]);
const workers = path.join(repo, "bench/workers");
mkdirSync(path.join(out, "bench/workers"), { recursive: true });
for (const file of readdirSync(workers)) {
  if (file.endsWith(".mjs")) cpSync(path.join(workers, file), path.join(out, "bench/workers", file));
}
