"use strict";
// Conveyor's dashboard: plain JavaScript over the HTTP API, live through
// Server-Sent Events. Routes: #/ overview, #/jobs, #/job/ID, #/submit/ALGO,
// #/schedules.
//
// With API tokens configured it asks for one and keeps it in this tab's
// sessionStorage only (never a URL or a cookie); every request sends it as
// Authorization: Bearer, event streams included (read with fetch, since
// EventSource cannot send headers).

const main = document.getElementById("main");
const who = document.getElementById("who");
let closers = []; // event streams and timers of the current page
let me = null; // GET /v1/whoami: {open} or {name, tenant, scopes, algorithms}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
}

const TOKEN = "conveyor.token"; // the sessionStorage key; /docs reads it too
const token = () => sessionStorage.getItem(TOKEN);

// AuthError is a 401: no token, or one the API no longer accepts.
class AuthError extends Error {}

// headers returns h with the token, if any, as a Bearer header.
function headers(h = {}) {
  const t = token();
  return t ? { ...h, Authorization: "Bearer " + t } : h;
}

// api calls the API: JSON in and out; every POST says it is JSON.
async function api(path, options = {}) {
  const h = headers(options.headers);
  if ((options.method || "GET") !== "GET") h["Content-Type"] = "application/json";
  const resp = await fetch(path, { ...options, headers: h });
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 401) throw new AuthError(body.detail || "a valid API token is required");
  if (!resp.ok) throw new Error(body.detail || body.title || resp.statusText);
  return body;
}

// can reports whether the token may take the scope's actions.
const can = (scope) => !!me && (me.scopes.includes(scope) || me.scopes.includes("admin"));
// canSubmit reports whether the token may submit jobs of the algorithm.
const canSubmit = (algorithm) => can("submit") &&
  (!me.algorithms || !me.algorithms.length || me.scopes.includes("admin") || me.algorithms.includes(algorithm));

// stream reads the Server-Sent Events at path with fetch, so that the
// token goes in a header, never in the URL, and calls on[event](data) for
// each event; on.open() is called on each reconnection. After a drop it
// reconnects, resuming from the last event id, until the returned
// function is called. A 401 logs out.
function stream(path, on) {
  const ctl = new AbortController();
  let lastId = "", wait = 1000, connected = false;
  const dispatch = (ev) => {
    if (ev.id !== null) lastId = ev.id;
    if (ev.data.length && on[ev.event] && !ctl.signal.aborted) on[ev.event](ev.data.join("\n"));
  };
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const h = headers({ Accept: "text/event-stream" });
        if (lastId) h["Last-Event-ID"] = lastId;
        const resp = await fetch(path, { headers: h, signal: ctl.signal, cache: "no-store" });
        if (resp.status === 401) { ctl.abort(); refused(); return; }
        if (resp.ok) {
          if (connected && on.open) on.open();
          connected = true;
          const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "", ev = { event: "message", data: [], id: null };
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let nl;
            while ((nl = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, nl).replace(/\r$/, "");
              buf = buf.slice(nl + 1);
              if (line === "") { dispatch(ev); ev = { event: "message", data: [], id: null }; continue; }
              if (line.startsWith(":")) continue; // a comment: keep-alive
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "event") ev.event = val;
              else if (field === "data") ev.data.push(val);
              else if (field === "id") ev.id = val;
              else if (field === "retry" && /^\d+$/.test(val)) wait = Number(val);
            }
          }
        }
      } catch (err) {
        if (ctl.signal.aborted) return;
      }
      await new Promise((ok) => setTimeout(ok, wait));
    }
  })();
  return () => ctl.abort();
}

const status = (s) => el("span", { class: "status " + s }, s);
const time = (t) => (t ? new Date(t).toLocaleString() : "");
const pct = (p) => (p ? Math.round(p.percent) + "%" + (p.message ? " " + p.message : "") : "");
const jobLink = (id) => el("a", { href: "#/job/" + id, class: "id" }, id);

// table makes an accessible table: a caption-less head row of column
// headers and one body row per item.
function table(cls, headers, rows) {
  return el("table", { class: cls },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows));
}

// fill replaces the children of node, skipping null and undefined, and
// keeps keyboard focus on the same link or control across the re-render.
function fill(node, ...kids) {
  const a = document.activeElement;
  const key = a && node.contains(a) && a !== node ? (a.getAttribute("href") || a.getAttribute("name") || a.id) : null;
  node.replaceChildren(...kids.filter((k) => k !== null && k !== undefined));
  if (key) {
    const again = [...node.querySelectorAll("a, button, select, input, textarea")]
      .find((e) => (e.getAttribute("href") || e.getAttribute("name") || e.id) === key);
    if (again) again.focus();
  }
}

function page(...kids) {
  fill(main, ...kids);
}

// sparkline draws counts (oldest first) as inline SVG bars over a
// baseline, one bar a minute, scaled to the busiest minute.
function sparkline(counts) {
  const bw = 2, h = 24, w = counts.length * bw, max = Math.max(1, ...counts), total = counts.reduce((a, b) => a + b, 0);
  const label = total + " finished in the last hour, at most " + Math.max(...counts) + " a minute";
  const bars = counts.map((c, i) => c === 0 ? null : svg("rect", {
    x: i * bw, width: bw - 0.5, y: (h - 1 - Math.max(2, (c / max) * (h - 2))).toFixed(1), height: Math.max(2, (c / max) * (h - 2)).toFixed(1),
  })).filter(Boolean);
  return svg("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label },
    svg("title", {}, label), svg("line", { x1: 0, x2: w, y1: h - 0.5, y2: h - 0.5, class: "base" }), ...bars);
}

// Overview: algorithms with counts and throughput, live runners, recent jobs.
// batchSizes says how big the batches of algorithm name were, over the
// live runners since they started: their mean and the last one's size.
function batchSizes(runners, name) {
  let batches = 0, jobs = 0, last = null;
  for (const r of runners) {
    const b = r.batches && r.batches[name];
    if (b && b.batches) { batches += b.batches; jobs += b.jobs; last = b.last; }
  }
  if (!batches) return null;
  return el("span", { class: "hint batch-sizes", title: batches + " batches of " + jobs + " jobs so far" },
    " · mean " + (jobs / batches).toFixed(1) + ", last " + last);
}

async function overview() {
  const [algs, runners, jobs, stats] = await Promise.all([api("/v1/algorithms"), api("/v1/runners"),
    api("/v1/jobs?limit=15"), api("/v1/stats")]);
  const byName = Object.fromEntries(stats.algorithms.map((s) => [s.name, s]));
  const algRows = algs.algorithms.map((a) => {
    const s = byName[a.name] || { counts: {}, finished_per_minute: new Array(60).fill(0) };
    // An algorithm run as a stage of pipelines: its stages are counted
    // apart from its own jobs (the jobs count under the pipeline).
    const st = s.stage_counts || {};
    const asStage = (n) => n ? el("span", { class: "hint stage-count", title: "ended as a stage of a pipeline in the last hour" }, " +" + n + " as a stage") : null;
    const perMinute = s.stage_finished_per_minute ? s.finished_per_minute.map((n, i) => n + s.stage_finished_per_minute[i]) : s.finished_per_minute;
    return el("tr", { "data-algorithm": a.name },
      el("td", {}, el("a", { href: "#/jobs?algorithm=" + a.name }, a.name)),
      el("td", {}, a.kind, a.batch ? el("span", { class: "hint", title: "jobs run in batches, leaving within " + a.batch.max_wait }, " · batches of ≤ " + a.batch.max_size) : null,
        batchSizes(runners.runners, a.name)),
      el("td", { class: "num" }, String(a.queued)), el("td", { class: "num" }, String(a.running)),
      el("td", { class: "num failed-count" + (s.counts.failed || st.failed ? " failed" : "") }, String(s.counts.failed || 0), asStage(st.failed)),
      el("td", { class: "num" }, String(s.counts.succeeded || 0), asStage(st.succeeded)),
      el("td", { class: "spark" }, sparkline(perMinute), " " + perMinute.reduce((x, y) => x + y, 0)),
      el("td", { class: "num" }, String(a.runners.length)),
      el("td", {}, a.description || "", a.conflicts && a.conflicts.length ? el("p", { class: "error conflict", role: "note" },
        "Schema conflict: " + a.conflicts.map((c) => c.runner).join(", ") + " serve " + a.name +
        " with another input schema; jobs are checked against the registered one.") : null,
        ...(a.unmet || []).map((u) => el("p", { class: "error unmet", role: "note" },
          u.queued + " job" + (u.queued === 1 ? "" : "s") + " waiting: " + u.reason + "."))),
      el("td", {}, canSubmit(a.name) ? el("a", { href: "#/submit/" + a.name, "aria-label": "submit a job of " + a.name }, "submit…") : null));
  });
  const runnerRows = runners.runners.map((r) => el("tr", {},
    el("td", {}, el("span", { class: "id" }, r.id)), el("td", {}, r.host),
    el("td", { class: "busy" }, el("meter", { min: "0", max: String(r.capacity || 1), value: String(r.busy), "aria-label": "busy workers of " + r.id }),
      " " + r.busy + " / " + r.capacity),
    el("td", { class: "devices" }, (r.devices || []).map((d) => "GPU " + d.gpu + ": " +
      (d.held ? d.jobs + " job" + (d.jobs === 1 ? "" : "s") : "free")).join(" · ")),
    el("td", {}, r.algorithms.join(", ")), el("td", {}, time(r.last_seen))));
  page(
    el("h1", {}, "Overview"),
    el("h2", {}, "Algorithms"),
    table("algorithms", ["name", "kind", "queued", "running", "failed", "succeeded", "finished / min, last hour", "runners", "description", ""], algRows),
    el("h2", {}, "Runners"),
    runnerRows.length ? table("runners", ["id", "host", "busy / capacity", "GPUs", "algorithms", "last seen"], runnerRows)
      : el("p", { class: "hint" }, "No live runner."),
    el("h2", {}, "Recent jobs"), jobTable(jobs.jobs));
  liveRefresh("", overview, 5000); // runners' load changes without job events too
}

// liveRefresh re-renders the page (at most twice a second) when a job
// changes, and every `every` ms if given.
function liveRefresh(algorithm, render, every) {
  let pending = null;
  const again = () => { if (!pending) pending = setTimeout(() => { pending = null; close(); render().catch(failed); }, 500); };
  // A reconnection may have missed changes: render again then too.
  const stop = stream("/v1/events" + (algorithm ? "?algorithm=" + encodeURIComponent(algorithm) : ""), { job: again, lagged: again, open: again });
  const timer = every ? setTimeout(again, every) : null;
  closers.push(() => { stop(); clearTimeout(pending); clearTimeout(timer); });
}

// duration is how long the job ran (so far, if it still runs): from its
// start to its end, in the unit that suits it.
function duration(j) {
  if (!j.started_at) return "";
  const ms = (j.finished_at ? Date.parse(j.finished_at) : Date.now()) - Date.parse(j.started_at);
  if (!(ms >= 0)) return "";
  const s = ms / 1000;
  const text = ms < 1000 ? Math.round(ms) + " ms" : s < 60 ? s.toFixed(s < 10 ? 1 : 0) + " s"
    : s < 3600 ? Math.floor(s / 60) + " min " + String(Math.floor(s % 60)).padStart(2, "0") + " s"
      : Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  return j.finished_at ? text : text + " so far";
}

// jobTable lists job summaries; with sel (a Set of ids, see selection) a
// first column of checkboxes selects jobs into it.
function jobTable(jobs, sel) {
  if (!jobs.length) return el("p", { class: "hint" }, "No jobs.");
  // Only the fields of a job summary (GET /v1/jobs has no input or
  // output): the job page reads the whole job.
  const labels = (l) => l ? Object.keys(l).sort().map((k) => k + "=" + l[k]).join(", ") : "";
  const box = (j) => {
    if (!sel) return null;
    const b = el("input", { type: "checkbox", name: "select-" + j.id, "aria-label": "select " + j.id,
      onchange: (e) => { if (e.target.checked) sel.add(j.id); else sel.delete(j.id); sel.message = ""; sel.changed(); } });
    b.checked = sel.has(j.id);
    return el("td", {}, b);
  };
  return table("jobs", [...(sel ? ["select"] : []), "id", "algorithm", "status", "attempt", "progress", "created", "duration", "labels"],
    jobs.map((j) => el("tr", {}, box(j), el("td", {}, jobLink(j.id)), el("td", {}, j.algorithm), el("td", {}, status(j.status)),
      el("td", {}, j.max_attempts ? j.attempt + "/" + j.max_attempts : String(j.attempt || "")), el("td", {}, pct(j.progress)), el("td", {}, time(j.created_at)),
      el("td", { class: "duration" }, duration(j)), el("td", { class: "labels" }, labels(j.labels)))));
}

// selection holds the jobs checked on the jobs page, by id, across its
// live re-renders; each render keeps only the jobs it shows, so that an
// action never touches a job out of sight.
// message says what the last action on the selection did.
const selection = Object.assign(new Set(), { changed: () => {}, message: "" });

// selectionBar offers the actions on the selected jobs that the token
// may take: each acts on every selected job it applies to (a retry on
// finished ones, a cancel on unfinished ones, a delete on finished ones)
// and says how many it did.
function selectionBar(jobs) {
  const byID = new Map(jobs.map((j) => [j.id, j]));
  const final = (st) => st === "succeeded" || st === "failed" || st === "canceled";
  const bar = el("div", { class: "filters", role: "toolbar", "aria-label": "selected jobs" });
  const act = async (what, applies, request) => {
    const ids = [...selection].filter((id) => byID.has(id) && applies(byID.get(id)));
    let done = 0, failed = [];
    for (const id of ids) {
      try { await api(...request(id)); done++; } catch (err) { if (err instanceof AuthError) { refused(); return; } failed.push(id + ": " + err.message); }
    }
    selection.clear();
    selection.message = what + " " + done + (done === 1 ? " job" : " jobs") + (failed.length ? "; failed: " + failed.join("; ") : "") + ".";
    route(); // the page again, with what changed
  };
  const render = () => {
    const sel = [...selection].map((id) => byID.get(id)).filter(Boolean);
    const n = (f) => sel.filter(f).length;
    const retryable = (j) => (j.status === "failed" || j.status === "canceled" || j.status === "succeeded") && canSubmit(j.algorithm);
    const button = (label, id, count, onclick, cls) => el("button", { type: "button", id, class: cls, disabled: count ? null : "", onclick }, label + " (" + count + ")");
    fill(bar, el("span", {}, sel.length + " selected "),
      can("submit") ? button("Retry", "retry-selected", n(retryable), () => act("Retried", retryable, (id) => ["/v1/jobs/" + id + "/retry", { method: "POST" }])) : null, " ",
      can("cancel") ? button("Cancel", "cancel-selected", n((j) => !final(j.status)), async () => {
        if (await ask("Cancel " + n((j) => !final(j.status)) + " selected jobs? Running ones are stopped.", "Cancel jobs", "Keep them"))
          act("Canceled", (j) => !final(j.status), (id) => ["/v1/jobs/" + id + "/cancel", { method: "POST" }]);
      }) : null, " ",
      can("cancel") ? button("Delete", "delete-selected", n((j) => final(j.status)), async () => {
        if (await ask("Delete " + n((j) => final(j.status)) + " selected finished jobs, their input, output and logs, for good?", "Delete jobs", "Keep them"))
          act("Deleted", (j) => final(j.status), (id) => ["/v1/jobs/" + id, { method: "DELETE" }]);
      }, "danger") : null, " ", el("span", { class: "hint", role: "status", id: "selection-said" }, selection.message));
  };
  for (const id of [...selection]) if (!byID.has(id)) selection.delete(id);
  selection.changed = render;
  render();
  return bar;
}

// Jobs: filtered by algorithm and status, a page at a time; the first page
// follows new jobs live.
async function jobs(params) {
  const q = new URLSearchParams(params);
  q.set("limit", "50");
  // "since" is the page's own: a window back from now, as created_after.
  const windows = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
  q.delete("since");
  if (windows[params.get("since")]) q.set("created_after", new Date(Date.now() - windows[params.get("since")]).toISOString());
  for (const [k, v] of [...q]) if (v === "") q.delete(k);
  const [list, algs] = await Promise.all([api("/v1/jobs?" + q), api("/v1/algorithms")]);
  const select = (name, options) => el("select", { name, id: "filter-" + name, onchange: (e) => { params.set(name, e.target.value); params.delete("cursor"); location.hash = "#/jobs?" + params; } },
    ...["", ...options].map((o) => { const opt = el("option", { value: o }, o || "any"); if ((params.get(name) || "") === o) opt.selected = true; return opt; }));
  const first = new URLSearchParams(params);
  first.delete("cursor");
  const nav = el("nav", { class: "pages", "aria-label": "pages" },
    params.get("cursor") ? el("a", { href: "#/jobs?" + first }, "← Newest") : null,
    list.next_cursor ? el("a", { href: "#/jobs?" + new URLSearchParams({ ...Object.fromEntries(params), cursor: list.next_cursor }) }, "Older jobs →") : null);
  page(el("h1", {}, "Jobs"),
    el("div", { class: "filters" },
      el("label", { for: "filter-algorithm" }, "Algorithm "), select("algorithm", algs.algorithms.map((a) => a.name)),
      el("label", { for: "filter-status" }, "Status "), select("status", ["scheduled", "queued", "running", "succeeded", "failed", "canceled"]),
      el("label", { for: "filter-since" }, "Created within "), select("since", ["1h", "24h", "7d"]),
      el("label", { for: "filter-label" }, "Label "),
      el("input", { id: "filter-label", name: "label", placeholder: "key=value", value: params.get("label") || "", size: "16",
        onchange: (e) => { const v = e.target.value.trim(); if (v && !v.includes("=")) { e.target.setCustomValidity("key=value"); e.target.reportValidity(); return; }
          e.target.setCustomValidity(""); if (v) params.set("label", v); else params.delete("label"); params.delete("cursor"); location.hash = "#/jobs?" + params; } }),
      params.get("cursor") ? null : el("span", { class: "hint" }, "live")),
    can("submit") || can("cancel") ? selectionBar(list.jobs) : null,
    jobTable(list.jobs, can("submit") || can("cancel") ? selection : null), nav);
  if (!params.get("cursor")) liveRefresh(params.get("algorithm") || "", () => jobs(params));
}

// Job: live status, progress and logs; cancel, retry.
async function job(id) {
  const j = await api("/v1/jobs/" + id);
  const head = el("div");
  const bar = el("div", { class: "bar", role: "progressbar", "aria-label": "progress", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, el("div")); // render sets the width
  const barText = el("p", { class: "hint" });
  const details = el("div");
  const log = el("pre", { class: "log", role: "log", "aria-label": "logs", tabindex: "0" });
  // "yet" only while lines may still come; the end of the stream says
  // whether a final job has any.
  const final = (st) => st === "succeeded" || st === "failed" || st === "canceled";
  const noLog = el("p", { class: "hint no-log" }, final(j.status) ? "" : "No log lines yet.");
  // Screen readers hear status changes, not every progress re-render.
  const said = el("p", { class: "sr-only", role: "status" });
  let lastStatus = j.status;
  const render = (j) => {
    if (j.status !== lastStatus) said.textContent = "Job " + (lastStatus = j.status) + ".";
    const retryOf = j.retry_of || (j.labels && j.labels.retry_of); // the label: retries made before POST …/retry
    fill(head, el("h1", {}, j.algorithm, " ", el("span", { class: "id" }, j.id)),
      el("p", {}, status(j.status), " attempt ", String(j.attempt), "/", String(j.max_attempts),
        j.runner ? " on " + j.runner : "", " ",
        (j.status === "scheduled" || j.status === "queued" || j.status === "running") && can("cancel") ? el("button", { type: "button", id: "cancel-job", onclick: () => cancel(j) }, "Cancel") : null,
        (j.status === "failed" || j.status === "canceled") && canSubmit(j.algorithm) ? el("button", { type: "button", id: "retry-job", onclick: () => retry(j) }, "Retry") : null, " ",
        final(j.status) && can("cancel") ? el("button", { type: "button", id: "delete-job", class: "danger", onclick: () => remove(j) }, "Delete") : null),
      retryOf ? el("p", { class: "hint" }, el("a", { href: "#/job/" + retryOf }, "retry of " + retryOf)) : null,
      j.stage ? el("p", { class: "stage" }, "stage " + j.stage.name + " (" + (j.stage.index + 1) + " of " + j.stage.of +
        ", step " + (j.stage.step + 1) + ") of the pipeline " + j.pipeline.stages.join(" → ")) : null);
    const p = j.progress ? j.progress.percent : (j.status === "succeeded" ? 100 : 0);
    bar.firstChild.style.width = p + "%";
    bar.setAttribute("aria-valuenow", String(Math.round(p)));
    barText.textContent = pct(j.progress);
    fill(details,
      el("p", { class: "hint" }, "created ", time(j.created_at), j.run_at ? " · runs at " + time(j.run_at) : "", j.started_at ? " · started " + time(j.started_at) : "", j.finished_at ? " · finished " + time(j.finished_at) + " · ran " + duration(j) : "",
        j.traceparent ? " · traceparent " + j.traceparent : "",
        j.labels && Object.keys(j.labels).length ? " · labels " + Object.entries(j.labels).map(([k, v]) => k + "=" + v).join(", ") : "",
        j.requires ? " · requires " + Object.entries(j.requires).map(([k, v]) => k + "=" + v).join(", ") : ""),
      el("h2", {}, "Input"), el("pre", { class: "input" }, JSON.stringify(j.input, null, 2)),
      j.output !== undefined ? el("h2", {}, "Output") : null, j.output !== undefined ? el("pre", { class: "output" }, JSON.stringify(j.output, null, 2)) : null,
      j.artifacts && j.artifacts.length ? el("h2", {}, "Artifacts") : null,
      j.artifacts && j.artifacts.length ? artifactTable(j) : null,
      j.error ? el("h2", {}, "Error") : null,
      j.error ? el("p", { class: "error" }, (j.error.type && j.error.type !== "error" ? j.error.type + ": " : "") + j.error.message) : null,
      j.error && j.error.detail ? el("pre", {}, j.error.detail) : null);
  };
  render(j);
  page(head, said, bar, barText, details, el("h2", {}, "Logs"), noLog, log);
  let lines = 0;
  const stop = stream("/v1/jobs/" + id + "/events", {
    status: (data) => render(JSON.parse(data)),
    log: (data) => {
      const l = JSON.parse(data);
      lines++;
      noLog.remove();
      const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(el("span", { class: "t" }, new Date(l.ts).toLocaleTimeString() + " "), el("span", { class: l.stream }, l.line), "\n");
      if (follow) log.scrollTop = log.scrollHeight;
    },
    end: (data) => {
      stop();
      render(JSON.parse(data));
      if (!lines) noLog.textContent = "No log lines.";
    },
  });
  closers.push(stop);
}

// artifactTable lists the files the job wrote, each a download link.
function artifactTable(j) {
  return table("artifacts", ["Name", "Size", "Type", "SHA-256"], j.artifacts.map((a) => {
    const url = "/v1/jobs/" + encodeURIComponent(j.id) + "/artifacts/" + encodeURIComponent(a.name);
    return el("tr", {},
      el("td", {}, el("a", { href: url, download: a.name, onclick: (e) => download(e, url, a.name) }, a.name)),
      el("td", { class: "num" }, size(a.size)), el("td", {}, a.content_type),
      el("td", {}, el("code", { title: a.sha256 }, a.sha256.slice(0, 12) + "…")));
  }));
}

// download lets the browser follow an artifact's link — streamed to disk —
// unless there is a token, which a link cannot carry: then the file is
// fetched with it and saved from memory.
async function download(e, url, name) {
  if (!token()) return;
  e.preventDefault();
  try {
    const resp = await fetch(url, { headers: headers() });
    if (resp.status === 401) throw new AuthError("a valid API token is required");
    if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).detail || resp.statusText);
    const href = URL.createObjectURL(await resp.blob());
    const a = el("a", { href, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
  } catch (err) { if (err instanceof AuthError) refused(); else alert(err.message); }
}

// size is a byte count for people: "512 B", "1.2 MiB".
function size(n) {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(1) + " " + units[i];
}

// ask shows a modal question and resolves to whether the user chose yes.
// "no" comes first and has the focus; Escape is no too.
function ask(question, yes, no) {
  return new Promise((resolve) => {
    const d = el("dialog", { class: "confirm", "aria-labelledby": "confirm-question" },
      el("p", { id: "confirm-question" }, question),
      el("form", { method: "dialog" },
        el("button", { type: "submit", value: "no" }, no), " ",
        el("button", { type: "submit", value: "yes", class: "danger" }, yes)));
    d.addEventListener("close", () => { d.remove(); resolve(d.returnValue === "yes"); });
    document.body.append(d);
    d.showModal();
  });
}

// cancel cancels the job once the user confirms: a running job's process
// is stopped, which cannot be undone.
async function cancel(j) {
  const sure = await ask("Cancel job " + j.id + " (" + j.algorithm + ")?" + (j.status === "running" ? " Its process will be stopped." : ""),
    "Cancel job", "Keep it");
  if (!sure) return;
  try { await api("/v1/jobs/" + j.id + "/cancel", { method: "POST" }); } catch (err) { if (err instanceof AuthError) refused(); else alert(err.message); }
}

// retry retries the finished job as a new job (POST /v1/jobs/{id}/retry:
// same algorithm, input, priority and labels; retry_of names the job) and
// opens it.
async function retry(j) {
  try {
    const n = await api("/v1/jobs/" + j.id + "/retry", { method: "POST" });
    location.hash = "#/job/" + n.id;
  } catch (err) { if (err instanceof AuthError) refused(); else alert(err.message); }
}

// remove deletes the finished job, its record and its logs, once the user
// confirms, and goes back to the jobs.
async function remove(j) {
  const sure = await ask("Delete job " + j.id + " (" + j.algorithm + ")? Its input, output and logs are gone for good.", "Delete job", "Keep it");
  if (!sure) return;
  try {
    await api("/v1/jobs/" + j.id, { method: "DELETE" });
    location.hash = "#/jobs";
  } catch (err) { if (err instanceof AuthError) refused(); else alert(err.message); }
}

// Submit: a form made from the algorithm's input schema.
// fieldSchema returns the schema a form field edits: for Optional[X]
// (anyOf X or null) X's, keeping the property's own default and description.
function fieldSchema(p) {
  const alts = (p.anyOf || p.oneOf || []).filter((s) => s.type !== "null");
  if (p.type || p.enum || alts.length !== 1) return p;
  const { anyOf, oneOf, ...own } = p;
  return { ...alts[0], ...own };
}

async function submit(name) {
  if (!canSubmit(name)) {
    page(el("h1", {}, "Submit a job of ", name), el("p", { class: "error", role: "alert" }, "The token " + me.name + " may not submit jobs of " + name + "."));
    return;
  }
  const a = await api("/v1/algorithms/" + name);
  const schema = a.input_schema || {};
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const fields = Object.entries(props).map(([key, prop]) => {
    const p = fieldSchema(prop);
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
    const id = "field-" + key;
    // An optional choice without a default may be left out: a blank option.
    const blank = !required.has(key) && p.default === undefined ? [el("option", { value: "" }, "")] : [];
    let input;
    if (isFileRef(p)) input = el("input", { name: key, id, type: "file" });
    else if (p.enum) input = el("select", { name: key, id }, ...blank, ...p.enum.map((v) => el("option", { value: JSON.stringify(v) }, String(v))));
    else if (t === "boolean") input = el("select", { name: key, id }, ...blank, el("option", { value: "false" }, "false"), el("option", { value: "true" }, "true"));
    else if (t === "integer" || t === "number") input = el("input", { name: key, id, type: "number", step: t === "integer" ? "1" : "any" });
    else if (t === "string") input = el("input", { name: key, id, type: "text" });
    else input = el("textarea", { name: key, id, rows: "3", placeholder: "JSON" });
    // The schema's default fills the field; a choice's options hold JSON.
    if (p.default !== undefined && p.default !== null && input.type !== "file") {
      input.value = typeof p.default === "string" && !p.enum ? p.default : JSON.stringify(p.default, null, input.tagName === "TEXTAREA" ? 2 : 0);
    }
    if (required.has(key)) input.required = true;
    input.dataset.type = input.type === "file" ? "file" : p.enum ? "json" : t || "json";
    const hint = p.description ? el("div", { class: "hint", id: id + "-hint" }, p.description) : null;
    if (hint) input.setAttribute("aria-describedby", hint.id);
    return el("div", {}, el("label", { for: id }, key, required.has(key) ? el("span", { "aria-label": "required" }, " *") : null), input, hint);
  });
  const raw = el("textarea", { id: "field-raw", rows: "6", placeholder: "{}" });
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
          if (t === "file") {
            err.textContent = "Uploading " + f.files[0].name + "…";
            input[f.name] = { $file: (await upload(f.files[0])).id };
            err.textContent = "";
            continue;
          }
          input[f.name] = t === "string" ? f.value : t === "integer" || t === "number" ? Number(f.value) : JSON.parse(f.value);
        }
      } else if (raw.value.trim()) input = JSON.parse(raw.value);
      const j = await api("/v1/algorithms/" + name + "/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input) });
      location.hash = "#/job/" + j.id;
    } catch (x) { if (x instanceof AuthError) refused(); else err.textContent = x.message; }
  } }, ...(fields.length ? fields : [el("label", { for: "field-raw" }, "Input (JSON)"), raw]), el("p", {}, el("button", { class: "primary", type: "submit" }, "Submit")), err);
  page(el("h1", {}, "Submit a job of ", name), el("p", { class: "hint" }, a.description || ""), form);
}

// isFileRef reports whether a field's schema is a file reference
// ({"$file": id}: a conveyor.File parameter), which the form takes as a
// file to upload.
const isFileRef = (p) => !!(p && p.type === "object" && p.properties && p.properties.$file);

// upload sends a file the user picked to POST /v1/files, streamed by the
// browser, and resolves to the stored file.
async function upload(file) {
  const resp = await fetch("/v1/files", { method: "POST", headers: headers({ "Content-Type": file.type || "application/octet-stream" }), body: file });
  const body = await resp.json().catch(() => ({}));
  if (resp.status === 401) throw new AuthError(body.detail || "a valid API token is required");
  if (resp.status !== 201) throw new Error("upload " + file.name + ": " + (body.detail || body.title || resp.statusText));
  return body;
}

function close() {
  for (const c of closers) c();
  closers = [];
  for (const d of document.querySelectorAll("dialog.confirm[open]")) d.close(); // a question of the page left
}

function showError(err) {
  page(el("p", { class: "error", role: "alert" }, "Could not load: " + err.message));
}

// failed shows why a page could not load: the login form on a 401.
function failed(err) {
  if (err instanceof AuthError) refused();
  else showError(err);
}

// refused forgets a token the API no longer accepts and asks for another.
function refused() {
  const had = token() !== null;
  sessionStorage.removeItem(TOKEN);
  me = null;
  close();
  showWho();
  login(had ? "The API refused the token: log in again." : "");
}

// showWho shows in the header who is logged in, with what scopes, and a
// log-out button; nothing when the API is open (no tokens configured).
function showWho() {
  if (!me || me.open) { who.replaceChildren(); return; }
  fill(who,
    el("span", { class: "whoami" }, "Logged in as ", el("strong", { class: "token-name" }, me.name),
      me.tenant ? " (tenant " + me.tenant + ")" : "", " · ",
      el("span", { class: "scopes", title: "scopes" }, me.scopes.join(", ")),
      me.algorithms && me.algorithms.length ? " · only " + me.algorithms.join(", ") : ""),
    " ", el("button", { type: "button", id: "logout", onclick: logout }, "Log out"));
}

// logout forgets the token: nothing of it is left in the browser.
function logout() {
  sessionStorage.removeItem(TOKEN);
  me = null;
  close();
  showWho();
  login("Logged out.");
}

// login asks for a token, checks it with GET /v1/whoami and keeps it in
// this tab's sessionStorage. The field has no name, so the form can never
// put the token in a URL.
function login(message) {
  const input = el("input", { type: "password", id: "token", autocomplete: "current-password", spellcheck: "false", required: "" });
  const err = el("p", { class: "error", role: "alert" });
  const form = el("form", { method: "post", class: "login", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const t = input.value.trim();
    try {
      const resp = await fetch("/v1/whoami", { headers: { Authorization: "Bearer " + t }, cache: "no-store" });
      if (resp.status === 401) { err.textContent = "That token was not accepted."; input.select(); return; }
      if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
      me = await resp.json();
    } catch (x) { err.textContent = "Could not log in: " + x.message; return; }
    sessionStorage.setItem(TOKEN, t);
    route();
  } },
  el("label", { for: "token" }, "API token"), input,
  el("p", {}, el("button", { class: "primary", type: "submit" }, "Log in")), err);
  page(el("h1", {}, "Log in"),
    message ? el("p", { class: "notice", role: "status" }, message) : null,
    el("p", { class: "hint" }, "This Conveyor API needs a token (Authorization: Bearer). It is kept in this browser tab only, until you log out or close the tab."),
    form);
  input.focus();
}

// Schedules: each recurring schedule with when it fires next and last, its
// last job and a link to all its jobs; pause, resume, trigger, delete.
async function schedules() {
  const list = await api("/v1/schedules");
  const notice = el("p", { role: "status", class: "notice", hidden: "" });
  const act = async (s, action, method = "POST") => {
    try {
      const r = await api("/v1/schedules/" + encodeURIComponent(s.name) + (action ? "/" + action : ""), { method });
      if (action === "trigger") { location.hash = "#/job/" + r.id; return; }
      await schedules();
    } catch (err) {
      if (err instanceof AuthError) throw err;
      notice.hidden = false; notice.className = "error"; notice.textContent = s.name + ": " + err.message;
    }
  };
  const when = (s) => s.every ? "every " + s.every : "cron " + s.cron + (s.timezone ? " (" + s.timezone + ")" : "");
  const rows = list.schedules.map((s) => el("tr", { "data-name": s.name },
    el("th", { scope: "row" }, el("a", { href: "#/jobs?label=" + encodeURIComponent("schedule=" + s.name) }, s.name)),
    el("td", {}, s.algorithm), el("td", {}, when(s)),
    el("td", { class: "next" }, s.paused ? status("paused") : time(s.next_at)),
    el("td", { class: "last" }, time(s.last_at), s.last_skipped ? " (skipped)" : ""),
    el("td", {}, s.last_job ? jobLink(s.last_job) : ""),
    el("td", { class: "num" }, String(s.fired)), el("td", { class: "num" }, String(s.skipped)),
    el("td", {}, can("submit") ? el("span", { class: "actions" },
      el("button", { type: "button", onclick: () => act(s, s.paused ? "resume" : "pause") }, s.paused ? "Resume" : "Pause"), " ",
      el("button", { type: "button", onclick: () => act(s, "trigger") }, "Run now"), " ",
      el("button", { type: "button", class: "danger", onclick: () => { if (confirm("Delete the schedule " + s.name + "? Its jobs stay.")) act(s, "", "DELETE"); } }, "Delete")) : null)));
  page(el("h1", {}, "Schedules"),
    el("p", { class: "hint" }, "Recurring jobs, kept by the broker's message scheduler. Add one with conveyor schedule add, POST /v1/schedules, or schedules: in the config."),
    notice,
    list.schedules.length ? table("schedules", ["name", "algorithm", "when", "next", "last", "last job", "fired", "skipped", ""], rows)
      : el("p", {}, "No schedules yet."));
}

async function route() {
  close();
  const [path, query] = location.hash.slice(1).split("?");
  const parts = (path || "/").split("/").filter(Boolean);
  for (const a of document.querySelectorAll("header nav a")) {
    const target = a.getAttribute("href").slice(2).split("?")[0];
    if (target === (parts[0] || "") && a.getAttribute("href").startsWith("#")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    if (!me) me = await api("/v1/whoami");
    showWho();
    if (!can("read")) {
      page(el("h1", {}, "Not allowed"), el("p", { class: "error", role: "alert" },
        "The token " + me.name + " lacks the read scope the dashboard needs (it has: " + me.scopes.join(", ") + ")."));
    } else if (parts[0] === "jobs") await jobs(new URLSearchParams(query));
    else if (parts[0] === "job" && parts[1]) await job(parts[1]);
    else if (parts[0] === "submit" && parts[1]) await submit(parts[1]);
    else if (parts[0] === "schedules") await schedules();
    else await overview();
  } catch (err) {
    failed(err);
    if (err instanceof AuthError) return; // the login form has the focus
  }
  // After a navigation, keyboard and screen-reader users start at the
  // page's heading, as on a page load.
  const h1 = main.querySelector("h1");
  if (h1 && navigated) {
    h1.tabIndex = -1;
    h1.focus();
  }
  navigated = true;
}
let navigated = false; // the first route is the page load

document.getElementById("skip").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
window.addEventListener("hashchange", route);
route();
