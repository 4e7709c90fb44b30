/**
 * `rayts status` counts the tasks a driver holds back: a burst larger than
 * what the nodes are sent ahead waits in the driver (see placement.ts), and
 * the pending demand `ray status` users read must include it, with its
 * resource shape. Two one-CPU nodes on loopback, this process as the driver,
 * tasks that block until the test opens a gate (a file they look for).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { AHEAD_MIN_PER_CPU } from "../../src/cluster/placement.js";
import { runCli, type CliRun } from "../support/cli.js";
import { GUARD_MS } from "../support/shared.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
let scratch: string;

/** Runs `rayts status` against the test cluster until its output satisfies `ok` (guarded, never a window to wait out). */
async function statusUntil(ok: (run: CliRun) => boolean, what: string): Promise<CliRun> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const run = await runCli(["status", "--address", cluster.address, "--redis-password", cluster.password]);
    assert.equal(run.code, 0, run.stderr);
    if (ok(run)) return run;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}:\n${run.stdout}`);
  }
}

/** Blocks until `gate` exists, then returns 1. */
const gated = ray.remote(
  async (gate: string) => {
    const fs = (process as unknown as { getBuiltinModule(name: string): typeof import("node:fs") }).getBuiltinModule("node:fs");
    while (!fs.existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 5));
    return 1;
  },
  { name: "gated" },
);

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1, resources: { GPU: 1 }, dashboardPort: 0 }, { numCpus: 1 }]);
  scratch = mkdtempSync(join(tmpdir(), "rayts-status-demand-"));
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

class Tally {
  n = 0;
  add(by: number): number {
    return (this.n += by);
  }
}
const TallyActor = ray.remote(Tally);

test("idle actors leave availableResources' CPUs free, as in local mode and Ray (an actor holds no CPU between calls)", async () => {
  const tallies = [TallyActor.remote(), TallyActor.remote()];
  try {
    assert.deepEqual(await ray.get(tallies.map((tally) => tally.add.remote(1))), [1, 1]);
    assert.equal(ray.clusterResources().CPU, 2);
    assert.equal(ray.availableResources().CPU, 2);
  } finally {
    for (const tally of tallies) ray.kill(tally);
  }
});

test("a burst larger than the nodes take shows as pending demand in rayts status, held-back tasks included, and is gone once done", async (t) => {
  const gate = join(scratch, "gate");
  const burst = 400;
  const halfCpu = 10;
  const gpu = 5;
  const refs = [
    ...Array.from({ length: burst }, () => gated.remote(gate)),
    ...Array.from({ length: halfCpu }, () => gated.options({ numCpus: 0.5 }).remote(gate)),
    ...Array.from({ length: gpu }, () => gated.options({ resources: { GPU: 1 } }).remote(gate)),
  ];
  const all = burst + halfCpu + gpu;
  // Each one-CPU node is sent its share ahead (its pace is unknown yet: nothing finished); the rest waits in this driver,
  // as do the GPU tasks after the first, until the one GPU is free.
  const sent = 2 * AHEAD_MIN_PER_CPU;
  const held = burst - sent + halfCpu + gpu - 1;
  const pending = await statusUntil((run) => run.stdout.includes(`${held} held back by 1 driver`), "the held-back tasks");
  t.diagnostic(pending.stdout);
  assert.match(pending.stdout, new RegExp(`^ {4}\\{"CPU":1\\}: ${burst - sent} pending$`, "m"));
  assert.match(pending.stdout, new RegExp(`^ {4}\\{"CPU":0\\.5\\}: ${halfCpu} pending$`, "m"));
  assert.match(pending.stdout, new RegExp(`^ {4}\\{"CPU":1,"GPU":1\\}: ${gpu - 1} pending$`, "m"));
  const figures = /^Demand:\n {2}(\d+) pending tasks: (\d+) queued on nodes, (\d+) held back by 1 driver$/m.exec(pending.stdout);
  assert.ok(figures, pending.stdout);
  const [total, queued] = [Number(figures[1]), Number(figures[2])];
  assert.equal(total, queued + held);
  // The nodes' queues count once their heartbeats carry them: at most what was sent (the first GPU task too), less the two running.
  assert.ok(queued <= sent + 1 - 2, pending.stdout);

  // The same figure through the state API and the head's dashboard (its JSON route, its status command and /metrics).
  const status = await ray.state.status();
  assert.equal(status.demand.heldByDrivers, held);
  assert.equal(status.demand.drivers, 1);
  assert.deepEqual(
    status.demand.shapes.map((shape) => [shape.resources, shape.count]),
    [
      [{ CPU: 1 }, burst - sent],
      [{ CPU: 0.5 }, halfCpu],
      [{ CPU: 1, GPU: 1 }, gpu - 1],
    ],
  );
  const dashboard = cluster.nodes[0]?.dashboardUrl;
  assert.ok(dashboard !== undefined);
  const served = (await (await fetch(`${dashboard}/api/status`)).json()) as ray.ClusterStatus;
  assert.equal(served.demand.heldByDrivers, held);
  const viaDashboard = await runCli(["status", "--address", dashboard]);
  assert.equal(viaDashboard.code, 0, viaDashboard.stderr);
  assert.match(viaDashboard.stdout, new RegExp(`^Demand:\\n {2}\\d+ pending tasks: \\d+ queued on nodes, ${held} held back by 1 driver$`, "m"));
  const metrics = await (await fetch(`${dashboard}/metrics`)).text();
  assert.match(metrics, new RegExp(`^rayts_pending_tasks\\{where="drivers"\\} ${held}$`, "m"));

  writeFileSync(gate, "");
  assert.equal((await ray.get(refs)).length, all);
  const done = await statusUntil((run) => run.stdout.includes("(no pending tasks)"), "the demand to clear");
  assert.doesNotMatch(done.stdout, /held back/);
  assert.equal((await ray.state.status()).demand.heldByDrivers, 0);
});
