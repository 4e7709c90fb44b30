/**
 * `rayts <command> --help` for every command the top-level help lists
 * prints that command's usage on stdout and exits 0 (as the top-level help
 * promises); unknown commands and options exit non-zero, naming them.
 * No driver or cluster runs: usage never needs one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../support/cli.js";

const NO_CLUSTER = { RAYTS_ADDRESS: "http://127.0.0.1:9" };

test("every command listed by `rayts --help` answers --help and -h with its usage, exit 0", async () => {
  const top = await runCli(["--help"], NO_CLUSTER);
  assert.equal(top.code, 0);
  const commands = [...top.stdout.matchAll(/^ {2}(\w+) /gm)].map((match) => match[1] as string);
  assert.deepEqual(commands, ["start", "stop", "status", "list", "summary", "memory", "logs", "timeline"]);
  assert.match(top.stdout, /rayts <command> --help/);
  for (const command of commands) {
    for (const flag of ["--help", "-h"]) {
      const run = await runCli(command === "list" ? [command, "tasks", flag] : [command, flag], NO_CLUSTER);
      assert.equal(run.code, 0, `rayts ${command} ${flag}: ${run.stderr}`);
      assert.match(run.stdout, /Usage|rayts /, `rayts ${command} ${flag} prints its usage`);
      assert.equal(run.stderr, "", `rayts ${command} ${flag} writes nothing on stderr`);
    }
  }
});

test("an unknown command or option fails and names it", async () => {
  const command = await runCli(["bogus"], NO_CLUSTER);
  assert.notEqual(command.code, 0);
  assert.match(command.stderr, /unknown command "bogus"/);
  for (const name of ["list", "memory", "logs", "stop"]) {
    const run = await runCli([name, "--bogus"], NO_CLUSTER);
    assert.notEqual(run.code, 0, `rayts ${name} --bogus`);
    assert.match(run.stderr, /--bogus/);
  }
});
