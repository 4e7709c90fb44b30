/**
 * The CLI against a dashboard that asks for a token: a missing or wrong
 * token is refused with a message that says so and how to give it, not a
 * JSON parse error; the right one reads the dashboard.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../../src/index.js";
import { localDashboardUrl } from "../support/dashboard.js";
import { runCli } from "../support/cli.js";

const TOKEN = "audit-token-7f3a";
let base: string;

before(async () => {
  await ray.init({ numCpus: 1, dashboardPort: 0, dashboardToken: TOKEN });
  base = await localDashboardUrl();
});

after(async () => {
  await ray.shutdown();
});

test("rayts list without the dashboard's token, or with a wrong one, says the token is missing or wrong", async () => {
  const [missing, wrong, follow, right] = await Promise.all([
    runCli(["list", "tasks", "--address", base]),
    runCli(["summary", "tasks", "--address", base, "--token", "not-it"]),
    runCli(["logs", "--follow", "--address", base]),
    runCli(["list", "nodes", "--address", base, "--token", TOKEN]),
  ]);
  assert.equal(missing.code, 1, missing.stdout);
  assert.match(missing.stderr, /asks for its token and no token was given \(401\): pass it with --token or RAYTS_DASHBOARD_TOKEN/);
  assert.equal(wrong.code, 1, wrong.stdout);
  assert.match(wrong.stderr, /asks for its token and the token given is not its token \(401\)/);
  assert.equal(follow.code, 1, follow.stdout);
  assert.match(follow.stderr, /asks for its token and no token was given \(401\)/);
  assert.equal(right.code, 0, right.stderr);
  assert.match(right.stdout, /1 of 1 shown/);
});

test("the dashboard's refusal says how to give the token, and the token in the address opens it", async () => {
  const refused = await fetch(`${base}/api/status`);
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /asks for its token: open it as \/\?token=<token>, send `Authorization: Bearer <token>`/);
  const wrong = await fetch(`${base}/api/status?token=${TOKEN}x`);
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const page = await fetch(`${base}/?token=${TOKEN}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /rayts dashboard/);
});
