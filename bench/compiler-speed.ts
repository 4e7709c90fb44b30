/**
 * raycompile's speed against `tsc --noEmit` on the same sources, and the
 * watch mode's recompile after one file changes. Projects are generated in
 * `.rayts-tmp/` inside the package (so `import "rayts"` resolves to the
 * build); needs `npm run build`.
 *
 *   node --import tsx bench/compiler-speed.ts [runs]
 *
 * Prints a table and writes bench/results/compiler-speed.json.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Watcher } from "../src/compiler/index.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TMP = path.join(REPO, ".rayts-tmp", "compiler-speed");
const RUNS = Number(process.argv[2] ?? 5);
const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, esModuleInterop: true, noEmit: true },
  include: ["src"],
};

/** A module with one remote function capturing a const and a helper. */
function moduleSource(index: number, files: number): string {
  const next = index + 1 < files ? `import { helper${index + 1} } from "./m${index + 1}.js";\n` : "";
  const call = index + 1 < files ? ` + helper${index + 1}(j)` : "";
  return `import * as ray from "rayts";
${next}const TABLE${index} = new Float64Array(1024).fill(${index});
export function helper${index}(j: number): number {
  return TABLE${index}[j % 1024]!${call};
}
export const task${index} = ray.remote((j: number) => helper${index}(j) * 2);
`;
}

function makeProject(name: string, files: number): string {
  const root = path.join(TMP, name);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(root, "src", `m${i}.ts`), moduleSource(i, files));
  return root;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Wall time of a command, in ms; throws when it fails. */
function timed(args: string[], cwd: string): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { cwd, encoding: "utf8" });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
  return ms;
}

interface Row {
  project: string;
  files: number;
  tscNoEmitMs: number;
  raycompileMs: number;
  ratio: number;
  watchRecompileMs: number;
}

function measure(name: string, files: number): Row {
  const root = makeProject(name, files);
  const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc");
  const cli = path.join(REPO, "dist", "compiler", "cli.js");
  const tscMs: number[] = [];
  const rayMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    tscMs.push(timed([tsc, "--noEmit", "-p", "tsconfig.json"], root));
    rayMs.push(timed([cli, "src", "--outDir", "out"], root));
  }
  // Watch mode: one compile to warm up, then change the first file and recompile, RUNS times.
  const watcher = new Watcher({ srcDir: "src", outDir: "out-watch", cwd: root }, () => undefined);
  watcher.compileNow();
  const watchMs: number[] = [];
  const first = path.join(root, "src", "m0.ts");
  for (let run = 0; run < RUNS; run++) {
    fs.writeFileSync(first, moduleSource(0, files).replace("fill(0)", `fill(${run + 100})`));
    const outcome = watcher.compileNow();
    if (outcome.result.diagnostics.some((d) => d.category === "error")) throw new Error("watch recompile failed");
    watchMs.push(outcome.ms);
  }
  const row = { project: name, files, tscNoEmitMs: Math.round(median(tscMs)), raycompileMs: Math.round(median(rayMs)), ratio: 0, watchRecompileMs: Math.round(median(watchMs)) };
  row.ratio = Number((row.raycompileMs / row.tscNoEmitMs).toFixed(2));
  return row;
}

const rows = [measure("one-file", 1), measure("thirty-four-files", 34)];
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) };
console.table(rows);
const results = { date: new Date().toISOString(), runs: RUNS, machine, rows };
fs.mkdirSync(path.join(REPO, "bench", "results"), { recursive: true });
fs.writeFileSync(path.join(REPO, "bench", "results", "compiler-speed.json"), `${JSON.stringify(results, null, 2)}\n`);
fs.rmSync(TMP, { recursive: true, force: true });
