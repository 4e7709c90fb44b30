/**
 * Benchmark entry point.
 *
 *   npm run bench                      all suites, full measurement
 *   npm run bench -- overhead reduce   some suites
 *   npm run bench -- --quick           a fast, indicative pass
 *
 * `npm run bench` runs this file compiled to JavaScript (bench/prepare.mjs),
 * so no thread runs a TypeScript loader; `node --import tsx bench/run.ts`
 * also works, with tsx in the driver and the rayts workers.
 *
 * Each suite runs in its own child process (a fresh heap and a fresh worker
 * pool, so RSS figures and JIT state do not leak between suites), prints a
 * table on stdout, shows progress on stderr and writes
 * bench/results/<suite>.json and bench/results/<suite>.svg (a quick pass
 * writes <suite>.quick.json/.svg instead, so full results stay untouched).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { budget } from "./lib/harness.js";
import { REPO } from "./lib/raycompile.js";
import { Progress } from "./lib/progress.js";
import { printTable, writeResult } from "./lib/report.js";
import type { Suite } from "./lib/suite.js";

const SUITES = ["overhead", "granularity", "large-args", "reduce", "pipeline", "workloads", "cluster"] as const;
/** Running compiled (.js) or from the sources under tsx (.ts). */
const compiled = import.meta.url.endsWith(".js");

const args = process.argv.slice(2);
const quick = args.includes("--quick") || process.env["RAYTS_QUICK"] === "1";
const child = args.indexOf("--child");

if (child >= 0) {
  const name = args[child + 1] ?? "";
  const progress = new Progress(name);
  const suite = ((await import(`./suites/${name}.${compiled ? "js" : "ts"}`)) as { default: Suite }).default;
  const { result, chart } = await suite(budget(quick), progress);
  progress.done();
  printTable(result);
  const results = pathToFileURL(path.join(REPO, "bench/results/"));
  writeResult(quick ? { ...result, suite: `${result.suite}.quick` } : result, chart, results);
  process.exit(0);
} else {
  const unknown = args.filter((a) => !a.startsWith("--") && !(SUITES as readonly string[]).includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite(s): ${unknown.join(", ")}; expected some of ${SUITES.join(", ")}\n`);
    process.exit(2);
  }
  const chosen = args.filter((a) => !a.startsWith("--"));
  let failed = 0;
  for (const name of chosen.length > 0 ? chosen : SUITES) {
    const loader = compiled ? [] : ["--import", "tsx"];
    // The cluster suite's driver pulls large objects into fresh memory: huge pages, as the node daemons use.
    const env = name === "cluster" && process.env["GLIBC_TUNABLES"] === undefined ? { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" } : process.env;
    const run = spawnSync(process.execPath, [...loader, "--expose-gc", fileURLToPath(import.meta.url), "--child", name, ...(quick ? ["--quick"] : [])], {
      stdio: "inherit",
      env,
    });
    if (run.status !== 0) {
      failed++;
      process.stderr.write(`suite ${name} failed (exit ${run.status ?? run.signal})\n`);
    }
  }
  process.exit(failed > 0 ? 1 : 0);
}
