/**
 * A `node --test` reporter that prints how long each test file took, and at
 * the end the slowest files and the total: `npm run test:times`. It reads
 * the runner's file-level events, so a file's time includes its process
 * start, set-up and tear-down. A failing test is printed with its error, so
 * a slow run that fails says why. Plain JavaScript: the runner loads
 * reporters before `--import tsx` applies. Under `test/support/run-tests.mjs`
 * (which runs the files in lanes) each lane's reporter appends its files to
 * the file named by `RAYTS_TEST_TIMES_FILE`, and the runner prints the
 * slowest files of both lanes.
 */
import { appendFileSync } from "node:fs";
import { relative } from "node:path";
import { inspect } from "node:util";

/** @param {number} ms */
function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The error a failed test carries: the runner wraps the thrown value as the cause of its own error. */
function describeError(/** @type {unknown} */ error) {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return inspect(cause, { depth: 4 }).split("\n").map((line) => `      ${line}`).join("\n");
}

/** @param {AsyncIterable<{ type: string, data?: { name?: string, file?: string, nesting?: number, details?: { duration_ms?: number, passed?: boolean, error?: unknown } } }>} source */
export default async function* fileTimes(source) {
  /** @type {Map<string, number>} */
  const times = new Map();
  const collect = process.env["RAYTS_TEST_TIMES_FILE"];
  const started = Date.now();
  let failures = 0;
  for await (const event of source) {
    const data = event.data;
    if (data?.file === undefined) continue;
    const file = relative(process.cwd(), data.file);
    if (event.type === "test:fail" && data.name !== data.file) {
      // A test inside a file: its name and what it threw (a suite that failed only through its tests adds nothing).
      if (/** @type {{ failureType?: string } | undefined} */ (data.details?.error)?.failureType === "subtestsFailed") continue;
      yield `  FAILED ${file} > ${String(data.name)}\n${describeError(data.details?.error)}\n`;
      continue;
    }
    // A file's process ends with one `test:complete` named after the file.
    if (event.type !== "test:complete" || data.name !== data.file || data.nesting !== 0) continue;
    const ms = data.details?.duration_ms ?? 0;
    const passed = data.details?.passed === true;
    times.set(file, ms);
    if (!passed) failures++;
    if (collect !== undefined) appendFileSync(collect, `${JSON.stringify({ file, ms, passed })}\n`);
    yield `${seconds(ms).padStart(8)}  ${file}${passed ? "" : "  (failed)"}\n`;
  }
  if (collect !== undefined) return;
  const sorted = [...times].sort((a, b) => b[1] - a[1]);
  const sum = sorted.reduce((total, [, ms]) => total + ms, 0);
  yield `\nSlowest files:\n${sorted.slice(0, 25).map(([file, ms]) => `${seconds(ms).padStart(8)}  ${file}`).join("\n")}\n`;
  yield `${times.size} files (${failures} failed), ${seconds(sum)} summed, ${seconds(Date.now() - started)} wall\n`;
}
