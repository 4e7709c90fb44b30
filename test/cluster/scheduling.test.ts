/** The scheduling policy alone, over hand-made node views. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DefaultPolicy, HYBRID_THRESHOLD, type Demand, type NodeView } from "../../src/cluster/scheduling.js";

function node(nodeId: string, cpus: number, extra: Record<string, number> = {}): NodeView {
  return { nodeId, address: nodeId, resources: { CPU: cpus, ...extra }, inFlight: 0, used: {} };
}

function demand(overrides: Partial<Demand> = {}): Demand {
  return { numCpus: 1, resources: {}, scheduling: "DEFAULT", locality: new Map(), ...overrides };
}

function place(policy: DefaultPolicy, nodes: NodeView[], what: Demand, local?: string): string {
  const choice = policy.choose(nodes, what, local);
  if ("error" in choice) throw new Error(choice.error);
  choice.node.inFlight += what.numCpus;
  return choice.node.nodeId;
}

test("hybrid: the local node keeps work until half busy, then the least-loaded node takes it", () => {
  const nodes = [node("a", 4), node("b", 4)];
  const policy = new DefaultPolicy();
  const placed = Array.from({ length: 8 }, () => place(policy, nodes, demand(), "a"));
  assert.equal(HYBRID_THRESHOLD, 0.5);
  assert.deepEqual(placed.slice(0, 2), ["a", "a"]);
  assert.equal(placed.filter((id) => id === "a").length, 4);
  assert.equal(placed.filter((id) => id === "b").length, 4);
});

test("locality wins over the local node while the holder is not overloaded", () => {
  const nodes = [node("a", 2), node("b", 2)];
  const policy = new DefaultPolicy();
  assert.equal(place(policy, nodes, demand({ locality: new Map([["b", 1e8]]) }), "a"), "b");
});

test("SPREAD cycles over the nodes that fit; resources and affinity filter them", () => {
  const nodes = [node("a", 1), node("b", 1), node("g", 1, { GPU: 2 })];
  const policy = new DefaultPolicy();
  assert.deepEqual(
    Array.from({ length: 6 }, () => place(policy, nodes, demand({ scheduling: "SPREAD" }))),
    ["a", "b", "g", "a", "b", "g"],
  );
  assert.equal(place(policy, nodes, demand({ resources: { GPU: 1 } })), "g");
  assert.equal(place(policy, nodes, demand({ scheduling: { nodeId: "b" } })), "b");
  assert.match(JSON.stringify(policy.choose(nodes, demand({ resources: { GPU: 3 } }), undefined)), /no live node has the resources/);
  assert.match(JSON.stringify(policy.choose(nodes, demand({ scheduling: { nodeId: "zz" } }), undefined)), /zz is not alive/);
  assert.ok("node" in policy.choose(nodes, demand({ scheduling: { nodeId: "zz", soft: true } }), undefined));
  assert.match(JSON.stringify(policy.choose(nodes, demand({ numCpus: 2 }), undefined)), /no live node has the resources \{\\"CPU\\":2\}/);
});
