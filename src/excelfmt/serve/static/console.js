// excelfmt's console: live figures over Server-Sent Events, and the actions of a page as
// calls to the JSON API with the page's CSRF token. No inline script (the CSP forbids it).
"use strict";

const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";
const numbers = new Intl.NumberFormat();

async function call(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const answer = await fetch(path, options);
  let data = {};
  try { data = await answer.json(); } catch (e) { data = { detail: answer.statusText }; }
  if (!answer.ok) throw new Error(data.detail || `The server answered ${answer.status}.`);
  return data;
}

function say(scope, text) {
  const place = scope.querySelector('[data-field="problem"]') || document.querySelector('[data-field="problem"]');
  if (!place) return;
  place.textContent = text || "";
  place.hidden = !text;
}

function localTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) {
    const when = new Date(time.getAttribute("datetime"));
    if (!isNaN(when)) time.textContent = when.toLocaleString();
  }
}

function drawBars(svg, bars) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const most = Math.max(1, ...bars.map(([ok, failed]) => ok + failed));
  const width = 600 / Math.max(bars.length, 60);
  bars.forEach(([ok, failed], i) => {
    const x = i * width;
    for (const [value, base, kind] of [[ok, 0, "bar-ok"], [failed, ok, "bar-failed"]]) {
      if (!value) continue;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      const height = (value / most) * 116;
      rect.setAttribute("x", x.toFixed(1));
      rect.setAttribute("width", Math.max(1, width - 1).toFixed(1));
      rect.setAttribute("y", (120 - (base / most) * 116 - height).toFixed(1));
      rect.setAttribute("height", height.toFixed(1));
      rect.setAttribute("class", kind);
      svg.appendChild(rect);
    }
  });
}

function listInto(list, items, show) {
  while (list.firstChild) list.removeChild(list.firstChild);
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = show(item);
    list.appendChild(li);
  }
}

function showFigures(scope, figures) {
  for (const [name, value] of Object.entries(figures)) {
    const place = scope.querySelector(`[data-field="${name}"]`);
    if (!place || typeof value === "object") continue;
    if (name === "progress") continue;
    place.textContent = value;
  }
  const state = scope.querySelector('[data-field="state"]');
  if (state) state.className = `state state-${figures.state}`;
  const bar = scope.querySelector('[data-field="progress"]');
  if (bar) {
    if (figures.estimated) bar.max = figures.estimated;
    bar.value = figures.done;
  }
  const chart = scope.querySelector('[data-field="chart"]');
  if (chart && figures.bars) drawBars(chart, figures.bars);
  const statuses = scope.querySelector('[data-field="statuses"]');
  if (statuses && figures.statuses) listInto(statuses, figures.statuses, ([code, n]) => `${code}: ${numbers.format(n)}`);
  const messages = scope.querySelector('[data-field="messages"]');
  if (messages && figures.messages) listInto(messages, figures.messages, ([text, n]) => `${numbers.format(n)} × ${text}`);
  scope.dataset.state = figures.state;
}

function follow(scope, session, onEnd) {
  const stream = new EventSource(`/api/sessions/${session}/events`);
  stream.onmessage = (event) => {
    const figures = JSON.parse(event.data);
    showFigures(scope, figures);
    if (figures.state !== "running") {
      stream.close();
      if (onEnd) onEnd(figures);
    }
  };
  stream.onerror = () => { if (scope.dataset.state !== "running") stream.close(); };
}

function runPage() {
  const run = document.querySelector("[data-run]");
  if (!run) return;
  const session = run.dataset.run;
  const stop = run.querySelector('[data-action="stop"]');
  if (run.dataset.state === "running") {
    follow(run, session, () => { if (stop) stop.hidden = true; });
  }
  if (stop) stop.addEventListener("click", async () => {
    stop.disabled = true;
    try { await call("POST", `/api/jobs/${session}/stop`); stop.textContent = "Stopping: the requests in flight finish…"; }
    catch (error) { say(run, error.message); stop.disabled = false; }
  });
}

function runsPage() {
  const table = document.querySelector("[data-live-runs]");
  if (!table) return;
  for (const row of table.querySelectorAll('tr[data-state="running"]')) follow(row, row.dataset.session);
}

function typed(input) {
  const text = input.value;
  const was = input.dataset.was;
  // A cell that held a number stays a number when what was typed is one.
  if (was !== "" && !isNaN(Number(was)) && text.trim() !== "" && !isNaN(Number(text))) return Number(text);
  return text;
}

function chosenRows(grid) {
  const rows = [...grid.querySelectorAll("tr[data-error]")];
  const picked = rows.filter((row) => (row.querySelector("[data-select]") || {}).checked);
  if (picked.length) return picked;
  return rows.filter((row) => [...row.querySelectorAll("input[data-column]")].some((i) => i.value !== i.dataset.was));
}

function settle(row, error) {
  row.dataset.state = error.state;
  row.querySelector('[data-field="state"]').textContent = error.state === "reprocessed" ? "ok (sent again)" : error.state;
  row.querySelector('[data-field="message"]').textContent = error.state === "open" ? (error.message || "") : "";
  if (error.state !== "open") {
    for (const input of row.querySelectorAll("input")) input.disabled = true;
  }
}

function gridPage() {
  const grid = document.querySelector("[data-grid]");
  const main = document.querySelector("main");
  const send = document.querySelector('[data-action="send-again"]');
  const resolve = document.querySelector('[data-action="resolve"]');
  const upload = document.querySelector('[data-action="upload-fix"]');
  if (grid && send) send.addEventListener("click", async () => {
    say(main, "");
    const rows = chosenRows(grid).filter((row) => row.dataset.state === "open");
    if (!rows.length) { say(main, "Edit a cell or select a row to send again."); return; }
    send.disabled = true;
    for (const row of rows) {
      const record = {};
      for (const input of row.querySelectorAll("input[data-column]")) {
        if (input.value !== input.dataset.was) record[input.dataset.column] = typed(input);
      }
      try { settle(row, await call("POST", `/api/errors/user-action/${row.dataset.error}/reprocess`, { record })); }
      catch (error) { say(main, error.message); }
    }
    send.disabled = false;
  });
  if (grid && resolve) resolve.addEventListener("click", async () => {
    say(main, "");
    const rows = [...grid.querySelectorAll("tr[data-error]")].filter((row) => (row.querySelector("[data-select]") || {}).checked);
    if (!rows.length) { say(main, "Select the rows to resolve."); return; }
    const note = window.prompt("Why are these rows closed without sending them again?", "");
    if (note === null) return;
    for (const row of rows) {
      try { settle(row, await call("POST", `/api/errors/user-action/${row.dataset.error}/resolve`, { status: "resolved", resolution: note })); }
      catch (error) { say(main, error.message); }
    }
  });
  if (upload) upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(main, "");
    try {
      const result = await call("POST", `/api/errors/user-action/${upload.dataset.session}/fix`, new FormData(upload));
      say(main, "");
      window.location.reload();
      return result;
    } catch (error) { say(main, error.message); }
  });
}

function showPreview(found) {
  const place = document.querySelector('[data-field="preview"]');
  place.hidden = false;
  const failing = found.failing ? `; ${numbers.format(found.failing)} would fail before sending` : "; none would fail before sending";
  place.querySelector('[data-field="preview-summary"]').textContent =
    `Sheet ${found.sheet}: ${numbers.format(found.rows || 0)} rows${failing}.`;
  const header = document.querySelector("#header_row").value || "1";
  place.querySelector('[data-field="preview-columns"]').textContent =
    `Columns, from row ${header}: ${(found.columns || []).join(", ")}.`;
  const sheets = document.querySelector('[data-field="sheets"]');
  while (sheets.firstChild) sheets.removeChild(sheets.firstChild);
  for (const name of found.sheets || []) {
    const option = document.createElement("option");
    option.value = name;
    sheets.appendChild(option);
  }
  listInto(place.querySelector('[data-field="preview-problems"]'), found.first_problems || [],
    (problem) => `Row ${problem.row}: ${problem.problem}`);
  const requests = place.querySelector('[data-field="preview-requests"]');
  while (requests.firstChild) requests.removeChild(requests.firstChild);
  for (const request of found.requests) {
    const block = document.createElement("pre");
    block.textContent = `row ${request.row}: ${request.method} ${request.url}\n${JSON.stringify(request.body, null, 2)}`;
    requests.appendChild(block);
  }
}

function newRunPage() {
  const form = document.querySelector('[data-action="new-run"]');
  if (!form) return;
  const previewButton = form.querySelector('[data-action="preview"]');
  if (previewButton) previewButton.addEventListener("click", async () => {
    say(form, "");
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    for (const name of ["sheet", "limit"]) if (!data.get(name)) data.delete(name);
    previewButton.disabled = true;
    try { showPreview(await call("POST", "/api/preview", data)); }
    catch (error) { say(form, error.message); }
    previewButton.disabled = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(form, "");
    const data = new FormData(form);
    for (const name of ["sheet", "limit"]) if (!data.get(name)) data.delete(name);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const started = await call("POST", "/api/jobs", data);
      window.location.assign(`/runs/${started.session}`);
    } catch (error) {
      say(form, error.message);
      button.disabled = false;
      button.textContent = "Start";
    }
  });
}

function logPage() {
  const table = document.querySelector("[data-log]");
  if (!table || table.dataset.state !== "running") return;
  // The log follows the run: the lines it adds, every two seconds, until it ends.
  const body = table.querySelector("[data-lines]");
  let shown = Number(table.dataset.count);
  const timer = setInterval(async () => {
    try {
      const [log, status] = await Promise.all([
        call("GET", `/api/logs/${table.dataset.log}?level=${table.dataset.level}`),
        call("GET", `/api/jobs/${table.dataset.log}`),
      ]);
      for (const line of log.lines.slice(shown)) {
        const row = document.createElement("tr");
        const details = Object.entries(line).filter(([k]) => !["time", "level", "event"].includes(k));
        for (const text of [new Date(line.time).toLocaleString(), line.level, line.event, details.map(([k, v]) => `${k}=${v}`).join(", ")]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.appendChild(cell);
        }
        body.appendChild(row);
      }
      shown = log.lines.length;
      if (status.state !== "running") clearInterval(timer);
    } catch (error) { clearInterval(timer); say(document, error.message); }
  }, 2000);
}

function benchForm() {
  const form = document.querySelector('[data-action="bench"]');
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(form, "");
    const data = new FormData(form);
    const result = form.querySelector('[data-field="bench-result"]');
    result.textContent = "Sending…";
    try {
      const figures = await call("POST", "/api/metrics/performance-test", {
        profile: data.get("profile"),
        iterations: Number(data.get("iterations")),
        confirm: data.get("confirm") === "on",
      });
      result.textContent = `${numbers.format(figures.direct_per_s)} requests/s one at a time, ` +
        `${numbers.format(figures.pool_per_s)} through the pool: ${figures.speedup}× faster.`;
    } catch (error) { result.textContent = ""; say(form, error.message); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  logPage();
  benchForm();
  runPage();
  runsPage();
  gridPage();
  newRunPage();
});
