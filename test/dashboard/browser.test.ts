/**
 * The dashboard in a real browser (headless Chromium through
 * playwright-core): every page loads while a workload runs, its numbers match
 * the state API, a failed task's detail shows its error, and live updates
 * (server-sent events) arrive. Screenshots go to artifacts/dashboard/.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { openBrowser, screenshot, showsText as pageShowsText, type Browser } from "../support/browser.js";
import * as ray from "../../src/index.js";
import { localDashboardUrl } from "../support/dashboard.js";
import { release, sharedInts, until } from "../support/shared.js";
import { double, fails } from "./workload.js";

let browser: Browser | undefined;
let page: Page;
let base: string;

/** Marks flags[1] and waits (at most a minute) until flags[0] is set: holds a CPU slot while pages load. */
const held = ray.remote(
  (flags: Int32Array, value: number) => {
    Atomics.add(flags, 1, 1);
    Atomics.notify(flags, 1);
    Atomics.wait(flags, 0, 0, 60_000);
    return value;
  },
  { name: "held" },
);
const talks = ray.remote(
  (text: string) => {
    console.log(text);
    return text;
  },
  { name: "talks" },
);

before(async () => {
  browser = await openBrowser();
  page = browser.page;
  await ray.init({ numCpus: 2, dashboardPort: 0 });
  base = await localDashboardUrl();
});

after(async () => {
  await browser?.close();
  await ray.shutdown();
});

const text = (testid: string): Promise<string> => page.getByTestId(testid).innerText();

const shot = (name: string): Promise<void> => screenshot(page, name);

/** Waits until the live-update counter passes its current value. */
async function nextLiveUpdate(): Promise<void> {
  const seen = Number(await text("live-ticks"));
  await page.waitForFunction(`Number(document.querySelector('[data-testid="live-ticks"]')?.textContent) > ${seen}`);
}

/** Waits until an element's whole text is `expected`. */
const showsText = (testid: string, expected: string | RegExp): Promise<void> => pageShowsText(page, testid, expected);

test("each page shows the workload as the state API sees it, and updates live", { timeout: 120_000 }, async () => {
  assert.deepEqual(await ray.get(Array.from({ length: 30 }, (_, i) => double.remote(i))), Array.from({ length: 30 }, (_, i) => i * 2));
  const failing = fails.remote(42);
  await assert.rejects(ray.get(failing), ray.RayTaskError);
  const Counter = ray.remote(
    class Counter {
      n = 0;
      inc(): number {
        return ++this.n;
      }
    },
  );
  const counter = Counter.remote();
  await ray.get(counter.inc.remote());
  const big = ray.put(new Float64Array(1 << 16));
  const flags = await sharedInts();
  const busy = [held.remote(flags, 1), held.remote(flags, 2)];
  await until(flags, 1, 2);

  // Overview, while two tasks hold both CPU slots.
  const status = await ray.state.status();
  await page.goto(`${base}/#/overview`);
  await showsText("finished-total", String(status.finishedTotal));
  assert.equal(await text("failed-total"), String(status.failedTotal));
  assert.equal(await text("nodes-count"), "1");
  assert.equal(await text("tasks-running"), "2");
  assert.equal(await text("cpus-busy"), "2 / 2");
  assert.match(await text("recent-errors"), /bad input 42/);
  await nextLiveUpdate();
  await page.locator('[data-testid="chart-tasks"] canvas').waitFor();
  await shot("overview");

  // Live: new work (actor calls: the task slots are held) shows up without a reload.
  await ray.get([counter.inc.remote(), counter.inc.remote(), counter.inc.remote()]);
  const finished = (await ray.state.status()).finishedTotal;
  await showsText("finished-total", String(finished));

  // Tasks: summary by function, filter, then the failed task's detail.
  await page.getByTestId("nav-tasks").click();
  await page.getByTestId("task-summary").waitFor();
  const summary = await ray.state.summarizeTasks();
  const doubled = summary.byFunction.find((entry) => entry.name === "double");
  assert.match(await page.getByTestId("task-summary").locator("tr", { hasText: "double" }).innerText(), new RegExp(`\\b${doubled?.total}\\b`));
  const listed = await ray.state.listTasks();
  await showsText("tasks-total", new RegExp(`of ${listed.total}$`));
  await shot("tasks");
  await page.getByTestId("filter-state").selectOption("failed");
  await page.getByTestId(`task-link-${failing.id}`).click();
  await page.getByTestId("task-error").waitFor();
  assert.match(await text("task-error"), /bad input 42/);
  assert.match(await text("task-detail"), /failed/);
  await shot("task-failed");

  // Actors.
  await page.getByTestId("nav-actors").click();
  await page.getByTestId("actors-table").waitFor();
  assert.match(await text("actors-table"), /Counter\s+Counter\s+alive/);
  await shot("actors");

  // Nodes and workers: the two held tasks run on the two task workers.
  await page.getByTestId("nav-nodes").click();
  await page.getByTestId("workers-table").waitFor();
  assert.match(await text("nodes-table"), /2 \/ 2/);
  const workers = await text("workers-table");
  for (const ref of busy) assert.match(workers, new RegExp(`\\b${ref.id}\\b`));
  await shot("nodes");

  // Objects and memory.
  await page.getByTestId("nav-objects").click();
  await page.getByTestId("objects-table").waitFor();
  assert.match(await page.getByTestId("objects-table").locator("tr", { hasText: "512.0 KiB" }).innerText(), new RegExp(`^${big.id}\\s`));
  await shot("objects");

  release(flags);
  await ray.get(busy);

  // Live logs: a line printed after the page opened arrives over the stream.
  await page.getByTestId("nav-logs").click();
  await page.getByTestId("logs").waitFor();
  const marker = `marker-${Date.now()}`;
  await ray.get(talks.remote(marker));
  await page.getByTestId("logs").getByText(marker).waitFor();
  await shot("logs");

  // Timeline: one track per task worker that ran something.
  await page.getByTestId("nav-timeline").click();
  await page.getByTestId("timeline").waitFor();
  assert.match(await text("timeline"), /task-0/);
  assert.ok((await page.locator('[data-testid="timeline"] .span').count()) > 0);
  await shot("timeline");
});

test("a line printed while the logs page loads its history is kept when the history arrives", async () => {
  const before = `before-${Date.now()}`;
  await ray.get(talks.remote(before));
  let releaseHistory = (): void => undefined;
  const history = new Promise<void>((resolve) => (releaseHistory = resolve));
  let historyAnswered = (): void => undefined;
  const answered = new Promise<void>((resolve) => (historyAnswered = resolve));
  // The server answers the history request at once; the page gets that answer only after a newer line arrived live.
  await page.route("**/api/logs*", async (route) => {
    const response = await route.fetch();
    historyAnswered();
    await history;
    await route.fulfill({ response });
  });
  try {
    await page.goto(`${base}/#/logs`);
    await answered;
    const during = `during-${Date.now()}`;
    await ray.get(talks.remote(during));
    await page.getByTestId("logs").getByText(during).waitFor();
    releaseHistory();
    await page.getByTestId("logs").getByText(before).waitFor();
    const shown = await text("logs");
    assert.equal(shown.split(during).length - 1, 1, "the live line stays, once, after the history arrived");
    assert.ok(shown.indexOf(before) < shown.indexOf(during), "the history goes before the live line");
  } finally {
    releaseHistory();
    await page.unroute("**/api/logs*");
  }
});

test("the dashboard is read-only and refuses foreign Host headers", async () => {
  const post = await fetch(`${base}/api/tasks`, { method: "POST", body: "{}" });
  assert.equal(post.status, 405);
  const rebound = await new Promise<number | undefined>((resolve, reject) => {
    request(`${base}/api/tasks`, { headers: { host: "attacker.example" } }, (response) => {
      response.resume();
      resolve(response.statusCode);
    })
      .on("error", reject)
      .end();
  });
  assert.equal(rebound, 403);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^rayts_tasks_finished_total \d+$/m);
});
