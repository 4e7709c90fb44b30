/**
 * `npm run demo -- cluster`: the 10,000 x 1 ms program from the Ray articles (tasks that return their node's address). Starts a head and
 * two more nodes on loopback addresses (Redis on the head), connects a
 * driver, runs 10,000 tasks of 1 ms that return the address of the node
 * that ran them, prints the tasks per node, then stops everything.
 */
import { LocalCluster } from "../src/cluster/local-cluster.js";
import * as ray from "../src/index.js";

const CPUS = 2;
console.log("starting Redis and a head node on 127.0.0.2, nodes on 127.0.0.3 and 127.0.0.4 ...");
const cluster = await LocalCluster.start([{ numCpus: CPUS }, { numCpus: CPUS }, { numCpus: CPUS }]);
try {
  console.log(`rayts start --address='${cluster.address}' --redis-password='${cluster.password}'  (what other machines would run)\n`);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  console.log(`This cluster consists of
    ${ray.nodes().length} nodes in total
    ${ray.clusterResources().CPU} CPU resources in total
`);
  const f = ray.remote(() => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // time.sleep(0.001)
    return ray.getRuntimeContext().nodeAddress;
  });
  const start = performance.now();
  const objectIds = Array.from({ length: 10_000 }, () => f.remote());
  const ipAddresses = await ray.get(objectIds);
  const ms = performance.now() - start;
  const counts = new Map<string, number>();
  for (const ip of ipAddresses) counts.set(ip, (counts.get(ip) ?? 0) + 1);
  console.log("Tasks executed");
  for (const [ip, n] of [...counts].sort()) console.log(`    ${n} tasks on ${ip}`);
  const ideal = 10_000 / ray.clusterResources().CPU;
  console.log(`\n${ms.toFixed(0)} ms for 10,000 x 1 ms tasks (ideal ${ideal.toFixed(0)} ms on ${ray.clusterResources().CPU} CPUs; every process shares this machine's cores)`);
} finally {
  await ray.shutdown();
  await cluster.shutdown();
  console.log("stopped the nodes and Redis");
}
