/**
 * The cluster state streams stay bounded and say what they lost: a
 * publisher writing far more batches than the event stream keeps, read by a
 * ClusterState, which counts the trimmed events in `dropped`; a reader that
 * comes back later reads only what is new; a node that left keeps its
 * history, shown not alive.
 */
import { formatId } from "../../src/core/api/ids.js";
import { state as threadState } from "../../src/core/runtime/global-state.js";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ControlPlane } from "../../src/cluster/control-plane.js";
import { EventPublisher } from "../../src/cluster/event-publisher.js";
import { freePort, newPassword, startRedisServer, type RedisServerProcess } from "../../src/cluster/redis-server.js";
import type { RuntimeProbe, TaskView } from "../../src/core/runtime/events.js";
import { ClusterState } from "../../src/dashboard/cluster-state.js";
import { ensureRedisServer } from "./harness.js";

let redis: RedisServerProcess;
let plane: ControlPlane;
let dir: string;

before(async () => {
  ensureRedisServer();
  dir = mkdtempSync(join(tmpdir(), "rayts-streams-"));
  const host = "127.0.0.9";
  redis = await startRedisServer({ host, port: await freePort(host), password: newPassword(), logFile: join(dir, "redis.log"), detached: true });
  plane = await ControlPlane.connect(`${redis.host}:${redis.port}`, redis.password, "state-streams-test");
});

after(async () => {
  await plane?.close();
  if (redis !== undefined) process.kill(-redis.pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const probe: RuntimeProbe = {
  liveTasks: () => [],
  runningTasks: () => new Map(),
  objects: () => [],
  slots: () => ({ used: 0, total: 1 }),
  store: () => ({ bytesUsed: 0, capacity: 1024, numObjects: 0 }),
  node: () => ({ nodeId: "n1", address: "127.0.0.9" }),
};

function task(id: number): TaskView {
  return { id, fn: 1, name: "tiny", attempts: 0, options: { numCpus: 1, maxRetries: 0 }, actor: undefined, method: undefined, deps: 0, observed: undefined };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a capped event stream drops whole batches, and the reader counts them", async () => {
  const errors: unknown[] = [];
  const failed = (error: unknown): void => void errors.push(error);
  // Redis trims a capped stream by whole nodes of 100 entries: 1,000 batches against a cap of 10 trim most.
  const publisher = new EventPublisher(plane.redis, "n1", "127.0.0.9", probe, failed, { eventEntries: 10, logEntries: 10, maxPending: 1000 });
  const TASKS = 1000;
  for (let id = 1; id <= TASKS; id++) {
    const view = task(id);
    publisher.emit({ kind: "taskSubmitted", task: view, parent: undefined });
    publisher.emit({ kind: "taskAssigned", task: view, worker: "task-0" });
    publisher.emit({ kind: "taskFinished", task: view, runUs: 5 });
    publisher.flush(); // one batch per task (left alone, the publisher gathers events for a while)
    await turn();
  }
  await publisher.close();
  assert.equal(errors.length, 0, String(errors[0]));
  assert.ok((await plane.redis.xlen("rayts:state:events")) < TASKS, "the stream is capped");

  const state = new ClusterState(plane.redis);
  const listed = await state.listTasks({ limit: 1 });
  assert.ok(listed.dropped > 0, "trimmed events are reported");
  // Each batch held one task's three events: what is kept plus what was dropped is everything.
  assert.equal(listed.total + listed.dropped / 3, TASKS);
  assert.equal(listed.items[0]?.taskId, formatId(threadState.tag, TASKS), "newest first");
  assert.equal(listed.items[0]?.state, "finished");
  const summary = await state.summarizeTasks();
  assert.equal(summary.byFunction[0]?.states.finished, listed.total);

  // Read again after another node's events: only the new ones are applied.
  const other = new EventPublisher(plane.redis, "n2", "127.0.0.10", probe, failed);
  const view = task(1);
  other.emit({ kind: "taskSubmitted", task: view, parent: undefined });
  other.emit({ kind: "taskAssigned", task: view, worker: "task-0" });
  other.emit({ kind: "taskFailed", task: view, error: { name: "RayTaskError", code: "TASK", message: "boom", stack: undefined } as never, runUs: 1 });
  other.emit({ kind: "log", worker: "task-0", stream: "out", text: "hello", task: 1 });
  await other.close();
  const after = await state.listTasks({ filter: { nodeId: "n2" } });
  assert.equal(after.total, 1);
  assert.equal(after.items[0]?.state, "failed");
  assert.equal((await state.listTasks()).total, listed.total + 1);
  const logs = await state.listLogs();
  assert.deepEqual(logs.items.map((line) => [line.nodeId, line.text]), [["n2", "hello"]]);

  // Neither node registered a heartbeat: both are listed, with their history, not alive.
  const nodes = await state.listNodes();
  assert.deepEqual(nodes.items.map((node) => [node.nodeId, node.alive]).sort(), [
    ["n1", false],
    ["n2", false],
  ]);
});
