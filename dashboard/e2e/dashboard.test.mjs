// Drives Conveyor's dashboard in a real browser (Debian's chromium through
// playwright-core): submits the example batch job from the form, watches
// its progress bar reach 100 %, reads its logs, cancels a long job and
// retries it, and screenshots each page.
//
//   node dashboard.test.mjs BASE_URL SCREENSHOT_DIR
//
// Run by TestDashboardBrowser in internal/e2e, which starts `conveyor serve`
// with examples/conveyor.yaml. Exits non-zero on the first failed check.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node dashboard.test.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}
const timeout = 30_000;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-chromium-"));
// A persistent context on a fresh profile directory: a clean --user-data-dir.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout,
  viewport: { width: 1200, height: 900 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const errors = [];
let step = "start";
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text() + " " + JSON.stringify(m.location())); });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(r.status() + " " + r.url()); });
  const shot = async (name) => {
    const file = path.join(shots, name + ".png");
    await page.screenshot({ path: file, fullPage: true });
    console.log("screenshot " + file);
  };

  step = "overview";
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Algorithms" }).waitFor();
  const batchRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: "batch", exact: true }) });
  await batchRow.waitFor();
  await page.getByRole("heading", { name: "Runners" }).waitFor();
  await page.locator("table.runners td.busy").first().waitFor(); // a live runner with busy / capacity

  // The first Tab reaches the skip link.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");

  step = "submit form";
  await batchRow.getByRole("link", { name: /submit/ }).click();
  await page.getByRole("heading", { name: /Submit a job of batch/ }).waitFor();
  // The form is made from the batch function's type hints: items (integer),
  // seconds (number), both with defaults.
  await page.getByLabel("items").fill("20");
  await page.getByLabel("seconds").fill("2");
  await shot("submit");
  await page.getByRole("button", { name: "Submit" }).click();

  step = "job detail: progress";
  await page.waitForURL(/#\/job\//);
  const bar = page.getByRole("progressbar");
  await bar.waitFor();
  const seen = new Set();
  const deadline = Date.now() + timeout;
  let midway = false;
  for (;;) {
    const v = Number(await bar.getAttribute("aria-valuenow"));
    seen.add(v);
    if (v === 100) break;
    if (!midway && v >= 30 && v <= 70) {
      midway = true;
      await shot("job-running");
    }
    assert.ok(Date.now() < deadline, "progress stuck at " + v + "%; saw " + [...seen]);
    await page.waitForTimeout(50); // polling the page, not waiting for an event
  }
  assert.ok([...seen].some((v) => v > 0 && v < 100), "the bar jumped to 100% without moving: " + [...seen]);
  await page.locator(".status", { hasText: "succeeded" }).first().waitFor();
  await page.getByRole("heading", { name: "Output" }).waitFor();

  step = "job detail: logs";
  const log = page.getByRole("log");
  await log.getByText("starting a batch of 20 items").waitFor();
  await shot("job");
  const doneURL = page.url();

  step = "cancel, by keyboard";
  await page.goto(base + "/#/submit/batch");
  await page.getByLabel("seconds").fill("600");
  await page.getByLabel("seconds").press("Enter"); // submits the form
  await page.waitForURL((u) => u.href !== doneURL && /#\/job\//.test(u.href));
  const longURL = page.url();
  await page.locator(".status", { hasText: "running" }).first().waitFor();
  await page.getByRole("button", { name: "Cancel" }).focus();
  await page.keyboard.press("Enter");
  await page.locator(".status", { hasText: "canceled" }).first().waitFor();

  step = "retry";
  await page.getByRole("button", { name: "Retry" }).click();
  await page.waitForURL((u) => u.href !== longURL && /#\/job\//.test(u.href));
  await page.getByRole("heading", { name: "Input" }).waitFor();
  assert.match(await page.locator("pre.input").innerText(), /"seconds": 600/);
  await page.getByRole("link", { name: "retry of" }).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.locator(".status", { hasText: "canceled" }).first().waitFor();

  step = "failed job";
  const bad = await page.request.post(base + "/v1/algorithms/batch/jobs", { data: { items: 0 } });
  assert.equal(bad.status(), 202);
  await page.goto(base + "/#/job/" + (await bad.json()).id);
  await page.locator(".status", { hasText: "failed" }).first().waitFor();
  await page.getByRole("heading", { name: "Error" }).waitFor();
  await page.getByText("items must be at least 1").first().waitFor();
  await page.getByRole("button", { name: "Retry" }).waitFor();
  await shot("failed-job");

  step = "jobs list";
  await page.goto(base + "/#/jobs?algorithm=batch");
  await page.getByRole("heading", { name: "Jobs" }).waitFor();
  const rows = page.locator("table.jobs tbody tr");
  await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length >= 4);
  assert.equal(await rows.count(), 4);
  await page.locator("table.jobs .status", { hasText: "succeeded" }).waitFor();
  // Live: a job submitted now appears without a reload.
  const resp = await page.request.post(base + "/v1/algorithms/batch/jobs", { data: { items: 1, seconds: 0 } });
  assert.equal(resp.status(), 202);
  const fresh = (await resp.json()).id;
  await page.getByRole("link", { name: fresh }).waitFor();
  await shot("jobs");

  step = "jobs list: pages";
  // 51 quick jobs: one more than a page of the jobs list.
  await Promise.all(Array.from({ length: 51 }, (_, i) =>
    page.request.post(base + "/v1/algorithms/is_prime/jobs", { data: { n: 1000 + i } }).then((r) => assert.equal(r.status(), 202))));
  await page.goto(base + "/#/jobs?algorithm=is_prime");
  await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length === 50);
  await page.getByRole("link", { name: "Older jobs" }).click();
  await page.getByRole("link", { name: "Newest" }).waitFor();
  assert.equal(await rows.count(), 1);
  await page.getByRole("link", { name: "Newest" }).click();
  await page.getByRole("link", { name: "Older jobs" }).waitFor();

  step = "overview again";
  await page.goto(base + "/");
  await page.locator("svg.spark").first().waitFor();
  // The sparkline counts the batch jobs that finished this hour.
  await page.waitForFunction(() => /^[1-9]/.test(document.querySelector("tr[data-algorithm=batch] svg.spark")?.getAttribute("aria-label")));
  await shot("overview");

  assert.deepEqual(errors, [], "errors in the page");
  console.log("ok");
} catch (err) {
  console.error("FAIL at " + step + ": " + (err && err.stack ? err.stack : err));
  if (errors.length) console.error("page errors:\n" + errors.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
