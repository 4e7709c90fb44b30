/**
 * `npm run demo`: the README's main job. Compiles the examples with
 * raycompile (after `npm run build`), then runs each compiled program on the
 * local worker pool; each prints its results and serial vs parallel figures.
 *
 *   npm run demo                 full size
 *   npm run demo -- --quick      small inputs (also RAYTS_QUICK=1)
 *   npm run demo -- --tsx        skip the compiler: run the sources under tsx
 *   npm run demo -- fibonacci    some examples only
 *   npm run demo -- cluster      10,000 x 1 ms tasks on a head and two nodes on loopback (needs redis-server)
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { compileFolder, REPO } from "../bench/lib/raycompile.js";

export const EXAMPLES = [
  "squares-and-counters",
  "matrix-dependencies",
  "pipelined-processing",
  "agg-list",
  "fibonacci",
  "monte-carlo-pi",
  "image-preprocessing",
  "closure-capture",
] as const;

const args = process.argv.slice(2);
if (args[0] === "cluster") {
  const run = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO, "examples", "cluster-demo.ts")], { stdio: "inherit", cwd: REPO });
  process.exit(run.status ?? 1);
}
const quick = args.includes("--quick") || process.env["RAYTS_QUICK"] === "1";
const chosen = args.filter((a) => !a.startsWith("--"));
const unknown = chosen.filter((a) => !(EXAMPLES as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`unknown example(s): ${unknown.join(", ")}; expected some of ${EXAMPLES.join(", ")}`);
  process.exit(2);
}

let command: (name: string) => string[];
if (args.includes("--tsx")) {
  console.log("running the examples from their TypeScript sources under tsx (uncompiled)\n");
  command = (name) => ["--import", "tsx", path.join(REPO, "examples", `${name}.ts`)];
} else {
  const compiled = compileFolder("examples", "examples", ["demo.ts", "cluster-demo.ts"]);
  if (!compiled.ok) {
    console.error(`raycompile could not compile examples/: ${compiled.reason}`);
    process.exit(1);
  }
  console.log(`${compiled.report}\n`);
  command = (name) => [path.join(compiled.outDir, `${name}.js`)];
}

let failed = 0;
for (const name of chosen.length > 0 ? chosen : EXAMPLES) {
  console.log(`\n=== ${name}${quick ? " (quick)" : ""}`);
  const run = spawnSync(process.execPath, [...command(name), ...(quick ? ["--quick"] : [])], { stdio: "inherit", cwd: REPO });
  if (run.status !== 0) {
    failed++;
    console.error(`example ${name} failed (exit ${run.status ?? run.signal})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
