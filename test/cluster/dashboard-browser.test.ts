/**
 * The head's dashboard in a real browser (headless Chromium through
 * playwright-core): the overview counts both nodes, the nodes page lists
 * them with their workers, and the tasks page shows where each task ran.
 * Screenshots go to artifacts/dashboard/cluster-*.png.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import * as ray from "../../src/index.js";
import { ensureDebianPackage } from "../support/system-package.js";
import { Cluster } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve("artifacts/dashboard");

let cluster: Cluster;
let context: BrowserContext;
let page: Page;
let dashboard: string;
let profile: string;

const where = ray.remote(() => ray.getRuntimeContext().nodeAddress, { name: "where" });

before(async () => {
  ensureDebianPackage("chromium", CHROMIUM, "the dashboard's browser tests");
  cluster = await Cluster.start([{ numCpus: 1, dashboardPort: 0 }, { numCpus: 1 }]);
  dashboard = cluster.nodes[0]?.dashboardUrl as string;
  assert.ok(dashboard !== undefined, "the head serves a dashboard");
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(path.join(tmpdir(), "rayts-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => {
    throw error;
  });
});

after(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await ray.shutdown();
  await cluster?.shutdown();
});

test("the head's dashboard shows both nodes, their workers and where tasks ran", { timeout: 180_000 }, async () => {
  const addresses = await ray.get(Array.from({ length: 8 }, () => where.options({ scheduling: "SPREAD" }).remote()));
  assert.deepEqual([...new Set(addresses)].sort(), ["127.0.0.2", "127.0.0.3"]);
  const status = await ray.state.status();

  await page.goto(`${dashboard}/#/overview`);
  await page.getByTestId("nodes-count").filter({ hasText: /^2$/ }).waitFor();
  await page.getByTestId("finished-total").filter({ hasText: new RegExp(`^${status.finishedTotal}$`) }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "cluster-overview.png"), fullPage: true });

  await page.getByTestId("nav-nodes").click();
  await page.getByTestId("workers-table").waitFor();
  const nodes = await page.getByTestId("nodes-table").innerText();
  for (const node of ray.nodes()) assert.match(nodes, new RegExp(`${node.nodeId}\\s+${node.address.replace(/\./g, "\\.")}\\s+yes`));
  const workers = await page.getByTestId("workers-table").innerText();
  for (const node of ray.nodes()) assert.match(workers, new RegExp(`${node.nodeId}\\s+task-0`));
  await page.screenshot({ path: path.join(ARTIFACTS, "cluster-nodes.png"), fullPage: true });

  await page.getByTestId("nav-tasks").click();
  await page.getByTestId("tasks-table").waitFor();
  const table = await page.getByTestId("tasks-table").innerText();
  for (const node of ray.nodes()) assert.match(table, new RegExp(`where\\s+${node.nodeId}\\s+finished`));
});
