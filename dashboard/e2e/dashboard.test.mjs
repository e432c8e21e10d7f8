// Drives Conveyor's dashboard in a real browser (Debian's chromium through
// playwright-core) and screenshots each page.
//
//   node dashboard.test.mjs BASE_URL SCREENSHOT_DIR open|tokens
//
// open: a server without tokens. Counts a pipeline's stages on the
// overview, and says why a job that requires labels no runner has waits. Submits the example batch job from the form, watches its progress bar reach 100 %, reads its logs, cancels a
// long job after confirming and retries it, pages through the jobs list
// (durations; job summaries only), fills a form with its schema's
// defaults, wraps a long log line, says a finished job has no log lines,
// lists a job's artifacts and downloads one by its link, submits train
// with a CSV picked in the form (uploaded first) and finds its model among
// the artifacts, and opens /docs without a 404.
//
// tokens: a server with the tokens in CONVEYOR_FULL_TOKEN (submit, read,
// cancel) and CONVEYOR_READ_TOKEN (read). Asks for a token, refuses a wrong
// one, shows a read-only token no submit, cancel or retry, lets the full
// token submit a job and follow it live, downloads an artifact with the
// token, and forgets the token on log-out.
//
// Run by TestDashboardBrowser in internal/e2e, which starts `conveyor serve`
// with examples/conveyor.yaml and one more algorithm, choices. Each check
// runs on its own; the script exits non-zero when any failed.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [base, shots, mode = "open"] = process.argv.slice(2);
if (!base || !shots || !["open", "tokens"].includes(mode)) {
  console.error("usage: node dashboard.test.mjs BASE_URL SCREENSHOT_DIR open|tokens");
  process.exit(2);
}
const full = process.env.CONVEYOR_FULL_TOKEN, reader = process.env.CONVEYOR_READ_TOKEN;
if (mode === "tokens" && (!full || !reader)) {
  console.error("tokens: set CONVEYOR_FULL_TOKEN and CONVEYOR_READ_TOKEN");
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
const failures = [];
const requested = []; // every URL the page asked for
let step = "start";
// A 401 is expected only where the dashboard asks who a token is.
const expected = (status, url) => mode === "tokens" && status === 401 && new URL(url).pathname === "/v1/whoami";
const page = await browser.newPage();
page.setDefaultTimeout(timeout);
page.on("pageerror", (e) => errors.push(step + ": " + String(e)));
page.on("console", (m) => {
  if (m.type() !== "error") return;
  if (mode === "tokens" && /status of 401/.test(m.text()) && /\/v1\/whoami$/.test(m.location().url || "")) return;
  errors.push(step + ": " + m.text() + " " + JSON.stringify(m.location()));
});
page.on("request", (r) => requested.push(r.url()));
page.on("response", (r) => { if (r.status() >= 400 && !expected(r.status(), r.url())) errors.push(step + ": " + r.status() + " " + r.url()); });
const shot = async (name) => {
  const file = path.join(shots, mode + "-" + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("screenshot " + file);
};

// check runs one check: a failure is reported and the next check runs.
async function check(name, fn) {
  step = name;
  try {
    await fn();
    console.log("pass: " + name);
  } catch (err) {
    failures.push(name);
    console.error("FAIL: " + name + ": " + (err && err.stack ? err.stack : err));
  }
}

// call calls the API as the test, with the full token when there are tokens.
const auth = mode === "tokens" ? { Authorization: "Bearer " + full } : {};
async function call(method, url, data) {
  const r = await page.request.fetch(base + url, { method, data, headers: { ...auth, "Content-Type": "application/json" } });
  assert.ok(r.status() < 300, method + " " + url + ": " + r.status() + " " + (await r.text()));
  return r.json();
}

const batchRow = () => page.getByRole("row").filter({ has: page.getByRole("link", { name: "batch", exact: true }) });

// followProgress waits for the job page's progress bar to reach 100 %,
// having seen it between.
async function followProgress() {
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
  await page.getByRole("log").getByText("starting a batch of 20 items").waitFor();
}

// submitBatch submits a batch job of 20 items over 2 s from the form.
async function submitBatch() {
  await batchRow().getByRole("link", { name: /submit/ }).click();
  await page.getByRole("heading", { name: /Submit a job of batch/ }).waitFor();
  // The form is made from the batch function's type hints: items (integer),
  // seconds (number), both with defaults.
  await page.getByLabel("items").fill("20");
  await page.getByLabel("seconds").fill("2");
  await shot("submit");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.waitForURL(/#\/job\//);
}

const stored = () => page.evaluate(() => sessionStorage.getItem("conveyor.token"));

async function login(token) {
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
}

try {
  if (mode === "open") {
    await check("open API: no login, the overview", async () => {
      await page.goto(base + "/");
      await page.getByRole("heading", { name: "Algorithms" }).waitFor();
      await batchRow().waitFor();
      await page.getByRole("heading", { name: "Runners" }).waitFor();
      await page.locator("table.runners td.busy").first().waitFor(); // a live runner with busy / capacity
      assert.equal(await page.getByRole("button", { name: "Log out" }).count(), 0);
      assert.equal(await page.getByRole("heading", { name: "Log in" }).count(), 0);
      // The first Tab reaches the skip link.
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
    });

    await check("overview counts the stages run inside a pipeline", async () => {
      const j = await call("POST", "/v1/jobs?wait=30s", { algorithm: "number_facts", input: { n: 12 } });
      assert.equal(j.status, "succeeded", JSON.stringify(j));
      await page.goto(base + "/");
      const row = page.locator("tr[data-algorithm=factorize]");
      await row.locator(".stage-count", { hasText: "as a stage" }).first().waitFor();
      assert.match(await row.innerText(), /\+\d+ as a stage/);
    });

    await check("overview says why a job no runner can take waits", async () => {
      const j = await call("POST", "/v1/jobs", { algorithm: "factorize", input: { n: 12 }, requires: { model: "nowhere" } });
      await page.goto(base + "/");
      const note = page.locator("tr[data-algorithm=factorize] .unmet");
      await note.waitFor();
      assert.equal(await note.innerText(), "1 job waiting: no live runner of factorize has labels model=nowhere.");
      await page.goto(base + "/#/job/" + j.id);
      await page.locator(".hint", { hasText: "requires model=nowhere" }).waitFor();
      await call("POST", "/v1/jobs/" + j.id + "/cancel");
    });

    await check("overview shows batch sizes and the load of each GPU", async () => {
      const sentences = ["the cat sat", "on the mat", "a dog ran", "far away", "the end"];
      const { jobs } = await call("POST", "/v1/jobs/batch", { jobs: sentences.map((s) => ({ algorithm: "embed", input: s })) });
      for (const j of jobs) assert.equal((await call("GET", "/v1/jobs/" + j.id + "?wait=30s")).status, "succeeded");
      await page.goto(base + "/");
      // The runners' records are written each heartbeat: the page renders
      // them again every 5 s.
      await page.locator("tr[data-algorithm=embed] .batch-sizes", { hasText: /mean \d/ }).waitFor();
      await page.locator("table.runners td.devices", { hasText: /GPU 0: (\d+ jobs?|free)/ }).waitFor();
    });

    await check("submit form, progress and logs", async () => {
      await page.goto(base + "/");
      await submitBatch();
      await followProgress();
      await shot("job");
    });

    let longURL = null;
    await check("cancel asks for confirmation, by keyboard", async () => {
      await page.goto(base + "/#/submit/batch");
      const before = page.url();
      await page.getByLabel("seconds").fill("600");
      await page.getByLabel("seconds").press("Enter"); // submits the form
      await page.waitForURL((u) => u.href !== before && /#\/job\//.test(u.href));
      longURL = page.url();
      const id = longURL.split("/").pop();
      await page.locator(".status", { hasText: "running" }).first().waitFor();
      await page.getByRole("button", { name: "Cancel", exact: true }).focus();
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog");
      await dialog.waitFor({ timeout: 5000 });
      assert.match(await dialog.innerText(), new RegExp("Cancel job " + id));
      await shot("cancel-confirm");
      // The safe answer has the focus: Enter keeps the job.
      assert.equal(await page.evaluate(() => document.activeElement.textContent), "Keep it");
      await page.keyboard.press("Enter");
      await dialog.waitFor({ state: "detached" });
      assert.equal((await call("GET", "/v1/jobs/" + id)).status, "running");
      // Escape keeps it too.
      await page.getByRole("button", { name: "Cancel", exact: true }).click();
      await dialog.waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      assert.equal((await call("GET", "/v1/jobs/" + id)).status, "running");
      await page.getByRole("button", { name: "Cancel", exact: true }).focus();
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter"); // Cancel job
      await page.locator(".status", { hasText: "canceled" }).first().waitFor();
    });

    await check("retry", async () => {
      assert.ok(longURL, "no canceled job to retry");
      await page.goto(longURL);
      await page.getByRole("button", { name: "Retry" }).click();
      await page.waitForURL((u) => u.href !== longURL && /#\/job\//.test(u.href));
      await page.getByRole("heading", { name: "Input" }).waitFor();
      assert.match(await page.locator("pre.input").innerText(), /"seconds": 600/);
      await page.getByRole("link", { name: "retry of" }).waitFor();
      await page.getByRole("button", { name: "Cancel", exact: true }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Cancel job" }).click();
      await page.locator(".status", { hasText: "canceled" }).first().waitFor();
    });

    await check("failed job", async () => {
      const bad = await call("POST", "/v1/algorithms/batch/jobs", { items: 0 });
      await page.goto(base + "/#/job/" + bad.id);
      await page.locator(".status", { hasText: "failed" }).first().waitFor();
      await page.getByRole("heading", { name: "Error" }).waitFor();
      await page.getByText("items must be at least 1").first().waitFor();
      await page.getByRole("button", { name: "Retry" }).waitFor();
      await shot("failed-job");
    });

    await check("select jobs: retry, cancel, delete", async () => {
      // Not is_prime, nor batch, whose jobs later checks count.
      const a = await call("POST", "/v1/algorithms/factorize/jobs?wait=10s", { n: 12 });
      const b = await call("POST", "/v1/algorithms/factorize/jobs?wait=10s", { n: 15 });
      const long = await call("POST", "/v1/algorithms/sleep/jobs", { seconds: 600 });
      await page.goto(base + "/#/jobs");
      const box = (id) => page.getByRole("checkbox", { name: "select " + id });
      await box(a.id).check();
      await box(b.id).check();
      await page.getByRole("button", { name: "Retry (2)" }).click();
      await page.getByText("Retried 2 jobs.").waitFor();
      await box(long.id).check();
      await page.getByRole("button", { name: "Cancel (1)" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Cancel jobs" }).click();
      await page.getByText("Canceled 1 job.").waitFor();
      await box(a.id).check();
      await page.getByRole("button", { name: "Delete (1)" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete jobs" }).click();
      await page.getByText("Deleted 1 job.").waitFor();
      await shot("jobs-selected");
      const r = await page.request.fetch(base + "/v1/jobs/" + a.id, { headers: auth });
      assert.equal(r.status(), 404);
      assert.equal((await call("GET", "/v1/jobs/" + long.id)).status, "canceled");
    });

    await check("delete a finished job", async () => {
      const j = await call("POST", "/v1/algorithms/is_prime/jobs?wait=10s", { n: 97 });
      await page.goto(base + "/#/job/" + j.id);
      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete job" }).click();
      await page.waitForURL((u) => /#\/jobs$/.test(u.href));
      const r = await page.request.fetch(base + "/v1/jobs/" + j.id, { headers: auth });
      assert.equal(r.status(), 404);
    });

    await check("a job's artifacts: listed, and downloaded by their links", async () => {
      const j = await call("POST", "/v1/algorithms/list_primes/jobs?wait=10s", { below: 20 });
      assert.equal(j.status, "succeeded");
      await page.goto(base + "/#/job/" + j.id);
      await page.getByRole("heading", { name: "Artifacts" }).waitFor();
      const link = page.getByRole("link", { name: "primes.txt" });
      assert.equal(await link.getAttribute("href"), "/v1/jobs/" + j.id + "/artifacts/primes.txt");
      await shot("job-artifacts");
      const [dl] = await Promise.all([page.waitForEvent("download"), link.click()]);
      assert.equal(dl.suggestedFilename(), "primes.txt");
      const file = await dl.path();
      assert.equal(fs.readFileSync(file, "utf8"), "2\n3\n5\n7\n11\n13\n17\n19\n");
    });

    await check("submit a file from the form: uploaded, trained on, the model an artifact", async () => {
      await page.goto(base + "/#/submit/train");
      await page.getByRole("heading", { name: /Submit a job of train/ }).waitFor();
      await page.getByLabel("data").setInputFiles({ name: "small.csv", mimeType: "text/csv", buffer: Buffer.from("x,y\n1,2\n3,4\n5,6\n") });
      await page.getByLabel("target").fill("y");
      await page.getByRole("button", { name: "Submit" }).click();
      await page.waitForURL(/#\/job\//);
      await page.locator(".status", { hasText: "succeeded" }).first().waitFor({ timeout });
      await page.getByRole("link", { name: "model.json" }).waitFor();
      await shot("job-train");
      const j = await call("GET", "/v1/jobs/" + page.url().split("#/job/")[1]);
      assert.equal(j.output.rows, 3);
      assert.equal(j.input.data.$file.length, 26);
      assert.deepEqual(j.artifacts.map((a) => a.name), ["model.json"]);
    });

    await check("a finished job without logs: no log lines, not yet", async () => {
      const j = await call("POST", "/v1/algorithms/is_prime/jobs?wait=10s", { n: 91 });
      assert.equal(j.status, "succeeded");
      await page.goto(base + "/#/job/" + j.id);
      await page.getByRole("heading", { name: "Output" }).waitFor();
      await page.getByText("No log lines.", { exact: true }).waitFor({ timeout: 5000 });
      assert.equal(await page.getByText("No log lines yet.").count(), 0);
    });

    await check("jobs list: live, with durations", async () => {
      await page.goto(base + "/#/jobs?algorithm=batch");
      await page.getByRole("heading", { name: "Jobs" }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length >= 4);
      assert.equal(await page.locator("table.jobs tbody tr").count(), 4);
      await page.locator("table.jobs .status", { hasText: "succeeded" }).waitFor();
      assert.ok(await page.locator("table.jobs th", { hasText: "duration" }).count() === 1, "no duration column");
      const ran = page.locator("table.jobs tbody tr").filter({ hasText: "succeeded" }).locator("td.duration");
      assert.match(await ran.innerText({ timeout: 5000 }), /^\d+(\.\d)? s$/, "the 2 s batch job's duration");
      // Live: a job submitted now appears without a reload.
      const fresh = await call("POST", "/v1/algorithms/batch/jobs", { items: 1, seconds: 0 });
      await page.getByRole("link", { name: fresh.id }).waitFor();
      await shot("jobs");
    });

    await check("jobs list: needs only job summaries", async () => {
      // GET /v1/jobs answers summaries (conveyor.JobSummary): no input or
      // output; the list must not need more than their fields, even fewer.
      const summary = ["id", "algorithm", "status", "priority", "labels", "tenant", "created_at", "started_at", "finished_at",
        "attempt", "progress", "error", "stage", "duration"];
      const list = /\/v1\/jobs\?/;
      await page.route(list, async (route) => {
        const resp = await route.fetch();
        const body = await resp.json();
        body.jobs = body.jobs.map((j) => Object.fromEntries(Object.entries(j).filter(([k]) => summary.includes(k))));
        await route.fulfill({ response: resp, json: body });
      });
      try {
        await page.goto("about:blank"); // a fresh load, not a hash change on the same list
        await page.goto(base + "/#/jobs?algorithm=batch");
        await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length >= 4);
        const text = await page.locator("table.jobs").innerText();
        assert.doesNotMatch(text, /undefined|NaN|null|\[object/, "a field the summary lacks:\n" + text);
        const ran = page.locator("table.jobs tbody tr").filter({ hasText: "succeeded" }).first().locator("td.duration");
        assert.match(await ran.innerText({ timeout: 5000 }), /\d/);
      } finally {
        await page.unroute(list);
      }
    });

    await check("jobs list: pages", async () => {
      // 51 quick jobs: one more than a page of the jobs list.
      await Promise.all(Array.from({ length: 51 }, (_, i) => call("POST", "/v1/algorithms/is_prime/jobs", { n: 1000 + i })));
      await page.goto(base + "/#/jobs?algorithm=is_prime");
      await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length === 50);
      await page.getByRole("link", { name: "Older jobs" }).click();
      await page.getByRole("link", { name: "Newest" }).waitFor();
      assert.equal(await page.locator("table.jobs tbody tr").count(), 2); // and the one of the check before
      await page.getByRole("link", { name: "Newest" }).click();
      await page.getByRole("link", { name: "Older jobs" }).waitFor();
    });

    await check("jobs list: search by label and creation time", async () => {
      const tagged = await call("POST", "/v1/jobs", { algorithm: "is_prime", input: { n: 97 }, labels: { team: "search" } });
      await page.goto(base + "/#/jobs");
      await page.getByLabel("Label").fill("team=search");
      await page.getByLabel("Label").press("Enter");
      await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length === 1);
      assert.match(await page.locator("table.jobs tbody tr").innerText(), new RegExp(tagged.id));
      assert.match(await page.locator("table.jobs tbody tr").innerText(), /team=search/);
      await page.getByLabel("Created within").selectOption("1h");
      await page.waitForURL(/since=1h/);
      await page.waitForFunction(() => document.querySelectorAll("table.jobs tbody tr").length === 1);
      await shot("jobs-search");
    });

    await check("submit form: filled with the schema's defaults", async () => {
      await page.goto(base + "/#/submit/choices");
      await page.getByRole("heading", { name: /Submit a job of choices/ }).waitFor();
      const chosen = (id) => page.evaluate((id) => document.getElementById(id).selectedOptions[0]?.textContent ?? "(nothing)", id);
      await shot("submit-defaults");
      assert.equal(await chosen("field-mode"), "exact", "the string choice");
      assert.equal(await chosen("field-level"), "2", "the integer choice");
      assert.equal(await chosen("field-verbose"), "true", "the boolean");
      assert.equal(await page.getByLabel("count").inputValue(), "3");
      assert.equal(await page.getByLabel("note").inputValue(), "hello");
      await page.getByRole("button", { name: "Submit" }).click();
      await page.waitForURL(/#\/job\//);
      await page.getByRole("heading", { name: "Output" }).waitFor();
      assert.deepEqual(JSON.parse(await page.locator("pre.output").innerText()), { mode: "exact", level: 2, verbose: true, count: 3, note: "hello" });
    });

    await check("long log lines wrap", async () => {
      const j = await call("POST", "/v1/algorithms/choices/jobs", {});
      await page.goto(base + "/#/job/" + j.id);
      const log = page.getByRole("log");
      await log.getByText("long:xxx").waitFor();
      await shot("job-long-log");
      const [scroll, client, pageScroll, pageWidth] = await log.evaluate((e) =>
        [e.scrollWidth, e.clientWidth, document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= client + 1, "the log scrolls sideways: " + scroll + " > " + client);
      assert.ok(pageScroll <= pageWidth, "the page scrolls sideways: " + pageScroll + " > " + pageWidth);
    });

    await check("the API docs: an icon, not a 404 for /favicon.ico", async () => {
      await page.goto(base + "/docs");
      await page.locator("details.op").first().waitFor();
      // Headless chromium asks for no icon: fetch the one a browser would,
      // the linked icon or else /favicon.ico.
      const icon = await page.evaluate(() => document.querySelector("link[rel~=icon]")?.href ?? new URL("/favicon.ico", location.href).href);
      const r = await page.request.get(icon);
      assert.equal(r.status(), 200, icon);
      assert.match(r.headers()["content-type"], /^image\//, icon);
      await shot("docs");
    });

    await check("overview again: throughput", async () => {
      await page.goto(base + "/");
      await page.locator("svg.spark").first().waitFor();
      // The sparkline counts the batch jobs that finished this hour.
      await page.waitForFunction(() => /^[1-9]/.test(document.querySelector("tr[data-algorithm=batch] svg.spark")?.getAttribute("aria-label")));
      await shot("overview");
    });

    await check("schedules: next and last firings, run now, pause", async () => {
      await call("POST", "/v1/schedules", { name: "nightly", algorithm: "is_prime", input: { n: 7 }, cron: "0 2 * * *", timezone: "Europe/Paris" });
      await call("POST", "/v1/schedules", { name: "often", algorithm: "is_prime", input: { n: 11 }, every: "1h" });
      await page.goto(base + "/#/schedules");
      const row = (name) => page.locator("tr[data-name=" + name + "]");
      await row("nightly").waitFor();
      assert.match(await row("nightly").innerText(), /cron 0 2 \* \* \* \(Europe\/Paris\)/);
      assert.notEqual((await row("often").locator("td.next").innerText()).trim(), "", "no next firing shown");
      await row("often").getByRole("button", { name: "Run now" }).click();
      await page.waitForURL(/#\/job\//);
      await page.locator(".status", { hasText: "succeeded" }).first().waitFor();
      await page.goto(base + "/#/schedules");
      await row("often").getByRole("link", { name: /^[0-9A-Z]{26}$/ }).waitFor(); // its last job
      await row("often").getByRole("button", { name: "Pause" }).click();
      await row("often").locator("td.next", { hasText: "paused" }).waitFor();
      await shot("schedules");
      await row("often").getByRole("link", { name: "often" }).click();
      await page.locator("table.jobs").getByRole("link", { name: /^[0-9A-Z]{26}$/ }).first().waitFor();
    });
  } else {
    await check("login prompt", async () => {
      await page.goto(base + "/");
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      assert.equal(await page.getByLabel("API token").getAttribute("type"), "password");
      assert.equal(await page.getByRole("heading", { name: "Algorithms" }).count(), 0);
      // Keyboard users land in the token field.
      assert.equal(await page.evaluate(() => document.activeElement.id), "token");
      await shot("login");
    });

    await check("a wrong token is refused", async () => {
      await login("not-a-token");
      await page.getByText("That token was not accepted.").waitFor();
      assert.equal(await stored(), null);
      await shot("login-refused");
    });

    await check("a read-only token: no submit, cancel or retry", async () => {
      await page.goto(base + "/");
      await login(reader);
      await batchRow().waitFor();
      assert.match(await page.locator("#who").innerText(), /viewer.*read/s);
      assert.equal(await page.getByRole("link", { name: /submit/ }).count(), 0, "submit links");
      await shot("overview-read-only");
      const long = await call("POST", "/v1/algorithms/batch/jobs", { items: 100, seconds: 600 });
      await page.goto(base + "/#/job/" + long.id);
      await page.locator(".status", { hasText: "running" }).first().waitFor();
      assert.equal(await page.getByRole("button", { name: "Cancel", exact: true }).count(), 0, "a Cancel button");
      await shot("job-read-only");
      await call("POST", "/v1/jobs/" + long.id + "/cancel");
      await page.locator(".status", { hasText: "canceled" }).first().waitFor();
      assert.equal(await page.getByRole("button", { name: "Retry" }).count(), 0, "a Retry button");
      assert.equal(await page.getByRole("button", { name: "Delete" }).count(), 0, "a Delete button");
      await page.goto(base + "/#/submit/batch");
      await page.getByText("may not submit jobs of batch").waitFor();
      assert.equal(await page.getByRole("button", { name: "Submit" }).count(), 0);
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
    });

    await check("a full token submits a job and follows it live", async () => {
      await page.goto(base + "/");
      await login(full);
      await batchRow().waitFor();
      assert.match(await page.locator("#who").innerText(), /ops.*submit, read, cancel/s);
      assert.equal(await stored(), full);
      await submitBatch();
      await followProgress();
      await shot("job");
      await page.goto(base + "/#/jobs");
      await page.locator("table.jobs .status", { hasText: "succeeded" }).first().waitFor();
      // Live with a token: a job submitted now appears without a reload.
      const fresh = await call("POST", "/v1/algorithms/is_prime/jobs", { n: 97 });
      await page.getByRole("link", { name: fresh.id }).waitFor();
    });

    await check("an artifact downloaded with the token", async () => {
      const j = await call("POST", "/v1/algorithms/list_primes/jobs?wait=10s", { below: 10 });
      await page.goto(base + "/#/job/" + j.id);
      const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "primes.txt" }).click()]);
      assert.equal(dl.suggestedFilename(), "primes.txt");
      assert.equal(fs.readFileSync(await dl.path(), "utf8"), "2\n3\n5\n7\n");
    });

    await check("the API docs with the token", async () => {
      await page.goto(base + "/docs");
      await page.locator("details.op").first().waitFor();
    });

    await check("the token never in a URL or a cookie", async () => {
      for (const t of [full, reader]) assert.ok(!requested.some((u) => u.includes(t)), "a URL has a token");
      assert.deepEqual(await browser.cookies(), []);
    });

    await check("log-out forgets the token", async () => {
      await page.goto(base + "/");
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      assert.equal(await stored(), null);
      await page.reload();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await shot("logged-out");
    });

    await check("a token the API no longer takes asks for another", async () => {
      await page.evaluate(() => sessionStorage.setItem("conveyor.token", "revoked-token"));
      await page.reload();
      await page.getByText("The API refused the token").waitFor();
      assert.equal(await stored(), null);
    });
  }
  step = "end";
  if (errors.length) {
    failures.push("errors in the page");
    console.error("FAIL: errors in the page:\n" + errors.join("\n"));
  }
  if (failures.length) {
    console.error(failures.length + " failed: " + failures.join("; "));
    process.exitCode = 1;
  } else {
    console.log("ok");
  }
} catch (err) {
  console.error("FAIL at " + step + ": " + (err && err.stack ? err.stack : err));
  process.exitCode = 1;
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
