"use strict";
// Conveyor's dashboard: plain JavaScript over the HTTP API, live through
// Server-Sent Events. Routes: #/ overview, #/jobs, #/job/ID, #/submit/ALGO.

const main = document.getElementById("main");
let closers = []; // event sources and timers of the current page

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

async function api(path, options = {}) {
  const resp = await fetch(path, options);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.detail || body.title || resp.statusText);
  return body;
}

const status = (s) => el("span", { class: "status " + s }, s);
const time = (t) => (t ? new Date(t).toLocaleString() : "");
const pct = (p) => (p ? Math.round(p.percent) + "%" + (p.message ? " " + p.message : "") : "");
const jobLink = (id) => el("a", { href: "#/job/" + id, class: "id" }, id);

// fill replaces the children of node, skipping null and undefined.
function fill(node, ...kids) {
  node.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
}

function page(...kids) {
  fill(main, ...kids);
}

// Overview: algorithms with queue counts and runners, live runners, recent jobs.
async function overview() {
  const [algs, runners, jobs] = await Promise.all([api("/v1/algorithms"), api("/v1/runners"), api("/v1/jobs?limit=15")]);
  const algRows = algs.algorithms.map((a) => el("tr", {},
    el("td", {}, el("a", { href: "#/jobs?algorithm=" + a.name }, a.name)), el("td", {}, a.kind),
    el("td", {}, String(a.queued)), el("td", {}, String(a.running)), el("td", {}, String(a.runners.length)),
    el("td", {}, a.description || ""), el("td", {}, el("a", { href: "#/submit/" + a.name }, "submit…"))));
  const runnerRows = runners.runners.map((r) => el("tr", {},
    el("td", {}, el("span", { class: "id" }, r.id)), el("td", {}, r.host),
    el("td", {}, r.busy + " / " + r.capacity), el("td", {}, r.algorithms.join(", ")), el("td", {}, time(r.last_seen))));
  page(
    el("h1", {}, "Overview"),
    el("h2", {}, "Algorithms"),
    el("table", {}, el("tr", {}, ...["name", "kind", "queued", "running", "runners", "description", ""].map((h) => el("th", {}, h))), ...algRows),
    el("h2", {}, "Runners"),
    runnerRows.length ? el("table", {}, el("tr", {}, ...["id", "host", "busy", "algorithms", "last seen"].map((h) => el("th", {}, h))), ...runnerRows)
      : el("p", { class: "hint" }, "No live runner."),
    el("h2", {}, "Recent jobs"), jobTable(jobs.jobs));
  liveRefresh("", overview);
}

// liveRefresh re-renders the page (at most twice a second) when a job changes.
function liveRefresh(algorithm, render) {
  const es = new EventSource("/v1/events" + (algorithm ? "?algorithm=" + encodeURIComponent(algorithm) : ""));
  let pending = null;
  const again = () => { if (!pending) pending = setTimeout(() => { pending = null; close(); render(); }, 500); };
  es.addEventListener("job", again);
  es.addEventListener("lagged", again);
  closers.push(() => { es.close(); clearTimeout(pending); });
}

function jobTable(jobs) {
  if (!jobs.length) return el("p", { class: "hint" }, "No jobs.");
  return el("table", {}, el("tr", {}, ...["id", "algorithm", "status", "attempt", "progress", "created"].map((h) => el("th", {}, h))),
    ...jobs.map((j) => el("tr", {}, el("td", {}, jobLink(j.id)), el("td", {}, j.algorithm), el("td", {}, status(j.status)),
      el("td", {}, j.attempt + "/" + j.max_attempts), el("td", {}, pct(j.progress)), el("td", {}, time(j.created_at)))));
}

// Jobs: filtered by algorithm and status, a page at a time.
async function jobs(params) {
  const q = new URLSearchParams(params);
  q.set("limit", "50");
  const list = await api("/v1/jobs?" + q);
  const algs = await api("/v1/algorithms");
  const select = (name, options) => el("select", { name, onchange: (e) => { params.set(name, e.target.value); params.delete("cursor"); location.hash = "#/jobs?" + params; } },
    ...["", ...options].map((o) => { const opt = el("option", { value: o }, o || "any"); if (params.get(name) === o) opt.selected = true; return opt; }));
  const more = list.next_cursor ? el("p", {}, el("a", { href: "#/jobs?" + new URLSearchParams({ ...Object.fromEntries(params), cursor: list.next_cursor }) }, "Older jobs →")) : null;
  page(el("h1", {}, "Jobs"),
    el("div", { class: "filters" },
      el("label", {}, "Algorithm ", select("algorithm", algs.algorithms.map((a) => a.name))),
      el("label", {}, "Status ", select("status", ["queued", "running", "succeeded", "failed", "canceled"]))),
    jobTable(list.jobs), more);
  if (!params.get("cursor")) liveRefresh(params.get("algorithm") || "", () => jobs(params));
}

// Job: live status, progress, logs; cancel.
async function job(id) {
  const j = await api("/v1/jobs/" + id);
  const head = el("div");
  const bar = el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, el("div", { style: "width:0%" }));
  const barText = el("p", { class: "hint" });
  const details = el("div");
  const log = el("pre", { class: "log" });
  const render = (j) => {
    fill(head, el("h1", {}, j.algorithm, " ", el("span", { class: "id" }, j.id)),
      el("p", {}, status(j.status), " attempt ", String(j.attempt), "/", String(j.max_attempts),
        j.runner ? " on " + j.runner : "", " ",
        j.status === "queued" || j.status === "running" ? el("button", { onclick: () => cancel(j.id) }, "Cancel") : null));
    const p = j.progress ? j.progress.percent : (j.status === "succeeded" ? 100 : 0);
    bar.firstChild.style.width = p + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(p)));
    barText.textContent = pct(j.progress);
    fill(details, 
      el("p", { class: "hint" }, "created ", time(j.created_at), j.started_at ? " · started " + time(j.started_at) : "", j.finished_at ? " · finished " + time(j.finished_at) : ""),
      el("h2", {}, "Input"), el("pre", {}, JSON.stringify(j.input, null, 2)),
      j.output !== undefined ? el("h2", {}, "Output") : null, j.output !== undefined ? el("pre", {}, JSON.stringify(j.output, null, 2)) : null,
      j.error ? el("h2", {}, "Error") : null,
      j.error ? el("p", { class: "error" }, j.error.type + ": " + j.error.message) : null,
      j.error && j.error.detail ? el("pre", {}, j.error.detail) : null);
  };
  render(j);
  page(head, bar, barText, details, el("h2", {}, "Logs"), log);
  const es = new EventSource("/v1/jobs/" + id + "/events");
  es.addEventListener("status", (e) => render(JSON.parse(e.data)));
  es.addEventListener("log", (e) => {
    const l = JSON.parse(e.data);
    log.append(el("span", { class: "t" }, new Date(l.ts).toLocaleTimeString() + " "), el("span", { class: l.stream }, l.line), "\n");
  });
  es.addEventListener("end", (e) => { render(JSON.parse(e.data)); es.close(); });
  closers.push(() => es.close());
}

async function cancel(id) {
  try { await api("/v1/jobs/" + id + "/cancel", { method: "POST" }); } catch (err) { alert(err.message); }
}

// Submit: a form made from the algorithm's input schema.
async function submit(name) {
  const a = await api("/v1/algorithms/" + name);
  const schema = a.input_schema || {};
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const fields = Object.entries(props).map(([key, p]) => {
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
    let input;
    if (p.enum) input = el("select", { name: key }, ...p.enum.map((v) => el("option", { value: JSON.stringify(v) }, String(v))));
    else if (t === "boolean") input = el("select", { name: key }, el("option", { value: "false" }, "false"), el("option", { value: "true" }, "true"));
    else if (t === "integer" || t === "number") input = el("input", { name: key, type: "number", step: t === "integer" ? "1" : "any" });
    else if (t === "string") input = el("input", { name: key, type: "text" });
    else input = el("textarea", { name: key, rows: "3", placeholder: "JSON" });
    if (p.default !== undefined) input.value = typeof p.default === "string" ? p.default : JSON.stringify(p.default);
    input.dataset.type = p.enum ? "json" : t || "json";
    return el("div", {}, el("label", {}, key, required.has(key) ? " *" : ""), input, p.description ? el("div", { class: "hint" }, p.description) : null);
  });
  const raw = el("textarea", { rows: "6", placeholder: "{}" });
  const err = el("p", { class: "error", role: "alert" });
  const form = el("form", { onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    let input = {};
    try {
      if (fields.length) {
        for (const f of form.querySelectorAll("[name]")) {
          if (f.value === "") continue;
          const t = f.dataset.type;
          input[f.name] = t === "string" ? f.value : t === "integer" || t === "number" ? Number(f.value) : JSON.parse(f.value);
        }
      } else if (raw.value.trim()) input = JSON.parse(raw.value);
      const j = await api("/v1/algorithms/" + name + "/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input) });
      location.hash = "#/job/" + j.id;
    } catch (x) { err.textContent = x.message; }
  } }, ...(fields.length ? fields : [el("label", {}, "Input (JSON)"), raw]), el("p", {}, el("button", { class: "primary", type: "submit" }, "Submit")), err);
  page(el("h1", {}, "Submit a job of ", name), el("p", { class: "hint" }, a.description || ""), form);
}

function close() {
  for (const c of closers) c();
  closers = [];
}

async function route() {
  close();
  const [path, query] = location.hash.slice(1).split("?");
  const parts = (path || "/").split("/").filter(Boolean);
  try {
    if (parts[0] === "jobs") await jobs(new URLSearchParams(query));
    else if (parts[0] === "job" && parts[1]) await job(parts[1]);
    else if (parts[0] === "submit" && parts[1]) await submit(parts[1]);
    else await overview();
  } catch (err) {
    page(el("p", { class: "error" }, "Could not load: " + err.message));
  }
}

window.addEventListener("hashchange", route);
route();
