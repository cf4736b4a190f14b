// The page: choose a database, ask, watch the steps stream, see the answer, rate it.
// The token (when the service has one) comes from the address, /#token=..., or the box.
"use strict";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("devstarl-token") || "";
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromHash) { token = fromHash; sessionStorage.setItem("devstarl-token", token); }
let databases = [];
let traceId = null;

function headers() {
  const h = { "Content-Type": "application/json" };
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { headers: headers() }
    : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({ error: r.statusText }));
  if (r.status === 401) $("token-box").hidden = false;
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function showError(message) { $("error").textContent = message; $("error").hidden = !message; }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

async function loadDatabases() {
  try {
    const data = await api("/api/databases");
    databases = data.databases;
    $("db").replaceChildren(...databases.map((d) => el("option", d.name)));
    $("db").value = data.default;
    showTables();
    showError("");
  } catch (e) { showError(e.message); }
}

function showTables() {
  const db = databases.find((d) => d.name === $("db").value);
  $("tables").replaceChildren(...(db ? db.tables : []).map((t) => {
    const d = el("details");
    d.append(el("summary", `${t.name} (${t.rows.toLocaleString()} rows)`));
    const ul = el("ul");
    ul.append(...t.columns.map((c) => el("li", `${c.name}: ${c.type}`)));
    d.append(ul);
    return d;
  }));
}

function addStep(step) {
  const li = el("li", undefined, step.ok === undefined ? "" : step.ok ? "ok" : "failed");
  li.append(el("span", step.name, "name"),
            el("span", `${step.seconds.toFixed(2)} s` + (step.tokens ? `, ${step.tokens} tokens` : "")));
  if (step.detail) li.append(el("span", step.detail, "detail"));
  $("steps").append(li);
}

function showAnswer(a) {
  traceId = a.trace_id;
  $("result").hidden = false;
  $("trace-id").textContent = a.trace_id;
  $("code").textContent = a.code || "";
  $("sql").textContent = a.sql || "(no SQL: the program did not run)";
  $("feedback-status").textContent = "";
  for (const b of [$("up"), $("down")]) b.classList.remove("chosen");
  const table = $("answer");
  table.replaceChildren();
  Plotly.purge($("chart"));
  if (!a.ok) { showError("no verified answer: " + a.error); $("rows-note").textContent = ""; return; }
  const head = el("tr");
  a.columns.forEach((c, i) => { const th = el("th", c); th.append(el("small", a.types[i])); head.append(th); });
  table.append(head);
  for (const row of a.rows) {
    const tr = el("tr");
    tr.append(...row.map((v) => el("td", v === null ? "NULL" : String(v))));
    table.append(tr);
  }
  $("rows-note").textContent = `(${a.row_count.toLocaleString()} row${a.row_count === 1 ? "" : "s"}` +
    (a.row_count > a.rows.length ? `, first ${a.rows.length} shown)` : ")");
  if (a.chart) Plotly.newPlot($("chart"), a.chart.data, a.chart.layout, { displaylogo: false, responsive: true });
}

// Server-sent events over fetch (EventSource cannot send the Authorization header).
async function ask(question) {
  const r = await fetch("/api/ask/stream", { method: "POST", headers: headers(),
    body: JSON.stringify({ question, db: $("db").value }) });
  if (!r.ok) {
    const data = await r.json().catch(() => ({ error: r.statusText }));
    if (r.status === 401) $("token-box").hidden = false;
    throw new Error(data.error || r.statusText);
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll("\r\n", "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (!data) continue;  // a keep-alive comment
      const payload = JSON.parse(data);
      if (event === "step") addStep(payload);
      else if (event === "answer") showAnswer(payload);
      else if (event === "error") throw new Error(payload.error);
    }
  }
}

$("ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("question").value;
  $("ask").disabled = true;
  $("steps").replaceChildren();
  $("result").hidden = true;
  showError("");
  try { await ask(question); } catch (err) { showError(err.message); }
  $("ask").disabled = false;
});

for (const [id, rating] of [["up", "up"], ["down", "down"]]) {
  $(id).addEventListener("click", async () => {
    if (!traceId) return;
    try {
      await api(`/api/traces/${traceId}/feedback`, { rating });
      for (const b of [$("up"), $("down")]) b.classList.toggle("chosen", b.id === id);
      $("feedback-status").textContent = "saved on the trace, thank you";
    } catch (err) { $("feedback-status").textContent = err.message; }
  });
}

$("db").addEventListener("change", showTables);
$("token-save").addEventListener("click", () => {
  token = $("token").value.trim();
  sessionStorage.setItem("devstarl-token", token);
  $("token-box").hidden = true;
  loadDatabases();
});
loadDatabases();
