/**
 * Every example of examples/ runs in quick mode, in its own process, and
 * prints the results the classic Ray programs print. Timings are printed by
 * the examples but never checked here; the labels around them are.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compileFolder } from "../bench/lib/raycompile.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** Runs `node ...args --quick` and returns its stdout, after checking that it exited with 0. */
async function run(args: readonly string[]): Promise<string> {
  const child = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    // The timeout is a guard against a hang. A process that could not start has no exit code, and its error is shown.
    const spawned = execFile(process.execPath, [...args, "--quick"], { cwd: REPO, encoding: "utf8", timeout: 200_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: spawned.exitCode, signal: spawned.signalCode, stdout, stderr: error === null ? stderr : `${stderr}\n${error.message}` });
    });
  });
  assert.equal(child.code, 0, `exit ${child.code ?? child.signal}\n${child.stdout}\n${child.stderr}`);
  return child.stdout;
}

const example = (name: string): Promise<string> => run(["--import", "tsx", path.join(REPO, "examples", `${name}.ts`)]);

// Each example runs in its own process: two go side by side, so one starts while the other computes.
describe("examples, uncompiled under tsx, quick mode", { concurrency: 2 }, () => {
  test("squares-and-counters prints [0, 1, 4, 9] and four counters at 1", async () => {
    const out = await example("squares-and-counters");
    assert.match(out, /squares: \[ 0, 1, 4, 9 \]/);
    assert.match(out, /counters: \[ 1, 1, 1, 1 \]/);
    assert.match(out, /squares equal: true/);
    // 2,000 tasks of a few nanoseconds each always lose to the serial loop: the example says why.
    assert.match(out, /x slower than serial\)/);
    assert.match(out, /slower than serial in this run: a square takes nanoseconds/);
  });

  test("matrix-dependencies multiplies through refs and matches the serial product", async () => {
    assert.match(await example("matrix-dependencies"), /checksums equal: true/);
  });

  test("pipelined-processing sums 0..3 the four ways", async () => {
    assert.match(await example("pipelined-processing"), /results: \{ serial: 6, batchGet: 6, waitLoop: 6, mapPipelined: 6 \}/);
  });

  test("agg-list passes the classic check, agrees with the distributed fold, and compares it with aggList, not serial", async () => {
    const out = await example("agg-list");
    assert.match(out, /= 49995000 == reduce: true/);
    assert.match(out, /results equal: true/);
    assert.match(out, /x (faster|slower) than aggList \(the serial tree fold\)/);
    assert.doesNotMatch(out, /vs serial/);
  });

  test("fibonacci gives the sequence length from every task, with progress lines", async () => {
    const out = await example("fibonacci");
    assert.match(out, /sequence lengths: \[ 20000(, 20000)* \] \[ 20000(, 20000)* \]/);
    assert.match(out, /\.\.\. serial: \d+ x fibonacci\(20000\)/);
    assert.match(out, /\.\.\. rayts: \d+ tasks/);
  });

  test("monte-carlo-pi estimates pi", async () => {
    const out = await example("monte-carlo-pi");
    const estimates = [...out.matchAll(/estimated value of pi is: (\d\.\d+)/g)].map((m) => Number(m[1]));
    assert.equal(estimates.length, 2);
    for (const pi of estimates) assert.ok(Math.abs(pi - Math.PI) < 0.02, `pi estimate ${pi}`);
  });

  test("image-preprocessing returns [3, 224, 224] tensors equal to the serial ones, and deletes its images", async () => {
    const out = await example("image-preprocessing");
    assert.match(out, /tensor shape: \[3, 224, 224\], 4 tensors, equal to serial: true/);
    const dir = /writing 4 images of 640x480 to (\S+) \(deleted at the end\)/.exec(out)?.[1];
    assert.ok(dir !== undefined, out);
    assert.match(out, new RegExp(`deleted ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.equal(existsSync(dir), false, `${dir} is left behind`);
  });

  test("closure-capture: by value and by ref work; the captured variant asks for raycompile", async () => {
    const out = await example("closure-capture");
    assert.match(out, /foo1\(A\) = 1764/);
    assert.match(out, /Time passing ref of A .*x (faster|slower) than putting A every time\)/);
    assert.doesNotMatch(out, /vs serial/);
    assert.match(out, /foo2 needs raycompile: .*A is not defined in the worker/);
  });
});

describe("closure-capture compiled with raycompile", () => {
  const cli = path.join(REPO, "dist/compiler/cli.js");
  test("foo2 reads the captured module-level array", { skip: existsSync(cli) ? false : "dist/ not built (npm run build)" }, async () => {
    const compiled = compileFolder("examples", "examples-test", ["demo.ts", "cluster-demo.ts"]);
    assert.ok(compiled.ok, compiled.ok ? "" : compiled.reason);
    const out = await run([path.join(compiled.outDir, "closure-capture.js")]);
    assert.match(out, /foo2\(5\) = 1764 \(compiled: A captured, put once\)/);
  });
});
