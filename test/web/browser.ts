// The browser side of the UI's tests: Debian's chromium through playwright-core, pages that
// record any request off their own server, and the small HTTP helper the tests post with.
import assert from "node:assert/strict";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import type { Harness } from "../server/harness.ts";

export const CHROMIUM = "/usr/bin/chromium";

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root has no user namespace sandbox here.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/** A page that records every request it makes that is not to `origin`. */
export async function openPage(
  browser: Browser,
  origin: string,
): Promise<{ page: Page; outside: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  const outside: string[] = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:") && !url.startsWith("blob:"))
      outside.push(url);
  });
  page.on("pageerror", (e) => outside.push(`page error: ${e.message}`));
  return { page, outside };
}

/**
 * Runs `fn` on a new page at `origin + path`, then requires that the page asked nothing of
 * any other origin and raised no error; the page is closed also when `fn` fails.
 */
export async function visit(
  browser: Browser,
  origin: string,
  path: string,
  fn: (page: Page) => Promise<void>,
): Promise<void> {
  const { page, outside } = await openPage(browser, origin);
  try {
    await page.goto(`${origin}${path}`);
    await fn(page);
    assert.deepEqual(outside, []);
  } finally {
    await page.close();
  }
}

/** What a locator's element says (its text content). */
export async function text(l: Locator): Promise<string> {
  return (await l.textContent()) ?? "";
}

export async function post(h: Harness, path: string, body: unknown) {
  const r = await h.request("POST", path, { body });
  assert.ok(r.status < 300, `${path}: ${r.status} ${r.text}`);
  return r.json;
}
