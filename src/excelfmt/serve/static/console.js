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
    place.textContent = typeof value === "number" ? numbers.format(value) : value;
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

const clock = (when) => new Date(when).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function marksOf(row, error) {
  // The cells the API refused now: a row that went through has none left.
  const refused = new Map();
  if (error.state === "open") {
    const columns = [...row.querySelectorAll("input[data-column]")].map((i) => i.dataset.column);
    for (const [field, said] of error.fields || []) {
      const name = String(field).replace(/^\/+/, "").split(/[./]/).pop().toLowerCase();
      const column = columns.find((c) => c.toLowerCase() === String(field).toLowerCase() || c.toLowerCase() === name);
      if (column) refused.set(column, said);
    }
  }
  for (const cell of row.querySelectorAll("td[data-label]")) {
    const input = cell.querySelector("input[data-column]");
    const column = input ? input.dataset.column : null;
    const old = cell.querySelector(".mark");
    if (old) old.remove();
    cell.classList.toggle("refused", column !== null && refused.has(column));
    if (input) input.removeAttribute("aria-invalid");
    if (column !== null && refused.has(column)) {
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.textContent = refused.get(column) ? `refused: ${refused.get(column)}` : "refused";
      cell.appendChild(mark);
      input.setAttribute("aria-invalid", "true");
    }
  }
}

function settle(row, error) {
  // The row as it now stands, in place: ok rows lose their marks; a row still refused
  // says when it was tried again and what the API said this time.
  row.dataset.state = error.state;
  row.querySelector('[data-field="state"]').textContent = error.state === "reprocessed" ? "ok (sent again)" : error.state;
  const message = row.querySelector('[data-field="message"]');
  message.textContent = error.state === "open" ? `tried again at ${clock(error.updated_at || Date.now())}: ${error.message || ""}` : "";
  const hint = row.querySelector('[data-field="hint"]');
  if (hint && error.state !== "open") hint.remove();
  marksOf(row, error);
  if (error.state !== "open") {
    for (const input of row.querySelectorAll("input")) input.disabled = true;
  } else {
    for (const input of row.querySelectorAll("input[data-column]")) input.dataset.was = input.value;
  }
}

function outcome(main, text) {
  const place = main.querySelector('[data-field="outcome"]');
  while (place.firstChild) place.removeChild(place.firstChild);
  const head = document.createElement("p");
  head.textContent = text;
  place.appendChild(head);
  place.hidden = false;
  return place;
}

function tell(main, what, errors, sent, extra) {
  // What sending again did, on the page: how many, how many are ok now, each row still
  // refused with the API's new message.
  const still = errors.filter((e) => e.state === "open");
  const place = outcome(main, `${what}: ${numbers.format(sent)} sent, ${numbers.format(sent - still.length)} ok, ` +
    `${numbers.format(still.length)} still refused.${extra ? ` ${extra}` : ""}`);
  if (still.length) {
    const list = document.createElement("ul");
    for (const error of still.slice(0, 50)) {
      const item = document.createElement("li");
      item.textContent = `Row ${error.row}: ${error.message || error.category}`;
      list.appendChild(item);
    }
    place.appendChild(list);
  }
}

function gridPage() {
  const grid = document.querySelector("[data-grid]");
  const main = document.querySelector("main");
  const actions = document.querySelector(".actions[data-query]");
  const send = document.querySelector('[data-action="send-again"]');
  const resolve = document.querySelector('[data-action="resolve"]');
  const upload = document.querySelector('[data-action="upload-fix"]');
  const everyMatching = () => actions && actions.querySelector("[data-all-matching]").checked;
  const byId = (id) => grid && grid.querySelector(`tr[data-error="${id}"]`);
  if (grid) for (const input of grid.querySelectorAll("input[data-column]")) {
    // A cell shows its whole value while it is edited.
    input.addEventListener("focus", () => { input.size = Math.max(Number(input.getAttribute("size")) || 8, input.value.length + 2); });
    input.addEventListener("input", () => { input.size = Math.max(input.size, input.value.length + 2); });
  }
  if (grid && send) send.addEventListener("click", async () => {
    say(main, "");
    send.disabled = true;
    try {
      if (everyMatching()) {
        // Every open row that matches, unchanged, a hundred at a time; each answer says
        // where the next call starts.
        const all = [];
        let after = null;
        let more = true;
        while (more) {
          const query = actions.dataset.query + (after === null ? "" : `&after=${after}`);
          const done = await call("POST", `/api/errors/user-action/${actions.dataset.session}/matching/reprocess?${query}`);
          for (const error of done.errors) { all.push(error); const row = byId(error.id); if (row) settle(row, error); }
          tell(main, "Every row that matches", all, all.length, done.more ? "Sending the next ones…" : "");
          more = done.more && !done.stopped && done.errors.length > 0;
          after = done.next_after;
          if (done.stopped) say(main, done.stopped);
        }
        return;
      }
      const rows = chosenRows(grid).filter((row) => row.dataset.state === "open");
      if (!rows.length) { say(main, "Edit a cell or select a row to send again."); return; }
      const answers = [];
      for (const row of rows) {
        const record = {};
        for (const input of row.querySelectorAll("input[data-column]")) {
          if (input.value !== input.dataset.was) record[input.dataset.column] = typed(input);
        }
        try {
          const error = await call("POST", `/api/errors/user-action/${row.dataset.error}/reprocess`, { record });
          settle(row, error);
          answers.push(error);
        } catch (error) { say(main, error.message); }
      }
      tell(main, "Sent again", answers, answers.length);
    } catch (error) { say(main, error.message); }
    finally { send.disabled = false; }
  });
  if (grid && resolve) resolve.addEventListener("click", async () => {
    say(main, "");
    const all = everyMatching();
    const rows = [...grid.querySelectorAll("tr[data-error]")].filter((row) => (row.querySelector("[data-select]") || {}).checked);
    if (!all && !rows.length) { say(main, "Select the rows to resolve, or tick every row that matches."); return; }
    const note = window.prompt("Why are these rows closed without sending them again?", "");
    if (note === null) return;
    if (all) {
      try {
        const done = await call("POST", `/api/errors/user-action/${actions.dataset.session}/matching/resolve?${actions.dataset.query}`, { resolution: note });
        for (const row of grid.querySelectorAll('tr[data-error][data-state="open"]')) settle(row, { state: "resolved" });
        outcome(main, `Resolved ${numbers.format(done.resolved)} row${done.resolved === 1 ? "" : "s"}: closed without sending them again.`);
      } catch (error) { say(main, error.message); }
      return;
    }
    for (const row of rows) {
      try { settle(row, await call("POST", `/api/errors/user-action/${row.dataset.error}/resolve`, { status: "resolved", resolution: note })); }
      catch (error) { say(main, error.message); }
    }
  });
  if (upload) upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(main, "");
    const button = upload.querySelector("button");
    button.disabled = true;
    try {
      const result = await call("POST", `/api/errors/user-action/${upload.dataset.session}/fix`, new FormData(upload));
      for (const error of result.errors) { const row = byId(error.id); if (row) settle(row, error); }
      tell(main, "The fix workbook", result.errors, result.sent);
    } catch (error) { say(main, error.message); }
    finally { button.disabled = false; }
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

function runForm(form) {
  // The form as the API takes it: empty settings left out, a column type per line.
  const data = new FormData(form);
  for (const name of ["sheet", "limit", "delimiter"]) if (!data.get(name)) data.delete(name);
  const types = String(data.get("types") || "").split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  data.delete("types");
  for (const type of types) data.append("type", type);
  return data;
}

function newRunPage() {
  const form = document.querySelector('[data-action="new-run"]');
  if (!form) return;
  const previewButton = form.querySelector('[data-action="preview"]');
  if (previewButton) previewButton.addEventListener("click", async () => {
    say(form, "");
    if (!form.reportValidity()) return;
    const data = runForm(form);
    previewButton.disabled = true;
    try { showPreview(await call("POST", "/api/preview", data)); }
    catch (error) { say(form, error.message); }
    previewButton.disabled = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(form, "");
    const data = runForm(form);
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
