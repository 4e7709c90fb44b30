/**
 * A node's stand-ins for actors of other nodes, against a fake node: calls
 * to an actor on a node this node has not seen yet wait (in order) for the
 * cluster's live nodes to be read again, then go there; calls to a node
 * still unknown after that, or to a node that died, fail with
 * ActorDiedError; every call settles exactly once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { localHandle } from "../../src/cluster/actor-wire.js";
import { NodeActors, type NodeActorsHost, type SendOutcome } from "../../src/cluster/node-actors.js";
import type { DriverParts } from "../../src/core/runtime/driver-parts.js";
import { newTask } from "../../src/core/scheduling/dependencies.js";
import type { Task } from "../../src/core/scheduling/scheduler.js";

interface Fake {
  readonly actors: NodeActors;
  /** Calls sent, as "node:method". */
  readonly sent: string[];
  /** How each settled call ended, by task id. */
  readonly settled: Map<number, string>;
  /** Nodes this node knows; `joinOnRefresh` become known when the nodes are read again. */
  readonly known: Set<string>;
  readonly joinOnRefresh: Set<string>;
  refreshes: number;
  /** Resolves the pending refresh. */
  finishRefresh(): void;
}

function fake(): Fake {
  let release: (() => void) | undefined;
  const state: Omit<Fake, "actors" | "finishRefresh"> = { sent: [], settled: new Map(), known: new Set(["here"]), joinOnRefresh: new Set(), refreshes: 0 };
  const host: NodeActorsHost = {
    nodeId: "here",
    hosted: () => new Map(),
    sendCall: (task: Task, _parts: DriverParts, _actor: string, node: string): SendOutcome => {
      if (!state.known.has(node)) return "unknown";
      state.sent.push(`${node}:${task.method ?? ""}`);
      return "sent";
    },
    refreshNodes: () => {
      state.refreshes++;
      return new Promise<void>((resolve) => {
        release = () => {
          for (const node of state.joinOnRefresh) state.known.add(node);
          resolve();
        };
      });
    },
    sendKill: () => undefined,
    placeActor: () => undefined,
    sendActor: () => undefined,
  };
  const actors = new NodeActors(host);
  const parts = {
    tasks: {
      settle: (task: Task, result: { ok: boolean; error?: { name: string } }) => {
        assert.equal(state.settled.has(task.id), false, `task ${task.id} settled once`);
        state.settled.set(task.id, result.ok ? "ok" : (result.error?.name ?? "error"));
      },
    },
    owners: new Map(),
  } as unknown as DriverParts;
  actors.attach(parts);
  return {
    ...state,
    actors,
    finishRefresh: () => {
      assert.ok(release, "a refresh is under way");
      release();
      release = undefined;
    },
    get refreshes() {
      return state.refreshes;
    },
  };
}

function call(actor: number, id: number, method: string): Task {
  return newTask(id, 0, [], { numCpus: 0, maxRetries: 0, retryExceptions: false, name: method }, actor, method);
}

/** Waits for the refresh's continuation to run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("calls to an actor on a node not seen yet wait for a fresh read of the nodes, then go there in order", async () => {
  const node = fake();
  node.joinOnRefresh.add("new");
  const handle = localHandle(node.actors.handle({ id: "d.1", name: "Server", methods: ["a", "b"], node: "new" }));
  assert.ok(handle);
  assert.equal(node.actors.call(call(handle.id, 1, "a")), true);
  assert.equal(node.actors.call(call(handle.id, 2, "b")), true);
  assert.deepEqual(node.sent, [], "nothing is sent before the nodes are read again");
  assert.equal(node.refreshes, 1, "one read for both calls");
  node.finishRefresh();
  await turn();
  assert.deepEqual(node.sent, ["new:a", "new:b"]);
  assert.equal(node.settled.size, 0, "sent calls settle with their replies");
});

test("calls to an actor on a node still unknown after a fresh read fail with ActorDiedError, each once", async () => {
  const node = fake();
  const handle = localHandle(node.actors.handle({ id: "d.2", name: "Server", methods: ["a"], node: "gone" }));
  assert.ok(handle);
  node.actors.call(call(handle.id, 1, "a"));
  node.actors.call(call(handle.id, 2, "a"));
  node.finishRefresh();
  await turn();
  assert.deepEqual([...node.settled], [
    [1, "ActorDiedError"],
    [2, "ActorDiedError"],
  ]);
  node.actors.call(call(handle.id, 3, "a"));
  assert.equal(node.settled.get(3), "ActorDiedError", "later calls fail at once");
  assert.equal(node.refreshes, 1);
  assert.deepEqual(node.sent, []);
});

test("calls to an actor whose node died fail with ActorDiedError", () => {
  const node = fake();
  node.known.add("other");
  const handle = localHandle(node.actors.handle({ id: "d.3", name: "Server", methods: ["a"], node: "other" }));
  assert.ok(handle);
  node.actors.call(call(handle.id, 1, "a"));
  assert.deepEqual(node.sent, ["other:a"]);
  node.actors.nodeGone("other");
  node.actors.call(call(handle.id, 2, "a"));
  assert.equal(node.settled.get(2), "ActorDiedError");
});
