/**
 * A cluster whose Redis does not answer, as a user meets it: `init` and the
 * CLI name the address and the socket's error, and `rayts list` reports the
 * cluster started here instead of reading some other program's dashboard.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { alive, stopGroup } from "../../src/cli/commands/stop.js";
import { freePort } from "../../src/cluster/redis-server.js";
import { recordedSessions, runCli, type CliRun } from "../support/cli.js";
import { ensureRedisServer } from "./harness.js";

const HOST = "127.0.0.12";
let dir: string;

const rayts = (args: readonly string[]): Promise<CliRun> => runCli(args, { RAYTS_TMPDIR: dir });

/** Every pid `rayts start` recorded under the sessions folder. */
const recordedPids = (): number[] => recordedSessions(dir).pids;

before(() => {
  ensureRedisServer();
  dir = mkdtempSync(join(tmpdir(), "rayts-audit-redis-down-"));
});

after(async () => {
  await rayts(["stop"]);
  for (const pid of recordedPids()) if (alive(pid)) process.kill(-pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("init with the address of a Redis that is not running names the address and the refused connection", async () => {
  const port = await freePort(HOST);
  await assert.rejects(ray.init({ address: `${HOST}:${port}`, redisPassword: "secret", includeDashboard: false }), (error: Error) => {
    assert.ok(error instanceof ray.RayError, String(error));
    assert.match(error.message, new RegExp(`cannot reach the cluster's Redis at ${HOST.replaceAll(".", "\\.")}:${port}: .*ECONNREFUSED`));
    return true;
  });
  assert.equal(ray.isInitialized(), false);
});

test("rayts list and status, with the Redis of the cluster started here down, report that Redis", async () => {
  const port = await freePort(HOST);
  const head = await rayts(["start", "--head", "--port", String(port), "--node-ip-address", HOST, "--num-cpus", "1", "--include-dashboard", "false"]);
  assert.equal(head.code, 0, head.stderr);
  const session = readlinkSync(join(dir, "session_latest"));
  await stopGroup(Number(readFileSync(join(session, "pids", "redis-server.pid"), "utf8")));
  const [listed, status] = await Promise.all([rayts(["list", "nodes"]), rayts(["status"])]);
  const unreachable = new RegExp(`cannot reach the cluster's Redis at ${HOST.replaceAll(".", "\\.")}:${port}: .*ECONNREFUSED`);
  assert.equal(listed.code, 1, listed.stdout);
  assert.match(listed.stderr, unreachable);
  assert.equal(status.code, 1, status.stdout);
  assert.match(status.stderr, unreachable);
});
