/**
 * The state API, the head's dashboard and the observability CLI in cluster
 * mode: a head (serving the dashboard) and a second node on loopback, one
 * driver (this process) running a workload with failures, retries, a
 * cancel and an actor, every answer checked against what the tasks
 * themselves reported through `getRuntimeContext()`.
 */
import type { TaskId } from "../../src/core/api/ids.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { runScript } from "../support/child.js";
import { CliProcess, runCli, type CliRun } from "../support/cli.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
let dashboard: string;
let scratch: string;
const HEAD = "127.0.0.2";
const SECOND = "127.0.0.3";

/** Polls an async condition between turns until it holds (guarded, never a window to wait out). */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function nodeIdAt(address: string): string {
  const node = ray.nodes().find((n) => n.address === address);
  assert.ok(node, `no node at ${address}`);
  return node.nodeId;
}

const where = ray.remote(
  (index: number) => {
    const context = ray.getRuntimeContext();
    console.log(`line ${index} from ${context.nodeAddress}`);
    return context;
  },
  { name: "where" },
);

const fails = ray.remote(
  (x: number) => {
    throw new Error(`bad input ${x}`);
  },
  { name: "fails" },
);

/** Fails on its first attempt (the marker file does not exist yet), then returns. */
const flaky = ray.remote(
  (marker: string) => {
    const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
    try {
      fs.writeFileSync(marker, "", { flag: "wx" });
    } catch {
      return "second attempt";
    }
    throw new Error("first attempt fails");
  },
  { name: "flaky" },
);

const hang = ray.remote(() => new Promise<never>(() => undefined), { name: "hang" });

class Tally {
  count = 0;
  add(n: number): { count: number; context: ray.RuntimeContext } {
    this.count += n;
    return { count: this.count, context: ray.getRuntimeContext() };
  }
}
const TallyActor = ray.remote(Tally);

let contexts: ray.RuntimeContext[];
let calls: { count: number; context: ray.RuntimeContext }[];
let hangTask: ray.TaskInfo;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2, dashboardPort: 0 }, { numCpus: 2 }]);
  const head = cluster.nodes[0];
  assert.ok(head?.dashboardUrl !== undefined, "the head serves a dashboard");
  dashboard = head.dashboardUrl;
  scratch = mkdtempSync(join(tmpdir(), "rayts-cluster-state-"));
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  const second = nodeIdAt(SECOND);

  contexts = await ray.get(Array.from({ length: 20 }, (_, i) => where.options({ scheduling: "SPREAD" }).remote(i)));
  await assert.rejects(ray.get(fails.options({ scheduling: { nodeId: second } }).remote(3)), /bad input 3/);
  const marker = join(scratch, "flaky-marker");
  assert.equal(await ray.get(flaky.options({ scheduling: { nodeId: second }, retryExceptions: true, maxRetries: 2 }).remote(marker)), "second attempt");

  const hanging = hang.options({ scheduling: { nodeId: nodeIdAt(HEAD) } }).remote();
  const listed = await eventually(
    () => ray.state.listTasks({ filter: { name: "hang", state: "running" } }),
    (result) => result.total === 1,
    "the hanging task to run",
  );
  hangTask = listed.items[0] as ray.TaskInfo;
  ray.cancel(hanging, { force: true });
  await assert.rejects(ray.get(hanging), ray.TaskCancelledError);

  const tally = TallyActor.remote();
  calls = [await ray.get(tally.add.remote(1)), await ray.get(tally.add.remote(2))];
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

describe("cluster state API", () => {
  test("listNodes covers both nodes, alive, with their CPUs", async () => {
    const nodes = await ray.state.listNodes();
    assert.deepEqual(nodes.items.map((node) => [node.address, node.alive, node.cpus]).sort(), [
      [HEAD, true, 2],
      [SECOND, true, 2],
    ]);
    assert.deepEqual(nodes.items.map((node) => node.nodeId).sort(), ray.nodes().map((node) => node.nodeId).sort());
  });

  test("listTasks shows each task where getRuntimeContext said it ran, under the same task id", async () => {
    const byNode = new Map<string, number>();
    for (const context of contexts) byNode.set(context.nodeAddress, (byNode.get(context.nodeAddress) ?? 0) + 1);
    assert.deepEqual([...byNode.keys()].sort(), [HEAD, SECOND], "SPREAD used both nodes");
    const listed = await ray.state.listTasks({ filter: { name: "where" }, limit: 1000 });
    assert.equal(listed.total, 20);
    for (const context of contexts) {
      assert.ok(context.taskId !== undefined);
      assert.equal(context.actorId, undefined);
      const task = listed.items.find((item) => item.nodeId === context.nodeId && String(item.taskId) === context.taskId);
      assert.ok(task, `task ${context.taskId} on ${context.nodeId} is listed`);
      assert.equal(task.state, "finished");
      assert.ok(task.worker !== undefined && task.startedAt !== undefined && task.endedAt !== undefined && task.endedAt >= task.startedAt);
    }
    for (const [address, count] of byNode) {
      assert.equal((await ray.state.listTasks({ filter: { name: "where", nodeId: nodeIdAt(address) } })).total, count);
    }
  });

  test("failures, retries and cancels keep their states, errors and attempts", async () => {
    const failed = await ray.state.listTasks({ filter: { name: "fails" } });
    assert.equal(failed.total, 1);
    assert.equal(failed.items[0]?.state, "failed");
    assert.equal(failed.items[0]?.nodeId, nodeIdAt(SECOND));
    assert.match(failed.items[0]?.error?.message ?? "", /bad input 3/);

    const flakyTasks = await ray.state.listTasks({ filter: { name: "flaky" } });
    assert.equal(flakyTasks.items[0]?.state, "finished");
    assert.equal(flakyTasks.items[0]?.attempts, 1);

    const cancelled = await ray.state.getTask(hangTask.taskId, hangTask.nodeId);
    assert.equal(cancelled?.task.state, "cancelled");
    assert.equal(cancelled?.task.nodeId, nodeIdAt(HEAD));

    const summary = await ray.state.summarizeTasks();
    const of = (name: string) => summary.byFunction.find((entry) => entry.name === name);
    assert.equal(of("where")?.states.finished, 20);
    assert.equal(of("fails")?.states.failed, 1);
    assert.equal(of("flaky")?.retries, 1);
    assert.equal(of("hang")?.states.cancelled, 1);
    assert.equal(summary.dropped, 0);

    const status = await ray.state.status();
    assert.equal(status.nodes.length, 2);
    assert.ok(status.recentErrors.some((task) => task.name === "fails"));
    assert.ok(status.failedTotal >= 1);
  });

  test("actors and their calls: listed on their node, with the ids getRuntimeContext gives", async () => {
    const [first, second] = calls;
    assert.equal(second?.count, 3);
    const context = first?.context as ray.RuntimeContext;
    assert.ok(context.actorId !== undefined);
    assert.equal(second?.context.actorId, context.actorId);
    const actors = await ray.state.listActors({ filter: { className: "Tally" } });
    assert.equal(actors.total, 1);
    assert.equal(String(actors.items[0]?.actorId), context.actorId);
    assert.equal(actors.items[0]?.nodeId, context.nodeId);
    const call = await ray.state.getTask(context.taskId as TaskId, context.nodeId);
    assert.equal(call?.task.type, "actorCall");
    assert.equal(String(call?.task.actorId), context.actorId);
  });

  test("listLogs and getTask carry the lines tasks printed on each node", async () => {
    const logs = await ray.state.listLogs({ limit: 1000 });
    for (const [index, context] of contexts.entries()) {
      const line = logs.items.find((item) => item.text.endsWith(`line ${index} from ${context.nodeAddress}`));
      assert.ok(line, `line ${index} is listed`);
      assert.equal(line.nodeId, context.nodeId);
      assert.equal(String(line.taskId), context.taskId);
    }
    const detail = await ray.state.getTask(contexts[0]?.taskId as TaskId, contexts[0]?.nodeId);
    assert.equal(detail?.logs.length, 1);
    assert.match(detail?.logs[0]?.text ?? "", /line 0 from/);
  });

  test("listWorkers names each node's workers; timeline has a process per node and a span per run", async () => {
    const workers = await ray.state.listWorkers({ limit: 1000 });
    assert.deepEqual([...new Set(workers.items.map((worker) => worker.nodeId))].sort(), ray.nodes().map((node) => node.nodeId).sort());
    const trace = await ray.timeline(join(scratch, "trace.json"));
    const spans = trace.traceEvents.filter((event) => event.ph === "X" && event.name === "where");
    assert.equal(spans.length, 20);
    const processes = trace.traceEvents.filter((event) => event.ph === "M" && event.name === "process_name");
    assert.equal(processes.length, 2);
    assert.equal(new Set(spans.map((span) => span.pid)).size, 2);
    assert.equal(trace.traceEvents.filter((event) => event.ph === "b").length, trace.traceEvents.filter((event) => event.ph === "e").length);
    assert.deepEqual(JSON.parse(readFileSync(join(scratch, "trace.json"), "utf8")), JSON.parse(JSON.stringify(trace)));
  });

  test("memory: a large result held on its node is listed with that node", async () => {
    const big = ray.remote(() => new Float64Array(100_000).fill(1), { name: "big" });
    const ref = big.options({ scheduling: { nodeId: nodeIdAt(SECOND) } }).remote();
    assert.equal((await ray.get(ref)).length, 100_000);
    const memory = await eventually(
      () => ray.state.memorySummary(),
      (summary) => summary.objects.some((object) => object.bytes >= 800_000 && object.nodeId === nodeIdAt(SECOND)),
      "the held result in the memory view",
    );
    assert.ok(memory.bytesUsed >= 800_000);
    assert.ok(memory.capacity > 0);
  });
});

describe("the head's dashboard", () => {
  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${dashboard}${path}`);
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  };

  test("a driver that connects prints its address, unless told includeDashboard: false", async () => {
    const connect = (extra: string) =>
      runScript(
        "cluster-driver-dashboard",
        `import * as ray from "RAYTS";
        await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)}${extra} });
        console.log("CONNECTED");
        await ray.shutdown();`,
        { timeoutMs: GUARD_MS },
      );
    const [shown, quiet] = await Promise.all([connect(""), connect(", includeDashboard: false")]);
    for (const run of [shown, quiet]) assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
    assert.ok(shown.stderr.split("\n").includes(`View the rayts dashboard at ${dashboard}`), shown.stderr);
    assert.doesNotMatch(quiet.stderr, /dashboard/);
  });

  test("its JSON API and /metrics show both nodes and the workload", async () => {
    const nodes = await getJson<ray.ListResult<ray.NodeState>>("/api/nodes");
    assert.deepEqual(nodes.items.map((node) => node.address).sort(), [HEAD, SECOND]);
    const tasks = await getJson<ray.ListResult<ray.TaskInfo>>("/api/tasks?name=where&limit=5");
    assert.equal(tasks.total, 20);
    assert.equal(tasks.items.length, 5);
    const detail = await getJson<{ task: ray.TaskInfo }>(`/api/tasks/${hangTask.taskId}?nodeId=${hangTask.nodeId}`);
    assert.equal(detail.task.state, "cancelled");
    const metrics = await (await fetch(`${dashboard}/metrics`)).text();
    for (const node of ray.nodes()) assert.match(metrics, new RegExp(`rayts_node_cpus\\{node="${node.nodeId}"\\} 2`));
    const page = await fetch(`${dashboard}/`);
    assert.match(await page.text(), /<script/);
    const post = await fetch(`${dashboard}/api/tasks`, { method: "POST" });
    assert.equal(post.status, 405);
  });
});

/** Runs the CLI with its session folder in this test's scratch folder. */
const cli = (...args: string[]): Promise<CliRun> => runCli(args, { RAYTS_TMPDIR: scratch });

describe("the CLI against a cluster", () => {
  const hostPort = (): string => dashboard.replace(/^http:\/\//, "");

  test("list, summary, status, memory and timeline through the head's dashboard (--address HOST:PORT)", async () => {
    const failed = await cli("list", "tasks", "--address", hostPort(), "--filter", "name=fails");
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(failed.stdout, /^[0-9a-f]+:\d+\s+fails\s+failed\s+task-\d\s+0\s.*bad input 3$/m);
    assert.match(failed.stdout, /^1 of 1 shown$/m);

    const summary = await cli("summary", "tasks", "--address", hostPort());
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /^where\s+task\s+20\s+0\s+0\s+0\s+0\s+20\s+0\s+0\s+0\s/m);
    assert.match(summary.stdout, /^flaky\s+task\s+1\s+0\s+0\s+0\s+0\s+1\s+0\s+0\s+1\s/m);

    const status = await cli("status", "--address", hostPort());
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${HEAD.replace(/\./g, "\\.")}\\s`));
    assert.match(status.stdout, new RegExp(`${SECOND.replace(/\./g, "\\.")}\\s`));
    assert.match(status.stdout, /fails \([0-9a-f]+:\d+\): bad input 3/);

    const memory = await cli("memory", "--address", hostPort());
    assert.equal(memory.code, 0, memory.stderr);
    assert.match(memory.stdout, /^Object store: \d+ of \d+ bytes/);

    const file = join(scratch, "cli-trace.json");
    const timeline = await cli("timeline", "--address", hostPort(), "-o", file);
    assert.equal(timeline.code, 0, timeline.stderr);
    const trace = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: ray.TraceEvent[] };
    assert.equal(trace.traceEvents.filter((event) => event.ph === "X" && event.name === "where").length, 20);
  });

  test("list nodes and logs straight from the cluster's Redis (--address HOST:PORT --redis-password P)", async () => {
    const nodes = await cli("list", "nodes", "--address", cluster.address, "--redis-password", cluster.password, "--format", "json");
    assert.equal(nodes.code, 0, nodes.stderr);
    const listed = JSON.parse(nodes.stdout) as ray.ListResult<ray.NodeState>;
    assert.deepEqual(listed.items.map((node) => node.address).sort(), [HEAD, SECOND]);
    const logs = await cli("logs", "--address", cluster.address, "--redis-password", cluster.password, "--limit", "1000");
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, new RegExp(`\\[${contexts[0]?.nodeId} task-\\d\\] .*line 0 from ${contexts[0]?.nodeAddress}$`, "m"));
    const wrong = await cli("list", "tasks", "--address", cluster.address, "--redis-password", "wrong");
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the password/);
  });

  for (const via of ["dashboard", "redis"] as const) {
    test(`logs --follow (${via}) prints a line printed after it started, and stops on SIGINT`, { timeout: 120_000 }, async () => {
      const address = via === "dashboard" ? ["--address", hostPort()] : ["--address", cluster.address, "--redis-password", cluster.password];
      const child = new CliProcess(["logs", "--follow", ...address], { RAYTS_TMPDIR: scratch });
      try {
        await child.shows(/following new lines/, "stderr");
        const marker = `followed-${via}-${process.pid}`;
        const said = ray.remote((text: string) => console.log(text), { name: "said" });
        await ray.get(said.remote(marker));
        await child.shows(new RegExp(`${marker}$`, "m"), "stdout");
        assert.equal(await child.interrupt(), 0, child.stderr);
        assert.equal(child.stdout.split("\n").filter((line) => line.endsWith(marker)).length, 1, "printed once");
      } finally {
        child.kill();
      }
    });
  }
});
