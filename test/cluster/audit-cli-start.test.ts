/**
 * `rayts start` that fails part way leaves nothing behind: a head whose
 * node cannot start stops the Redis it started (so the port is free for the
 * next try and `rayts status` does not find a cluster without nodes), and a
 * `--num-cpus` no node could use is refused before anything starts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { alive } from "../../src/cli/commands/stop.js";
import { freePort } from "../../src/cluster/redis-server.js";
import { recordedSessions, runCli, type CliRun } from "../support/cli.js";
import { ensureRedisServer } from "./harness.js";

const HOST = "127.0.0.11";
let dir: string;

const rayts = (args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { RAYTS_TMPDIR: dir, ...env });

/** Every pid `rayts start` recorded, with the session folders it made. */
const recorded = (): { sessions: string[]; pids: number[] } => recordedSessions(dir);

/** Whether something accepts connections on `host:port`. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

before(() => {
  ensureRedisServer();
  dir = mkdtempSync(join(tmpdir(), "rayts-audit-start-"));
});

after(async () => {
  await rayts(["stop"]);
  for (const pid of recorded().pids) if (alive(pid)) process.kill(-pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("a head whose node fails to start stops its Redis and records nothing", async () => {
  const port = await freePort(HOST);
  const failed = await rayts(["start", "--head", "--port", String(port), "--node-ip-address", HOST, "--num-cpus", "1", "--include-dashboard", "false"], {
    RAYTS_NODE_DEAD_MS: "soon",
  });
  assert.equal(failed.code, 1, failed.stdout);
  assert.match(failed.stderr, /RAYTS_NODE_DEAD_MS/);
  assert.equal(await listening(HOST, port), false, `a Redis still listens on ${HOST}:${port}`);
  assert.deepEqual(recorded().pids.filter(alive), []);
  const stop = await rayts(["stop"]);
  assert.match(stop.stdout, /nothing was running/);
});

test("--num-cpus beyond what a node may run is refused before anything starts", async () => {
  const port = await freePort(HOST);
  const refused = await rayts(["start", "--head", "--port", String(port), "--node-ip-address", HOST, "--num-cpus", "100000"]);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(refused.stderr, /`--num-cpus` to be an integer from 1 to \d+, got "100000"/);
  assert.equal(await listening(HOST, port), false);
  assert.deepEqual(recorded().sessions, []);
});

test("a head started with a dashboard token prints the dashboard's address with its token", async () => {
  const port = await freePort(HOST);
  const head = await rayts(["start", "--head", "--port", String(port), "--node-ip-address", HOST, "--num-cpus", "1", "--dashboard-port", "0", "--dashboard-token", "tok-3"]);
  try {
    assert.equal(head.code, 0, head.stderr);
    const url = /Dashboard: (http:\/\/\S+)/.exec(head.stdout)?.[1];
    assert.ok(url !== undefined, head.stdout);
    assert.match(url, /\/\?token=tok-3$/);
    const opened = await fetch(url.replace("/?", "/api/status?"));
    assert.equal(opened.status, 200);
    await opened.body?.cancel();
  } finally {
    const stop = await rayts(["stop"]);
    assert.equal(stop.code, 0, stop.stderr);
  }
});
