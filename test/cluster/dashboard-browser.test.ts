/**
 * The head's dashboard in a real browser (headless Chromium through
 * playwright-core): the overview counts both nodes, the nodes page lists
 * them with their workers, and the tasks page shows where each task ran.
 * Screenshots go to artifacts/dashboard/cluster-*.png.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import * as ray from "../../src/index.js";
import { openBrowser, screenshot, showsText, type Browser } from "../support/browser.js";
import { Cluster } from "./harness.js";

let cluster: Cluster | undefined;
let browser: Browser | undefined;
let page: Page;
let dashboard: string;

const where = ray.remote(() => ray.getRuntimeContext().nodeAddress, { name: "where" });

before(async () => {
  browser = await openBrowser();
  page = browser.page;
  cluster = await Cluster.start([{ numCpus: 1, dashboardPort: 0 }, { numCpus: 1 }]);
  dashboard = cluster.nodes[0]?.dashboardUrl as string;
  assert.ok(dashboard !== undefined, "the head serves a dashboard");
  await ray.init({ address: cluster.address, redisPassword: cluster.password });
});

after(async () => {
  await browser?.close();
  await ray.shutdown();
  await cluster?.shutdown();
});

test("the head's dashboard shows both nodes, their workers and where tasks ran", { timeout: 180_000 }, async () => {
  const addresses = await ray.get(Array.from({ length: 8 }, () => where.options({ scheduling: "SPREAD" }).remote()));
  assert.deepEqual([...new Set(addresses)].sort(), ["127.0.0.2", "127.0.0.3"]);
  const status = await ray.state.status();

  await page.goto(`${dashboard}/#/overview`);
  await showsText(page, "nodes-count", "2");
  await showsText(page, "finished-total", String(status.finishedTotal));
  await screenshot(page, "cluster-overview");

  await page.getByTestId("nav-nodes").click();
  await page.getByTestId("workers-table").waitFor();
  const nodes = await page.getByTestId("nodes-table").innerText();
  for (const node of ray.nodes()) assert.match(nodes, new RegExp(`${node.nodeId}\\s+${node.address.replace(/\./g, "\\.")}\\s+yes`));
  const workers = await page.getByTestId("workers-table").innerText();
  for (const node of ray.nodes()) assert.match(workers, new RegExp(`${node.nodeId}\\s+task-0`));
  await screenshot(page, "cluster-nodes");

  await page.getByTestId("nav-tasks").click();
  await page.getByTestId("tasks-table").waitFor();
  const table = await page.getByTestId("tasks-table").innerText();
  for (const node of ray.nodes()) assert.match(table, new RegExp(`where\\s+${node.nodeId}\\s+finished`));
});
