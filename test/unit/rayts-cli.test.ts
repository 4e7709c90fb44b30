/**
 * The `rayts` command line, the same for every command: 2 for a wrong
 * command line (nothing done), 1 for a command that failed while running,
 * `--version`/`-v` print the package's version and the help lists them.
 * Run in this process through `main`, except one run of the real bin.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/rayts.js";
import * as startCommand from "../../src/cli/commands/start.js";
import { runCli } from "../support/cli.js";
import { REPO } from "../support/child.js";

const VERSION = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;

let sessions: string;
let saved: string | undefined;

before(() => {
  // No cluster started "on this machine" for these runs.
  saved = process.env["RAYTS_TMPDIR"];
  sessions = mkdtempSync(join(tmpdir(), "rayts-cli-usage-"));
  process.env["RAYTS_TMPDIR"] = sessions;
});

after(() => {
  if (saved === undefined) delete process.env["RAYTS_TMPDIR"];
  else process.env["RAYTS_TMPDIR"] = saved;
  rmSync(sessions, { recursive: true, force: true });
});

/** Runs `rayts ...argv` in this process. */
async function rayts(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

test("--version and -v print the package's version; --help and help list them", async () => {
  for (const flag of ["--version", "-v"]) {
    assert.deepEqual(await rayts(flag), { code: 0, stdout: `rayts ${VERSION}\n`, stderr: "" });
  }
  for (const flag of ["--help", "-h", "help"]) {
    const help = await rayts(flag);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, "");
    assert.match(help.stdout, /^Usage: rayts <command> \[options\]/);
    assert.match(help.stdout, /^ {2}-v, --version +print the rayts version$/m);
    assert.match(help.stdout, /^ {2}-h, --help +show this help/m);
    for (const command of ["start", "stop", "status", "list", "summary", "memory", "logs", "timeline"]) assert.match(help.stdout, new RegExp(`^ {2}${command} +\\S`, "m"));
  }
});

test("a wrong command line exits 2 in every command, saying what was expected and how to get help", async () => {
  const none = await rayts();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^rayts: Expected a command, got none\n\nUsage: rayts <command>/);
  const unknown = await rayts("strat");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "strat"; expected one of start, stop, status/);
  const cases: [string[], RegExp][] = [
    [["start", "--bogus"], /^rayts start: Unknown option '--bogus'/],
    [["start", "--head", "--resources", "GPU=1"], /^rayts start: Expected `--resources` to be a JSON object such as '\{"GPU":1\}', got "GPU=1"/],
    [["start", "--head", "--num-cpus", "0"], /^rayts start: Expected `--num-cpus` to be an integer from 1 to \d+, got "0"/],
    [["start", "--head", "--port", "99999"], /^rayts start: Expected `--port` to be an integer from 1 to 65535, got "99999"/],
    [["start", "--head", "--dashboard-port", "70000", "--port", "99999"], /^rayts start: Expected `--dashboard-port` to be an integer from 0 to 65535, got "70000"/],
    [["start", "--head", "--include-dashboard", "maybe"], /^rayts start: Expected `--include-dashboard` to be true or false, got "maybe"/],
    [["start", "--head", "--dashboard-host", "0.0.0.0"], /^rayts start: Expected `--dashboard-token` when `--dashboard-host` is not a loopback address/],
    [["start"], /^rayts start: Expected `--head` to start a cluster, or `--address HOST:PORT --redis-password P` to join one, got neither/],
    [["start", "--address", "127.0.0.1:6379"], /^rayts start: Expected `--redis-password` with `--address`/],
    [["start", "--address", "nowhere", "--redis-password", "p"], /^rayts start: Expected `--address` to be "HOST:PORT", got "nowhere"/],
    [["stop", "--all"], /^rayts stop: Unknown option '--all'/],
    [["status", "--address", "127.0.0.1:1", "--redis-password", "p", "--watch"], /^rayts status: Unknown option '--watch'/],
  ];
  for (const [argv, message] of cases) {
    const run = await rayts(...argv);
    assert.equal(run.code, 2, `rayts ${argv.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.match(run.stderr, new RegExp(`Run \`rayts ${argv[0] ?? ""} --help\` for its options\\.\\n$`));
    assert.equal(run.stdout, "");
  }
});

test("a command that fails while running exits 1", async () => {
  const unreachable = await rayts("status", "--address", "127.0.0.1:1", "--redis-password", "p");
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^rayts: cannot reach the cluster's Redis at 127\.0\.0\.1:1/);
});

test("the rayts bin prints the version and exits 2 without a command", async () => {
  const [version, none] = await Promise.all([runCli(["--version"], { RAYTS_TMPDIR: sessions }), runCli([], { RAYTS_TMPDIR: sessions })]);
  assert.deepEqual(version, { code: 0, stdout: `rayts ${VERSION}\n`, stderr: "" });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Expected a command, got none/);
});

test("rayts start --help lists every option rayts start takes", () => {
  for (const name of Object.keys(startCommand.OPTIONS)) {
    if (name === "help") continue;
    assert.ok(startCommand.HELP.includes(`--${name}`), `--${name} is accepted but missing from rayts start --help`);
  }
});
