/**
 * `rayts start / status / stop` as a user runs them: a head, a second node
 * joining with the line the head printed, a driver connecting with
 * `address: "auto"`, and nothing left running after `rayts stop`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../../src/cluster/redis-server.js";
import { runScript } from "../support/child.js";
import { recordedSessions, runCli, type CliRun } from "../support/cli.js";
import { ensureRedisServer } from "./harness.js";
import { alive } from "../../src/cli/commands/stop.js";

let dir: string;

/** Runs the CLI with its session folder in this test's folder. */
const rayts = (args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { RAYTS_TMPDIR: dir, ...env });

/** Every pid `rayts start` recorded under the sessions folder. */
const recordedPids = (): number[] => recordedSessions(dir).pids;

before(() => {
  ensureRedisServer();
  dir = mkdtempSync(join(tmpdir(), "rayts-cli-"));
});

after(async () => {
  // Whatever a failed test left running.
  await rayts(["stop"]);
  for (const pid of recordedPids()) if (alive(pid)) process.kill(-pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("rayts start --head, a node joins with the printed line, a driver connects with address auto, rayts stop stops all", async () => {
  const port = await freePort("127.0.0.6");
  const head = await rayts(["start", "--head", "--port", String(port), "--node-ip-address", "127.0.0.6", "--num-cpus", "1"]);
  assert.equal(head.code, 0, head.stderr);
  assert.match(head.stdout, /Logs: +\S+\/logs/);
  const line = /rayts start --address='([^']+)' --redis-password='([^']+)'/.exec(head.stdout);
  assert.ok(line, head.stdout);
  const [, address, password] = line as unknown as [string, string, string];
  assert.equal(address, `127.0.0.6:${port}`);
  assert.ok(password.length >= 16);

  const join2 = await rayts(["start", `--address=${address}`, `--redis-password=${password}`, "--node-ip-address", "127.0.0.7", "--num-cpus", "1"]);
  assert.equal(join2.code, 0, join2.stderr);

  // Read-only commands, independent of each other: run side by side.
  const [status, listed] = await Promise.all([rayts(["status"]), rayts(["list", "nodes", "--format", "json"])]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Nodes: 2 alive/);
  assert.match(status.stdout, /127\.0\.0\.6 +head/);
  assert.match(status.stdout, /127\.0\.0\.7 +node/);
  assert.match(status.stdout, /CPU: 0\/2 used/);

  // A second head on the port of the running one fails before starting anything, and leaves the running
  // cluster the one `status` and `init({ address: "auto" })` find; so does a head whose Redis cannot start.
  const [again, noRedis] = await Promise.all([
    rayts(["start", "--head", "--port", String(port), "--node-ip-address", "127.0.0.6", "--num-cpus", "1"]),
    rayts(["start", "--head", "--node-ip-address", "127.0.0.9", "--num-cpus", "1"], { PATH: "/nonexistent" }),
  ]);
  assert.equal(again.code, 1, again.stdout);
  assert.match(again.stderr, new RegExp(`^rayts: port ${port} on 127\\.0\\.0\\.6 is in use`));
  assert.equal(noRedis.code, 1, noRedis.stdout);
  const still = await rayts(["status"]);
  assert.equal(still.code, 0, still.stderr);
  assert.match(still.stdout, /Nodes: 2 alive/);

  // The head serves the dashboard; the observability commands find it through the session.
  assert.match(head.stdout, /Dashboard: http:\/\/127\.0\.0\.1:\d+/);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as { items: { address: string }[] }).items.map((node) => node.address).sort(), ["127.0.0.6", "127.0.0.7"]);

  const saved = process.env["RAYTS_TMPDIR"];
  process.env["RAYTS_TMPDIR"] = dir;
  try {
    const driver = await runScript(
      "cluster-cli-driver",
      `
      import * as ray from "RAYTS";
      await ray.init({ address: "auto" });
      const f = ray.remote(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); return ray.getRuntimeContext().nodeAddress; });
      const counts = {};
      for (const ip of await ray.get(Array.from({ length: 200 }, () => f.remote()))) counts[ip] = (counts[ip] ?? 0) + 1;
      console.log("COUNTS", JSON.stringify(counts), ray.nodes().length);
      await ray.shutdown();
    `,
      { timeoutMs: 60_000 },
    );
    assert.equal(driver.code, 0, driver.stderr);
    const counts = JSON.parse(/COUNTS (\{.*\}) 2/.exec(driver.stdout)?.[1] ?? "null") as Record<string, number>;
    assert.deepEqual(Object.keys(counts).sort(), ["127.0.0.6", "127.0.0.7"]);
  } finally {
    if (saved === undefined) delete process.env["RAYTS_TMPDIR"];
    else process.env["RAYTS_TMPDIR"] = saved;
  }

  // Rows from both nodes: the tables name the node of each (worker names repeat on every node).
  const nodeIds = (JSON.parse(listed.stdout) as { items: { nodeId: string }[] }).items.map((node) => node.nodeId);
  const [workers, tasks, typo] = await Promise.all([rayts(["list", "workers"]), rayts(["list", "tasks", "--limit", "200"]), rayts(["list", "tasks", "--filter", "nmae=f"])]);
  assert.equal(workers.code, 0, workers.stderr);
  assert.match(workers.stdout, /^NODE\s+WORKER\s+TYPE\s+ALIVE/m);
  for (const nodeId of nodeIds) assert.match(workers.stdout, new RegExp(`^${nodeId}\\s+task-0\\s+task\\s+true`, "m"));
  assert.equal(tasks.code, 0, tasks.stderr);
  assert.match(tasks.stdout, /^TASK\s+NAME\s+STATE\s+NODE\s+WORKER\s+ATTEMPTS/m);
  for (const nodeId of nodeIds) assert.match(tasks.stdout, new RegExp(`\\sfinished\\s+${nodeId}\\s+task-`));
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /Unknown filter field `nmae` of tasks/);

  const pids = recordedPids();
  assert.equal(pids.length, 3);
  const stop = await rayts(["stop"]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /stopped 3 processes/);
  assert.deepEqual(pids.filter(alive), []);
  const after = await rayts(["status"]);
  assert.notEqual(after.code, 0);
  assert.match(after.stderr, /cannot reach the cluster's Redis/);
});

test("rayts start refuses a wrong password and says how to install a missing redis-server", async () => {
  // Each fails before starting anything: run side by side.
  const [wrong, missing, exposed, bad] = await Promise.all([
    rayts(["start", "--address", "127.0.0.6:1", "--redis-password", "x"]),
    rayts(["start", "--head", "--node-ip-address", "127.0.0.8"], { PATH: "/nonexistent" }),
    rayts(["start", "--head", "--dashboard-host", "0.0.0.0"]),
    rayts(["start", "--head", "--resources", "GPU=1"]),
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /cannot reach the cluster's Redis at 127\.0\.0\.6:1/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /redis-server was not found on PATH.*apt-get install -y redis-server/s);
  // Bad usage exits 2, failures while running exit 1.
  assert.equal(exposed.code, 2);
  assert.match(exposed.stderr, /Expected `--dashboard-token` when `--dashboard-host` is not a loopback address, got host "0\.0\.0\.0"/);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Expected `--resources` to be a JSON object/);
});
