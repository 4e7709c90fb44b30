/**
 * The chaos test, as Ray's nightly one: a head and three nodes on loopback
 * run chains of dependent tasks, trees of nested tasks, actor calls that must
 * never be lost, tasks on a borrowed 10 MB object and streaming generators,
 * while a killer SIGKILLs a random non-head node
 * (after every few results that arrive, never on a timer) and starts a
 * replacement. Every result must be right, the actor call log must hold each
 * call exactly once, and available CPU must equal the total at the end.
 * Message batches are also dropped and delayed at random
 * (RAYTS_TESTING_RPC_FAILURE) on every process.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { eventually } from "../support/shared.js";
import { runChaosWorkload } from "./chaos-workload.js";
import { Cluster } from "./harness.js";

process.env["RAYTS_HEARTBEAT_MS"] = "250";
process.env["RAYTS_NODE_DEAD_MS"] = "4000";
process.env["RAYTS_DRIVER_DEAD_MS"] = "4000";
const SEED = Number(process.env["RAYTS_CHAOS_SEED"] ?? Date.now() % 100_000);
process.env["RAYTS_TESTING_RPC_FAILURE"] = `drop=0.05,delay=0.05:10,seed=${SEED}`;

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start([{ numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
  delete process.env["RAYTS_TESTING_RPC_FAILURE"];
});

test("chaos: nodes killed during the workloads, nothing lost or duplicated, resources back to the totals", async () => {
  console.log(`chaos seed ${SEED} (RAYTS_CHAOS_SEED to replay)`);
  let random = SEED;
  const next = (): number => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const head = cluster.nodes[0];
  assert.ok(head);
  const KILLS = 3;
  const EVERY = 60;
  let arrived = 0;
  let kills = 0;
  let killing: Promise<void> = Promise.resolve();
  const killer = (): void => {
    arrived++;
    if (kills >= KILLS || arrived % EVERY !== 0) return;
    kills++;
    killing = killing.then(async () => {
      const victims = cluster.nodes.filter((node) => node !== head);
      const victim = victims[Math.floor(next() * victims.length)];
      assert.ok(victim);
      cluster.kill(victim);
      await cluster.addNode({ numCpus: 2 });
    });
  };
  const report = await runChaosWorkload(120, head.nodeId, killer);
  await killing;
  assert.deepEqual(report.problems, []);
  assert.equal(report.results, report.expected);
  assert.equal(kills, KILLS);
  await eventually(() => ray.nodes().length === 4, "the killed nodes to leave and their replacements to join");
  await eventually(() => ray.availableResources().CPU === ray.clusterResources().CPU, "available CPU to equal the total");
  assert.equal(ray.clusterResources().CPU, 8);
});
