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
  // Independent processes: started side by side, checked in order.
  const cases = commands.flatMap((command) => ["--help", "-h"].map((flag) => ({ command, flag })));
  const runs = await Promise.all(cases.map(({ command, flag }) => runCli(command === "list" ? [command, "tasks", flag] : [command, flag], NO_CLUSTER)));
  for (const [index, { command, flag }] of cases.entries()) {
    const run = runs[index];
    assert.ok(run);
    assert.equal(run.code, 0, `rayts ${command} ${flag}: ${run.stderr}`);
    assert.match(run.stdout, /Usage|rayts /, `rayts ${command} ${flag} prints its usage`);
    assert.equal(run.stderr, "", `rayts ${command} ${flag} writes nothing on stderr`);
  }
});

test("an unknown command or option fails and names it", async () => {
  const command = await runCli(["bogus"], NO_CLUSTER);
  assert.notEqual(command.code, 0);
  assert.match(command.stderr, /unknown command "bogus"/);
  const names = ["list", "memory", "logs", "stop"];
  const runs = await Promise.all(names.map((name) => runCli([name, "--bogus"], NO_CLUSTER)));
  for (const [index, name] of names.entries()) {
    const run = runs[index];
    assert.ok(run);
    assert.notEqual(run.code, 0, `rayts ${name} --bogus`);
    assert.match(run.stderr, /--bogus/);
  }
});
