/**
 * What tasks and actor calls print on a node reaches the driver that owns
 * them, prefixed with the function's name, the pid and the node's address,
 * on the stream it was printed to, in order, before the task's result, and
 * not any other driver. Drivers run as child processes (their output is read
 * whole once they exit) while this process is a second driver.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as ray from "../../src/index.js";
import { deserialize } from "node:v8";
import { isDriver, withAddress } from "../../src/cluster/node-logs.js";
import { MAX_PENDING_LINES, NodeOutbox } from "../../src/cluster/node-outbox.js";
import type { ResultBatch } from "../../src/cluster/wire.js";
import { runScript } from "../support/child.js";
import { Cluster } from "./harness.js";

let cluster: Cluster;
const SECOND = "127.0.0.3";

before(async () => {
  cluster = await Cluster.start([{ numCpus: 1 }, { numCpus: 2 }]);
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await ray.shutdown();
  await cluster?.shutdown();
});

/** A driver script whose task and actor print lines carrying `token` on the second node, each printing a marker after its result. */
function driverScript(token: string): string {
  return `
    import * as ray from "RAYTS";
    await ray.init({ address: ${JSON.stringify(cluster.address)}, redisPassword: ${JSON.stringify(cluster.password)} });
    const node = ray.nodes().find((n) => n.address === ${JSON.stringify(SECOND)});
    if (node === undefined) throw new Error("no node at ${SECOND}");
    const on = { scheduling: { nodeId: node.nodeId } };
    const square = ray.remote(function square(x: number) {
      console.log(${JSON.stringify(token)} + " first " + x);
      console.log(${JSON.stringify(token)} + " second " + x);
      return x * x;
    });
    console.log("RESULT task " + (await ray.get(square.options(on).remote(3))));
    const Talker = ray.remote(
      class Talker {
        shout(text: string) {
          console.error(${JSON.stringify(token)} + " " + text);
          return text.length;
        }
      },
    );
    const talker = Talker.options(on).remote();
    console.error("RESULT actor " + (await ray.get(talker.shout.remote("from the actor"))));
    await ray.shutdown();
  `;
}

/** The index of the first line of `lines` matching `pattern`; fails with `text` when none does. */
function lineIndex(lines: readonly string[], pattern: RegExp, text: string): number {
  const at = lines.findIndex((line) => pattern.test(line));
  assert.ok(at >= 0, `no line matches ${String(pattern)} in:\n${text}`);
  return at;
}

describe("cluster: task output reaches its driver", () => {
  test("unit: the node address joins the worker prefix; driver ids are told from node ids", () => {
    assert.equal(withAddress("(square pid=12 worker=0) hi (there)", "127.0.0.3"), "(square pid=12 worker=0 ip=127.0.0.3) hi (there)");
    assert.equal(withAddress("no prefix here", "127.0.0.3"), "no prefix here");
    assert.equal(isDriver("d0123456789"), true);
    assert.equal(isDriver("0123456789abcdef"), false);
  });

  test("unit: a node's lines wait in a bounded queue: past the cap they are dropped and the owner told how many", async () => {
    const owner = "d0123456789";
    const written: ResultBatch[] = [];
    let wrote: () => void = () => undefined;
    const flushed = new Promise<void>((resolve) => (wrote = resolve));
    const pipeline = {
      xadd: (stream: string, _id: string, _field: string, bytes: Buffer) => {
        assert.equal(stream, `rayts:results:${owner}`);
        written.push(deserialize(bytes) as ResultBatch);
        return pipeline;
      },
      exec: () => {
        wrote();
        return Promise.resolve([]);
      },
    };
    const outbox = new NodeOutbox({
      redis: { pipeline: () => pipeline } as never,
      nodeId: "n1",
      address: "127.0.0.9",
      stream: "tasks",
      numCpus: 1,
      running: () => 0,
      dead: new Set(),
      beforeWrite: () => undefined,
      sender: undefined,
      log: (line) => assert.fail(line),
    });
    const extra = 5;
    for (let i = 0; i < MAX_PENDING_LINES + extra; i++) outbox.line(owner, { s: "out", t: `line ${String(i)}` });
    outbox.result(owner, { k: "ok", id: "t1", v: 1 });
    await flushed;
    assert.equal(written.length, 1);
    const [batch] = written;
    assert.ok(batch?.lines !== undefined);
    assert.deepEqual(batch.results, [{ k: "ok", id: "t1", v: 1 }]);
    assert.equal(batch.lines.length, MAX_PENDING_LINES + 1);
    assert.deepEqual(batch.lines.slice(0, 2), [{ s: "out", t: "line 0" }, { s: "out", t: "line 1" }]);
    assert.equal(batch.lines[MAX_PENDING_LINES - 1]?.t, `line ${String(MAX_PENDING_LINES - 1)}`);
    const note = batch.lines[MAX_PENDING_LINES];
    assert.equal(note?.s, "err");
    assert.match(note.t, new RegExp(`^\\(rayts node 127\\.0\\.0\\.9\\) ${String(extra)} lines printed by tasks were dropped`));
  });

  test("a task's lines go to the driver's stdout in order, an actor's console.error to its stderr, each before the result", async () => {
    const token = `tok${randomBytes(4).toString("hex")}`;
    const child = await runScript("cluster-task-logs", driverScript(token), { timeoutMs: 90_000 });
    assert.equal(child.timedOut, false, child.stdout + child.stderr);
    assert.equal(child.code, 0, child.stderr);
    const out = child.stdout.split("\n");
    const first = lineIndex(out, new RegExp(`^\\(square pid=\\d+ worker=\\d+ ip=127\\.0\\.0\\.3\\) ${token} first 3$`), child.stdout);
    const second = lineIndex(out, new RegExp(`^\\(square pid=\\d+ worker=\\d+ ip=127\\.0\\.0\\.3\\) ${token} second 3$`), child.stdout);
    const result = lineIndex(out, /^RESULT task 9$/, child.stdout);
    assert.ok(first < second && second < result, child.stdout);
    assert.ok(!child.stdout.includes(`${token} from the actor`), "the actor's console.error went to stdout");
    const err = child.stderr.split("\n");
    const shout = lineIndex(err, new RegExp(`^\\(Talker pid=\\d+ worker=\\d+ ip=127\\.0\\.0\\.3\\) ${token} from the actor$`), child.stderr);
    assert.ok(shout < lineIndex(err, /^RESULT actor 14$/, child.stderr), child.stderr);
  });

  test("another driver connected meanwhile sees none of those lines", async () => {
    // This process is a driver too: capture what it writes while the other runs, and after its own task's result.
    const captured: string[] = [];
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    const stderrWrite = process.stderr.write.bind(process.stderr);
    const capture =
      (write: typeof process.stdout.write) =>
      (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
        captured.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
        return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
      };
    process.stdout.write = capture(stdoutWrite);
    process.stderr.write = capture(stderrWrite);
    try {
      const token = `tok${randomBytes(4).toString("hex")}`;
      const child = await runScript("cluster-task-logs-other", driverScript(token), { timeoutMs: 90_000 });
      assert.equal(child.code, 0, child.stderr);
      assert.ok(child.stdout.includes(`${token} second 3`), child.stdout);
      // Our own line comes before our result, on the path the other driver's lines would have taken before it.
      const mine = `mine${randomBytes(4).toString("hex")}`;
      const node = ray.nodes().find((n) => n.address === SECOND);
      assert.ok(node !== undefined);
      const echo = ray.remote(function echo(text: string) {
        console.log(text);
        return text;
      });
      assert.equal(await ray.get(echo.options({ scheduling: { nodeId: node.nodeId } }).remote(mine)), mine);
      const seen = captured.join("");
      assert.match(seen, new RegExp(`\\(echo pid=\\d+ worker=\\d+ ip=127\\.0\\.0\\.3\\) ${mine}`));
      assert.ok(!seen.includes(token), `this driver printed the other driver's lines:\n${seen}`);
    } finally {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
  });
});
