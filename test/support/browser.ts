/**
 * A headless Chromium (through playwright-core) for the dashboard's browser
 * tests, local and cluster: one persistent context with a fresh profile, a
 * page that fails the test on any uncaught page error, and the waits and
 * screenshots the tests share. Screenshots go to artifacts/dashboard/.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ensureDebianPackage } from "./system-package.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve("artifacts/dashboard");

/** An open browser: its one page, and `close` to end it and remove its profile. */
export interface Browser {
  readonly page: Page;
  close(): Promise<void>;
}

/** Starts headless Chromium (installing Debian's package when missing) with one page open. */
export async function openBrowser(): Promise<Browser> {
  ensureDebianPackage("chromium", CHROMIUM, "the dashboard's browser tests");
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), "rayts-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  } catch (error: unknown) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => {
    throw error;
  });
  return {
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the element with `testid` has exactly the text `expected` (or matches the pattern). */
export async function showsText(page: Page, testid: string, expected: string | RegExp): Promise<void> {
  const pattern = typeof expected === "string" ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`) : expected;
  await page.getByTestId(testid).filter({ hasText: pattern }).waitFor();
}

/** Saves a full-page screenshot as artifacts/dashboard/`name`.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  process.stderr.write(`${new Date().toISOString()} ${name}\n`);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
