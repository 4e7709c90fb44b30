/**
 * The observability CLI against a running driver's dashboard: each command
 * run as its own process through the `rayts` bin (`src/cli/rayts.ts`), its output checked
 * against `ray.state` after a workload with failures, retries and cancels.
 * Also `ray.timeline(path)`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { localDashboardUrl } from "../support/dashboard.js";
import { CliProcess, runCli, type CliRun } from "../support/cli.js";
import { held, release, sharedInts, until } from "../support/shared.js";
import { double, fails, flaky } from "./workload.js";

let address: string;
let scratch: string;

/** Runs the CLI against this driver's dashboard (RAYTS_ADDRESS). */
const cli = (...args: string[]): Promise<CliRun> => runCli(args, { RAYTS_ADDRESS: address });

const talks = ray.remote(
  (text: string) => {
    console.log(text);
    return text;
  },
  { name: "talks" },
);

let failing: ray.ObjectRef<unknown>;
let cancelled: ray.ObjectRef<unknown>;
let big: ray.ObjectRef<Float64Array>;

before(async () => {
  await ray.init({ numCpus: 2, dashboardPort: 0 });
  address = await localDashboardUrl();
  scratch = mkdtempSync(path.join(tmpdir(), "rayts-cli-"));

  await ray.get(Array.from({ length: 12 }, (_, i) => double.remote(i)));
  failing = fails.remote(3);
  await assert.rejects(ray.get(failing), ray.RayTaskError);
  const flags = await sharedInts();
  assert.equal(await ray.get(flaky.options({ retryExceptions: true, maxRetries: 2 }).remote(flags)), "second attempt");
  const busy = [held.remote(flags, 1), held.remote(flags, 2)];
  await until(flags, 1, 2);
  cancelled = double.remote(5);
  ray.cancel(cancelled);
  await assert.rejects(ray.get(cancelled), ray.TaskCancelledError);
  release(flags);
  await ray.get(busy);
  await ray.get(talks.remote("hello from a task"));
  big = ray.put(new Float64Array(4096));
});

after(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await ray.shutdown();
});

test("list tasks --filter --format json matches the state API", { timeout: 60_000 }, async () => {
  const run = await cli("list", "tasks", "--filter", "state=failed", "--format", "json");
  assert.equal(run.code, 0, run.stderr);
  const listed = JSON.parse(run.stdout) as ray.ListResult<ray.TaskInfo>;
  const expected = await ray.state.listTasks({ filter: { state: "failed" } });
  assert.deepEqual(listed.items.map((task) => task.taskId), expected.items.map((task) => task.taskId));
  assert.ok(listed.items.some((task) => task.taskId === failing.id && /bad input 3/.test(task.error?.message ?? "")));
});

test("list tasks as a table shows states, retries and errors", { timeout: 60_000 }, async () => {
  const run = await cli("list", "tasks", "--limit", "500");
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.split("\n");
  assert.match(lines[0] ?? "", /^TASK\s+NAME\s+STATE\s+WORKER\s+ATTEMPTS/);
  assert.ok(lines.some((line) => new RegExp(`^${failing.id}\\s+fails\\s+failed\\s+task-\\d\\s+0\\s.*bad input 3$`).test(line)), run.stdout);
  assert.ok(lines.some((line) => new RegExp(`^${cancelled.id}\\s+double\\s+cancelled\\s`).test(line)), run.stdout);
  assert.ok(lines.some((line) => /^[0-9a-f]+:\d+\s+flaky\s+finished\s+task-\d\s+1\s/.test(line)), run.stdout);
  const total = (await ray.state.listTasks()).total;
  assert.match(run.stdout, new RegExp(`^${total} of ${total} shown$`, "m"));
});

test("summary tasks counts by function and state", { timeout: 60_000 }, async () => {
  const run = await cli("summary", "tasks");
  assert.equal(run.code, 0, run.stderr);
  const summary = await ray.state.summarizeTasks();
  const double = summary.byFunction.find((entry) => entry.name === "double");
  assert.equal(double?.states.finished, 12);
  assert.equal(double?.states.cancelled, 1);
  // FUNCTION TYPE TOTAL pendingArgs queued assigned running finished failed cancelled RETRIES
  assert.match(run.stdout, /^double\s+task\s+13\s+0\s+0\s+0\s+0\s+12\s+0\s+1\s+0\s/m);
  assert.match(run.stdout, /^flaky\s+task\s+1\s+0\s+0\s+0\s+0\s+1\s+0\s+0\s+1\s/m);
  assert.match(run.stdout, /^fails\s+task\s+1\s+0\s+0\s+0\s+0\s+0\s+1\s+0\s+0\s*$/m);
});

test("status, memory, logs and list nodes|actors|objects", { timeout: 60_000 }, async () => {
  const status = await cli("status");
  assert.equal(status.code, 0, status.stderr);
  const state = await ray.state.status();
  assert.match(status.stdout, new RegExp(`Finished ${state.finishedTotal}, failed ${state.failedTotal}`));
  assert.match(status.stdout, /fails \([0-9a-f]+:\d+\): bad input 3/);

  const memory = await cli("memory");
  assert.equal(memory.code, 0, memory.stderr);
  assert.match(memory.stdout, new RegExp(`^${big.id}\\s+32768\\s+ready\\s+driver\\s+localReference`, "m"));

  const logs = await cli("logs");
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /\[task-\d\] \(talks pid=\d+ worker=\d\) hello from a task$/m);

  const nodes = await cli("list", "nodes", "--format", "json");
  assert.equal(nodes.code, 0, nodes.stderr);
  assert.deepEqual((JSON.parse(nodes.stdout) as ray.ListResult<ray.NodeState>).items.map((node) => node.cpus), [2]);

  const objects = await cli("list", "objects", "--filter", `objectId=${big.id}`);
  assert.equal(objects.code, 0, objects.stderr);
  assert.match(objects.stdout, /^1 of 1 shown$/m);
});

test("timeline: the CLI and ray.timeline write Chrome trace JSON with run spans and phases", { timeout: 60_000 }, async () => {
  const file = path.join(scratch, "trace.json");
  const run = await cli("timeline", "-o", file);
  assert.equal(run.code, 0, run.stderr);
  const trace = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: ray.TraceEvent[] };
  const runs = trace.traceEvents.filter((event) => event.ph === "X" && event.name === "double");
  assert.equal(runs.length, 12, "one run span per finished double");
  for (const span of runs) assert.ok((span.dur ?? -1) >= 0);
  assert.ok(trace.traceEvents.some((event) => event.ph === "M" && event.name === "thread_name" && /^task-\d$/.test(String(event.args?.["name"]))));
  const begins = trace.traceEvents.filter((event) => event.ph === "b").length;
  assert.equal(begins, trace.traceEvents.filter((event) => event.ph === "e").length, "async phases are balanced");

  const own = path.join(scratch, "own.json");
  const written = await ray.timeline(own);
  assert.deepEqual(JSON.parse(readFileSync(own, "utf8")), JSON.parse(JSON.stringify(written)));
  assert.ok(written.traceEvents.some((event) => event.ph === "b" && event.name === "queued"));
});

test("bad usage exits 2 with a message; no dashboard exits 1", { timeout: 60_000 }, async () => {
  const unknown = await cli("list", "frobs");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Expected list tasks\|actors\|objects\|nodes\|workers, got "frobs"/);
  const badFilter = await cli("list", "tasks", "--filter", "state");
  assert.equal(badFilter.code, 2);
  assert.match(badFilter.stderr, /--filter to be key=value, got "state"/);
  const nobody = await cli("status", "--address", "http://127.0.0.1:9");
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no rayts dashboard answers at http:\/\/127\.0\.0\.1:9/);
});

test("logs --follow prints the recent lines, then a line printed after it started, and stops on SIGINT", { timeout: 60_000 }, async () => {
  const child = new CliProcess(["logs", "--follow"], { RAYTS_ADDRESS: address });
  try {
    await child.shows(/following new lines/, "stderr");
    assert.match(child.stdout, /hello from a task$/m, "the recent lines first");
    const marker = `followed-${process.pid}`;
    await ray.get(talks.remote(marker));
    await child.shows(new RegExp(`\\[task-\\d\\] \\(talks pid=\\d+ worker=\\d\\) ${marker}$`, "m"), "stdout");
    assert.equal(await child.interrupt(), 0, child.stderr);
  } finally {
    child.kill();
  }
});
