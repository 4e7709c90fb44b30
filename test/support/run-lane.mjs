/**
 * One lane of `test/support/run-tests.mjs`: runs the test files named on
 * its command line, each in its own process, `--concurrency=N` at a time,
 * in the order given (`node --test` sorts the files it is given; the
 * runner's `run()` keeps their order, so the slowest can start first).
 * Reports like `node --test`: spec on a terminal, TAP otherwise, or the
 * reporter module named by `--reporter=PATH`. The exit code is 1 when a
 * test or a file failed. Started with `--import tsx`, which the files'
 * processes inherit. Plain JavaScript, like the runner.
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { run } from "node:test";
import { spec, tap } from "node:test/reporters";

const options = process.argv.slice(2).filter((arg) => arg.startsWith("--"));
const files = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const option = (name) => options.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const concurrency = Number(option("concurrency") ?? "1");
const reporterPath = option("reporter");
const reporter = reporterPath === undefined ? (process.stdout.isTTY ? new spec() : tap) : (await import(pathToFileURL(resolve(reporterPath)).href)).default;

const stream = run({ files: files.map((file) => resolve(file)), concurrency });
stream.on("test:fail", (data) => {
  // A failing `todo` test does not fail the run, as under `node --test`.
  if (data.todo === undefined || data.todo === false) process.exitCode = 1;
});
stream.compose(reporter).pipe(process.stdout);
