/**
 * The dashboard's pages leave nothing in the browser console: no failed
 * request (a missing icon included), no error, no warning, on any page.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { openBrowser, type Browser } from "../support/browser.js";
import * as ray from "../../src/index.js";
import { localDashboardUrl } from "../support/dashboard.js";
import { double } from "./workload.js";

let browser: Browser | undefined;
let page: Page;
let base: string;
const problems: string[] = [];

before(async () => {
  browser = await openBrowser();
  page = browser.page;
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()} (${page.url()})`);
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  await ray.init({ numCpus: 2, dashboardPort: 0 });
  base = await localDashboardUrl();
});

after(async () => {
  await browser?.close();
  await ray.shutdown();
});

test("every page of the dashboard loads without a console error or warning", { timeout: 120_000 }, async () => {
  assert.deepEqual(await ray.get([double.remote(1), double.remote(2)]), [2, 4]);
  for (const name of ["overview", "tasks", "actors", "nodes", "objects", "logs", "timeline"]) {
    // Each page is loaded afresh, so what the browser fetches with it (icon, styles, modules) is checked on each.
    await page.goto(`${base}/#/${name}`, { waitUntil: "networkidle" });
    await page.getByTestId(`nav-${name}`).and(page.locator(".active")).waitFor();
  }
  assert.deepEqual(problems, []);
});
