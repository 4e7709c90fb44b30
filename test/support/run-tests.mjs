/**
 * Runs every test file in two lanes, one after the other: `npm run
 * test:only` (and, with `--times`, `npm run test:times`, which also prints
 * each file's wall and CPU time). Test files named on the command line run
 * instead of all of them.
 *
 * - The shared lane runs `RAYTS_TEST_CONCURRENCY` files at a time (default
 *   2), the slowest first (`SLOW_FIRST`), then the rest in name order. Most
 *   files spend their time waiting on child processes, Redis, sockets,
 *   worker threads and heartbeats, so two of them fit on two cores; each
 *   file has its own free ports, temporary folders and sessions, so they do
 *   not meet.
 * - The alone lane then runs, one file at a time, the files listed in
 *   `ALONE`, slowest first too.
 *
 * Every file runs in its own process, as `node --test` does. The exit code
 * is non-zero when any file failed. Plain JavaScript: it starts before
 * `--import tsx` applies.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Files that run one at a time, after the others (paths from the repository
 * root): files that measure the process they run in (memory returned, store
 * pressure, collector pacing), that load both cores on their own (chaos,
 * large transfers), or whose node deaths are judged by short heartbeats. A
 * file leaves this list only once the whole suite has passed with it in the
 * shared lane twice in a row beside two busy loops, and once on Node 22.
 */
export const ALONE = new Set([
  "test/by-value-arguments.test.ts",
  "test/memory-protection.test.ts",
  "test/object-store-memory-return.test.ts",
  "test/object-store-pressure.test.ts",
  "test/object-store-small-cap.test.ts",
  "test/object-store-gc.test.ts",
  "test/soak-faults-and-memory.test.ts",
  "test/cluster/redis-restart.test.ts",
  "test/cluster/lineage-cap.test.ts",
  "test/cluster/transfer.test.ts",
]);

/**
 * The slowest files (measured with `npm run test:times`), longest first:
 * each lane starts them first, so the shared lane ends with short files on
 * both sides rather than one long file alone. The others follow in name
 * order.
 */
export const SLOW_FIRST = [
  "test/cluster/objects-actors.test.ts",
  "test/cluster/faults.test.ts",
  "test/cluster/state-api.test.ts",
  "test/cluster/fanout.test.ts",
  "test/cluster/cli.test.ts",
  "test/cluster/status-demand.test.ts",
  "test/auto-init-and-exit.test.ts",
  "test/cluster/tasks.test.ts",
  "test/cluster/actor-restart-delayed.test.ts",
  "test/cluster/actor-streams.test.ts",
  "test/audit/unlimited-retries.test.ts",
  "test/cluster/actor-handles-across-nodes.test.ts",
  "test/cluster/arrow-wire.test.ts",
  "test/cluster/dashboard-browser.test.ts",
  "test/cluster/named-actors.test.ts",
  "test/cluster/actor-placement-nested.test.ts",
  "test/cluster/actor-handles-deaths.test.ts",
  "test/cluster/nested-faults.test.ts",
  "test/cluster/chaos.test.ts",
];

/** Every test file under test/ and property-tests/ (fixtures aside), sorted. */
function testFiles() {
  const files = [];
  for (const root of ["test", "property-tests"]) {
    for (const entry of readdirSync(join(REPO, root), { recursive: true })) {
      const file = `${root}/${String(entry).split("\\").join("/")}`;
      if (file.endsWith(".test.ts") && !file.includes("/fixtures/")) files.push(file);
    }
  }
  return files.sort();
}

/** Runs one lane (test/support/run-lane.mjs), its files in the order given; resolves to its exit code. */
function lane(files, concurrency, extra, env) {
  if (files.length === 0) return Promise.resolve(0);
  const args = ["--import", "tsx", ...extra, "test/support/run-lane.mjs", `--concurrency=${concurrency}`, ...(times ? ["--reporter=test/support/file-times-reporter.mjs"] : []), ...files];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: "inherit", env: { ...process.env, ...env } });
    child.on("error", () => resolve(1));
    child.on("close", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** Files at a time in the shared lane. */
function sharedConcurrency() {
  const text = process.env["RAYTS_TEST_CONCURRENCY"] ?? "2";
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`Expected RAYTS_TEST_CONCURRENCY to be a positive integer, got "${text}"`);
  return value;
}

const times = process.argv.includes("--times");
const concurrency = sharedConcurrency();
const every = testFiles();
for (const file of ALONE) if (!every.includes(file)) throw new Error(`run-tests.mjs lists ${file} in the alone lane, but there is no such test file`);
// Test files named on the command line run in their lanes instead of all of them.
const named = process.argv.slice(2).filter((arg) => !arg.startsWith("--")).map((arg) => arg.split("\\").join("/").replace(/^\.\//, ""));
for (const file of named) if (!every.includes(file)) throw new Error(`Expected test files under test/ or property-tests/, got "${file}"`);
const all = named.length > 0 ? every.filter((file) => named.includes(file)) : every;
for (const file of SLOW_FIRST) if (!every.includes(file)) throw new Error(`run-tests.mjs lists ${file} as a slow file, but there is no such test file`);
const rank = (file) => (SLOW_FIRST.includes(file) ? SLOW_FIRST.indexOf(file) : SLOW_FIRST.length);
const byRank = (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
const shared = all.filter((file) => !ALONE.has(file)).sort(byRank);
const alone = all.filter((file) => ALONE.has(file)).sort(byRank);

const timesFile = join(tmpdir(), `rayts-test-times-${process.pid}.jsonl`);
const extra = times ? ["--import", "./test/support/cpu-probe.mjs"] : [];
const env = times ? { RAYTS_TEST_TIMES_FILE: timesFile } : {};
const started = Date.now();
const codes = [];
codes.push(await lane(shared, concurrency, extra, env));
const sharedMs = Date.now() - started;
codes.push(await lane(alone, 1, extra, env));
const wallMs = Date.now() - started;

if (times) {
  /** @type {{ file: string, ms: number, passed: boolean }[]} */
  const rows = [];
  /** @type {Map<string, number>} CPU milliseconds by file, from test/support/cpu-probe.mjs */
  const cpu = new Map();
  try {
    for (const line of readFileSync(timesFile, "utf8").trim().split("\n").filter(Boolean)) {
      const row = JSON.parse(line);
      if (typeof row.cpuMs === "number") cpu.set(row.file, row.cpuMs);
      else rows.push(row);
    }
  } catch {
    // no file finished
  }
  rmSync(timesFile, { force: true });
  // Every file's times, for comparing runs: .rayts-tmp/test-times.json.
  mkdirSync(join(REPO, ".rayts-tmp"), { recursive: true });
  const table = rows.map((row) => ({ ...row, cpuMs: cpu.get(row.file), alone: ALONE.has(row.file) }));
  writeFileSync(join(REPO, ".rayts-tmp", "test-times.json"), `${JSON.stringify({ concurrency, wallMs, sharedMs, files: table }, null, 1)}\n`);
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  rows.sort((a, b) => b.ms - a.ms);
  const sum = rows.reduce((total, row) => total + row.ms, 0);
  const failed = rows.filter((row) => !row.passed).length;
  const cpuText = (file) => (cpu.has(file) ? `${seconds(cpu.get(file) ?? 0).padStart(8)} cpu` : "       ? cpu");
  process.stdout.write(`\nSlowest files (wall, and CPU of the file's process and the children it waited for):\n${rows.slice(0, 25).map((row) => `${seconds(row.ms).padStart(8)} ${cpuText(row.file)}  ${row.file}${ALONE.has(row.file) ? "  (alone)" : ""}`).join("\n")}\n`);
  const cpuSum = [...cpu.values()].reduce((total, ms) => total + ms, 0);
  process.stdout.write(`${rows.length} files (${failed} failed), ${seconds(sum)} summed, ${seconds(cpuSum)} CPU, ${seconds(wallMs)} wall (shared lane, ${concurrency} at a time, ${seconds(sharedMs)}; alone ${seconds(wallMs - sharedMs)})\n`);
}
process.exitCode = codes.some((code) => code !== 0) ? 1 : 0;
