/**
 * A node's stand-ins for actors of other nodes, against a fake node: calls
 * to an actor on a node this node has not seen yet wait (in order) for the
 * cluster's live nodes to be read again, then go there; calls to a node
 * still unknown after that, or to a node that died, wait while the registry
 * is asked where the actor lives now: they go there in order (the calls the
 * death left unanswered first, while their retries last), or fail with
 * ActorDiedError when it is gone for good; every call settles exactly once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { localHandle } from "../../src/cluster/actor-wire.js";
import type { Whereabouts } from "../../src/cluster/actor-follow.js";
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
  /** Actors asked for after their node died, and the answer to give (gone for good unless set). */
  readonly relocated: string[];
  whereabouts: Whereabouts;
  /** Tasks still running (not settled). */
  readonly live: Set<number>;
}

function fake(): Fake {
  let release: (() => void) | undefined;
  const state: Omit<Fake, "actors" | "finishRefresh"> = {
    sent: [], settled: new Map(), known: new Set(["here"]), joinOnRefresh: new Set(), refreshes: 0,
    relocated: [], whereabouts: { dead: "it was not restarted" }, live: new Set(),
  };
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
    relocate: (actor: string, lost: string) => {
      state.relocated.push(`${actor}@${lost}`);
      return Promise.resolve(state.whereabouts);
    },
    release: () => undefined,
  };
  const actors = new NodeActors(host);
  const parts = {
    tasks: {
      live: state.live,
      settle: (task: Task, result: { ok: boolean; error?: { name: string } }) => {
        assert.equal(state.settled.has(task.id), false, `task ${task.id} settled once`);
        state.live.delete(task.id);
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
    get whereabouts() {
      return state.whereabouts;
    },
    set whereabouts(value: Whereabouts) {
      state.whereabouts = value;
    },
  };
}

function call(actor: number, id: number, method: string, live?: Set<number>): Task {
  live?.add(id);
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

test("calls to an actor whose node died and that was not restarted fail with ActorDiedError, after one look at the registry", async () => {
  const node = fake();
  node.known.add("other");
  const handle = localHandle(node.actors.handle({ id: "d.3", name: "Server", methods: ["a"], node: "other" }));
  assert.ok(handle);
  node.actors.call(call(handle.id, 1, "a"));
  assert.deepEqual(node.sent, ["other:a"]);
  node.actors.nodeGone("other");
  node.actors.call(call(handle.id, 2, "a"));
  await turn();
  assert.equal(node.settled.get(2), "ActorDiedError");
  assert.deepEqual(node.relocated, ["d.3@other"]);
  node.actors.call(call(handle.id, 3, "a"));
  assert.equal(node.settled.get(3), "ActorDiedError", "later calls fail at once");
});

test("calls to an actor restarted elsewhere wait for the registry, then go to its new node in order; unanswered ones first while retries last", async () => {
  const node = fake();
  node.known.add("old").add("new");
  node.whereabouts = { placement: { actorId: "d.4", nodeId: "new", incarnation: 1, maxTaskRetries: 1 } };
  const handle = localHandle(node.actors.handle({ id: "d.4", name: "Server", methods: ["a", "b", "c"], node: "old" }));
  assert.ok(handle);
  const first = call(handle.id, 1, "a", node.live);
  node.actors.call(first);
  assert.deepEqual(node.sent, ["old:a"]);
  // The old node dies with call 1 unanswered; calls 2 and 3 are made while the actor is looked for.
  node.known.delete("old");
  assert.equal(node.actors.callLost("d.4", first), true);
  node.actors.nodeGone("old");
  const second = call(handle.id, 2, "b", node.live);
  const third = call(handle.id, 3, "c", node.live);
  node.actors.call(second);
  node.actors.call(third);
  assert.deepEqual(node.sent, ["old:a"], "nothing goes anywhere while the actor is looked for");
  await turn();
  assert.deepEqual(node.sent, ["old:a", "new:a", "new:b", "new:c"]);
  assert.equal(node.settled.size, 0);
  // Its new node dies too and it restarts once more: call 1 has spent its one retry and fails, calls 2 and 3 go again.
  node.known.delete("new");
  node.known.add("newer");
  node.whereabouts = { placement: { actorId: "d.4", nodeId: "newer", incarnation: 2, maxTaskRetries: 1 } };
  for (const task of [first, second, third]) node.actors.callLost("d.4", task);
  node.actors.nodeGone("new");
  await turn();
  assert.deepEqual([...node.settled], [[1, "ActorDiedError"]]);
  assert.deepEqual(node.sent.slice(4), ["newer:b", "newer:c"]);
});

test("calls a node death left unanswered fail with ActorDiedError when the actor has no retries for them, and later calls reach its new node", async () => {
  const node = fake();
  node.known.add("old").add("new");
  node.whereabouts = { placement: { actorId: "d.5", nodeId: "new", incarnation: 1, maxTaskRetries: 0 } };
  const handle = localHandle(node.actors.handle({ id: "d.5", name: "Server", methods: ["a"], node: "old" }));
  assert.ok(handle);
  const first = call(handle.id, 1, "a", node.live);
  node.actors.call(first);
  node.actors.callLost("d.5", first);
  node.actors.nodeGone("old");
  node.actors.call(call(handle.id, 2, "a", node.live));
  await turn();
  assert.equal(node.settled.get(1), "ActorDiedError");
  assert.deepEqual(node.sent, ["old:a", "new:a"]);
});
