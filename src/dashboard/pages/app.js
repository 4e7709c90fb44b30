// The rayts dashboard: preact + htm views over the JSON API, refreshed on
// each server-sent "status" event. No build step: the server hands out these
// files and the libraries from node_modules.
import { h, render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import uPlot from "uplot";

const html = htm.bind(h);
const token = new URLSearchParams(location.search).get("token");

function api(path) {
  const url = token === null ? `/api/${path}` : `/api/${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
  return fetch(url).then((response) => response.json());
}

// ---- live updates ----

const live = { ticks: 0, status: undefined, listeners: new Set(), logListeners: new Set(), connected: false };
function connect() {
  const source = new EventSource(token === null ? "/events" : `/events?token=${encodeURIComponent(token)}`);
  source.addEventListener("open", () => { live.connected = true; });
  source.addEventListener("error", () => { live.connected = false; for (const listener of live.listeners) listener(); });
  source.addEventListener("status", (event) => {
    live.ticks++;
    live.status = JSON.parse(event.data);
    for (const listener of live.listeners) listener();
  });
  source.addEventListener("log", (event) => {
    const line = JSON.parse(event.data);
    for (const listener of live.logListeners) listener(line);
  });
}

/** Re-renders on every live update; returns the update count. */
function useLive() {
  const [ticks, setTicks] = useState(live.ticks);
  useEffect(() => {
    const listener = () => setTicks(live.ticks);
    live.listeners.add(listener);
    return () => live.listeners.delete(listener);
  }, []);
  return ticks;
}

/** JSON from the API, fetched again on each live update. */
function useApi(path) {
  const ticks = useLive();
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    let stale = false;
    api(path).then((body) => { if (!stale) { setData(body); setError(body.error); } }, (failure) => { if (!stale) setError(String(failure)); });
    return () => { stale = true; };
  }, [path, ticks]);
  return [data, error];
}

function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/overview");
  useEffect(() => {
    const listener = () => setHash(location.hash || "#/overview");
    addEventListener("hashchange", listener);
    return () => removeEventListener("hashchange", listener);
  }, []);
  return hash.slice(2).split("?")[0].split("/");
}

// ---- formatting ----

const time = (ms) => (ms === undefined || ms === null ? "" : new Date(ms).toLocaleTimeString(undefined, { hour12: false }) + "." + String(Math.floor(ms % 1000)).padStart(3, "0"));
const duration = (from, to) => (from === undefined || to === undefined || from === null || to === null ? "" : `${(to - from).toFixed(2)} ms`);
const bytes = (n) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const State = ({ state }) => html`<span class=${`state ${state}`} data-state=${state}>${state}</span>`;
// In a cluster, task ids are per node: a link names the node too.
const taskHref = (id, nodeId) => `#/tasks/${id}${nodeId === undefined ? "" : `?nodeId=${encodeURIComponent(nodeId)}`}`;
const TASK_STATES = ["pendingArgs", "queued", "assigned", "running", "finished", "failed", "cancelled"];

function Table({ columns, rows, testid, empty = "Nothing here yet." }) {
  if (rows.length === 0) return html`<p class="note" data-testid=${testid}>${empty}</p>`;
  return html`<table data-testid=${testid}>
    <thead><tr>${columns.map(([label, , cls]) => html`<th class=${cls ?? ""}>${label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${columns.map(([, cell, cls]) => html`<td class=${cls ?? ""}>${cell(row)}</td>`)}</tr>`)}</tbody>
  </table>`;
}

// ---- charts (uPlot) ----

function Chart({ title, samples, field, scale = (v) => v, testid }) {
  const holder = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const data = [samples.map((s) => s.time / 1000), samples.map((s) => scale(s[field]))];
    if (plot.current === null) {
      plot.current = new uPlot({ title, width: 420, height: 200, series: [{}, { label: title, stroke: "#2a5bd7", fill: "rgba(42,91,215,0.12)" }], axes: [{}, { size: 60 }] }, data, holder.current);
    } else plot.current.setData(data);
  }, [samples]);
  useEffect(() => () => plot.current?.destroy(), []);
  return html`<div class="chart" data-testid=${testid} ref=${holder}></div>`;
}

// ---- pages ----

function Overview() {
  const [status] = useApi("status");
  if (status === undefined) return html`<p>Loading…</p>`;
  const storeBytes = status.nodes.reduce((sum, n) => sum + n.objectStoreBytes, 0);
  const cpus = status.nodes.reduce((sum, n) => sum + n.cpus, 0);
  const used = status.nodes.reduce((sum, n) => sum + n.cpusUsed, 0);
  return html`<h2>Overview</h2>
    <div class="cards">
      <div class="card"><div class="label">Nodes</div><div class="value" data-testid="nodes-count">${status.nodes.length}</div></div>
      <div class="card"><div class="label">CPU slots busy</div><div class="value" data-testid="cpus-busy">${used} / ${cpus}</div></div>
      <div class="card"><div class="label">Pending tasks</div><div class="value" data-testid="pending-total" title=${`${status.demand.queuedOnNodes} queued on nodes, ${status.demand.heldByDrivers} held back in drivers`}>${status.demand.total}</div></div>
      <div class="card"><div class="label">Finished tasks</div><div class="value" data-testid="finished-total">${status.finishedTotal}</div></div>
      <div class="card"><div class="label">Failed tasks</div><div class="value" data-testid="failed-total">${status.failedTotal}</div></div>
      <div class="card"><div class="label">Object store</div><div class="value" data-testid="store-bytes">${bytes(storeBytes)}</div></div>
    </div>
    <h3>Tasks by state</h3>
    <div class="cards">${TASK_STATES.map((state) => html`<div class="card"><div class="label">${state}</div><div class="value" data-testid=${`tasks-${state}`}>${status.tasks[state] ?? 0}</div></div>`)}</div>
    <h3>Over time</h3>
    <div class="charts">
      <${Chart} title="Tasks / s" samples=${status.samples} field="tasksPerSecond" testid="chart-tasks" />
      <${Chart} title="Object store (MiB)" samples=${status.samples} field="storeBytes" scale=${(v) => v / 2 ** 20} testid="chart-store" />
    </div>
    <h3>Recent errors</h3>
    <${Table} testid="recent-errors" empty="No task failed." rows=${status.recentErrors} columns=${[
      ["Task", (t) => html`<a href=${taskHref(t.taskId, t.nodeId)}>${t.name} (${t.taskId})</a>`],
      ["Error", (t) => t.error?.message ?? "", "wrap"],
      ["Ended", (t) => time(t.endedAt)],
    ]} />
    ${status.dropped.tasks > 0 ? html`<p class="note">${status.dropped.tasks} older task records were dropped to stay bounded.</p>` : null}`;
}

function Summary() {
  const [summary] = useApi("tasks/summary");
  if (summary === undefined) return null;
  return html`<h3>By function</h3><${Table} testid="task-summary" rows=${summary.byFunction} columns=${[
    ["Function", (f) => html`<a href=${`#/tasks?name=${encodeURIComponent(f.name)}`}>${f.name}</a>`],
    ["Type", (f) => f.type],
    ["Total", (f) => f.total, "num"],
    ...TASK_STATES.map((state) => [state, (f) => f.states[state] ?? "", "num"]),
    ["Retries", (f) => f.retries, "num"],
    ["Mean run", (f) => (f.meanRunMs === undefined ? "" : `${f.meanRunMs.toFixed(2)} ms`), "num"],
  ]} />`;
}

const PAGE = 50;

function Tasks() {
  const initial = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const [state, setState] = useState(initial.get("state") ?? "");
  const [name, setName] = useState(initial.get("name") ?? "");
  const [offset, setOffset] = useState(0);
  const query = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (state !== "") query.set("state", state);
  if (name !== "") query.set("name", name);
  const [list] = useApi(`tasks?${query}`);
  return html`<h2>Tasks</h2>
    <${Summary} />
    <h3>Tasks, newest first</h3>
    <div class="toolbar">
      <label>State <select data-testid="filter-state" value=${state} onChange=${(e) => { setState(e.target.value); setOffset(0); }}>
        <option value="">any</option>${TASK_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>Name <input data-testid="filter-name" value=${name} onChange=${(e) => { setName(e.target.value); setOffset(0); }} /></label>
      <button data-testid="prev" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
      <button data-testid="next" disabled=${list === undefined || offset + PAGE >= list.total} onClick=${() => setOffset(offset + PAGE)}>Next</button>
      <span class="note" data-testid="tasks-total">${list === undefined ? "" : `${list.total === 0 ? 0 : offset + 1}-${Math.min(offset + PAGE, list.total)} of ${list.total}`}</span>
      ${list !== undefined && list.dropped > 0 ? html`<span class="note">(${list.dropped} older records dropped)</span>` : null}
    </div>
    ${list === undefined ? html`<p>Loading…</p>` : html`<${Table} testid="tasks-table" rows=${list.items} columns=${[
      ["Id", (t) => html`<a href=${taskHref(t.taskId, t.nodeId)} data-testid=${`task-link-${t.taskId}`}>${t.taskId}</a>`, "num"],
      ["Name", (t) => t.name],
      ["Node", (t) => t.nodeId],
      ["State", (t) => html`<${State} state=${t.state} />`],
      ["Worker", (t) => t.worker ?? ""],
      ["Attempts", (t) => t.attempts, "num"],
      ["Submitted", (t) => time(t.submittedAt)],
      ["Run", (t) => duration(t.startedAt, t.endedAt), "num"],
      ["Error", (t) => t.error?.message ?? "", "wrap"],
    ]} />`}`;
}

function TaskDetail({ id }) {
  const nodeId = new URLSearchParams(location.hash.split("?")[1] ?? "").get("nodeId");
  const [detail, error] = useApi(`tasks/${id}${nodeId === null ? "" : `?nodeId=${encodeURIComponent(nodeId)}`}`);
  if (error !== undefined) return html`<h2>Task ${id}</h2><p>${error}</p>`;
  if (detail === undefined) return html`<p>Loading…</p>`;
  const t = detail.task;
  return html`<h2>Task ${t.name} (${t.taskId})</h2>
    <dl class="fields" data-testid="task-detail">
      <dt>State</dt><dd><${State} state=${t.state} /></dd>
      <dt>Type</dt><dd>${t.type}${t.actorId === undefined ? "" : html` of actor <a href="#/actors">${t.actorId}</a>`}</dd>
      <dt>Node / worker</dt><dd>${t.nodeId} / ${t.worker ?? "not placed"}</dd>
      <dt>Attempts (retries)</dt><dd>${t.attempts}</dd>
      <dt>Parent task</dt><dd>${t.parentTaskId === undefined ? "the driver" : html`<a href=${taskHref(t.parentTaskId, t.nodeId)}>${t.parentTaskId}</a>`}</dd>
      <dt>Submitted</dt><dd>${time(t.submittedAt)}</dd>
      <dt>Queued</dt><dd>${time(t.queuedAt)}</dd>
      <dt>Assigned</dt><dd>${time(t.assignedAt)}</dd>
      <dt>Started</dt><dd>${time(t.startedAt)}</dd>
      <dt>Ended</dt><dd>${time(t.endedAt)} ${t.endedAt ? `(run ${duration(t.startedAt, t.endedAt)})` : ""}</dd>
    </dl>
    ${t.error ? html`<h3>Error</h3><pre class="error" data-testid="task-error">${t.error.name} (${t.error.code}): ${t.error.message}\n\n${t.error.stack ?? ""}</pre>` : null}
    <h3>Logs</h3>
    ${detail.logs.length === 0 ? html`<p class="note">No output.</p>` : html`<pre class="logs" data-testid="task-logs">${detail.logs.slice().reverse().map((l) => `${l.text}\n`)}</pre>`}
    <h3>Children</h3>
    <${Table} testid="task-children" empty="No child tasks." rows=${detail.children} columns=${[
      ["Id", (c) => html`<a href=${taskHref(c.taskId, c.nodeId)}>${c.taskId}</a>`, "num"],
      ["Name", (c) => c.name],
      ["State", (c) => html`<${State} state=${c.state} />`],
    ]} />`;
}

function Actors() {
  const [list] = useApi("actors?limit=1000");
  if (list === undefined) return html`<p>Loading…</p>`;
  return html`<h2>Actors</h2><${Table} testid="actors-table" rows=${list.items} columns=${[
    ["Id", (a) => a.actorId, "num"],
    ["Name", (a) => a.name],
    ["Class", (a) => a.className],
    ["State", (a) => html`<${State} state=${a.state} />`],
    ["Worker", (a) => a.worker ?? ""],
    ["Node", (a) => a.nodeId],
    ["Restarts", (a) => a.restarts, "num"],
    ["Started", (a) => time(a.startedAt)],
    ["Death cause", (a) => a.deathCause ?? "", "wrap"],
  ]} />`;
}

function Nodes() {
  const [nodes] = useApi("nodes");
  const [workers] = useApi("workers?limit=5000");
  if (nodes === undefined || workers === undefined) return html`<p>Loading…</p>`;
  return html`<h2>Nodes and workers</h2>
    <${Table} testid="nodes-table" rows=${nodes.items} columns=${[
      ["Node", (n) => n.nodeId],
      ["Address", (n) => n.address],
      ["Alive", (n) => (n.alive ? "yes" : "no")],
      ["CPU slots busy", (n) => `${n.cpusUsed} / ${n.cpus}`, "num"],
      ["Object store", (n) => `${bytes(n.objectStoreBytes)} of ${bytes(n.objectStoreCapacity)}`, "num"],
    ]} />
    <h3>Workers</h3>
    <${Table} testid="workers-table" rows=${workers.items} columns=${[
      ["Node", (w) => w.nodeId],
      ["Worker", (w) => w.worker],
      ["Type", (w) => w.type],
      ["Alive", (w) => (w.alive ? "yes" : "no")],
      ["Running task", (w) => (w.runningTask === undefined ? "" : html`<a href=${taskHref(w.runningTask, w.nodeId)}>${w.runningTask}</a>`)],
      ["Exit reason", (w) => w.exitReason ?? "", "wrap"],
    ]} />`;
}

function Objects() {
  const [memory] = useApi("memory");
  if (memory === undefined) return html`<p>Loading…</p>`;
  return html`<h2>Objects and memory</h2>
    <div class="cards">
      <div class="card"><div class="label">Objects</div><div class="value" data-testid="objects-count">${memory.numObjects}</div></div>
      <div class="card"><div class="label">Bytes used</div><div class="value" data-testid="objects-bytes">${bytes(memory.bytesUsed)}</div></div>
      <div class="card"><div class="label">Capacity</div><div class="value">${bytes(memory.capacity)}</div></div>
      <div class="card"><div class="label">Freed</div><div class="value" data-testid="objects-freed">${memory.freed.count} (${bytes(memory.freed.bytes)})</div></div>
    </div>
    <h3>By reference type</h3>
    <${Table} testid="memory-by-type" rows=${Object.entries(memory.byReferenceType)} columns=${[
      ["Reference type", ([type]) => type],
      ["Objects", ([, v]) => v.count, "num"],
      ["Bytes", ([, v]) => bytes(v.bytes), "num"],
    ]} />
    <h3>By owner</h3>
    <${Table} testid="memory-by-owner" rows=${memory.byOwner} columns=${[
      ["Owner", (o) => o.owner],
      ["Objects", (o) => o.count, "num"],
      ["Bytes", (o) => bytes(o.bytes), "num"],
    ]} />
    <h3>Largest objects</h3>
    <${Table} testid="objects-table" rows=${memory.objects} columns=${[
      ["Object", (o) => o.objectId, "num"],
      ["Size", (o) => bytes(o.bytes), "num"],
      ["Status", (o) => o.status],
      ["Node", (o) => o.nodeId ?? ""],
      ["Owner", (o) => o.owner],
      ["Reference type", (o) => o.referenceType],
      ["Pinned by tasks", (o) => o.pinnedBy.join(", ")],
      ["Borrowed by", (o) => Object.entries(o.borrowedBy).map(([w, n]) => `${w} x${n}`).join(", ")],
    ]} />`;
}

function Logs() {
  const [lines, setLines] = useState([]);
  useEffect(() => {
    let stale = false;
    // Lines that arrive live while the history loads are kept: the history goes before them, without the ones it also has.
    const key = (l) => `${l.time} ${l.nodeId ?? ""} ${l.worker} ${l.text}`;
    api("logs?limit=500").then((body) => {
      if (stale) return;
      const past = body.items.slice().reverse();
      const seen = new Set(past.map(key));
      setLines((live) => past.concat(live.filter((l) => !seen.has(key(l)))).slice(-2000));
    });
    const listener = (line) => setLines((old) => old.concat([line]).slice(-2000));
    live.logListeners.add(listener);
    return () => { stale = true; live.logListeners.delete(listener); };
  }, []);
  return html`<h2>Live logs</h2><p class="note">Lines tasks and actors print, as they arrive.</p>
    <pre class="logs" data-testid="logs">${lines.map((l) => `${time(l.time)} [${l.nodeId === undefined ? "" : `${l.nodeId} `}${l.worker}] ${l.text}\n`)}</pre>`;
}

function Timeline() {
  const [list] = useApi("tasks?limit=2000");
  if (list === undefined) return html`<p>Loading…</p>`;
  const spans = list.items.filter((t) => t.startedAt !== undefined && t.endedAt !== undefined && t.worker !== undefined);
  const from = Math.min(...spans.map((t) => t.startedAt));
  const to = Math.max(...spans.map((t) => t.endedAt));
  const width = Math.max(to - from, 1e-3);
  const track = (t) => `${t.nodeId} ${t.worker}`;
  const workers = [...new Set(spans.map(track))].sort();
  const download = token === null ? "/api/timeline" : `/api/timeline?token=${encodeURIComponent(token)}`;
  return html`<h2>Timeline</h2>
    <p class="note">Run spans of the last ${spans.length} tasks per worker, over ${spans.length === 0 ? 0 : width.toFixed(1)} ms. <a href=${download} download="trace.json">Download trace.json</a> for Perfetto (ui.perfetto.dev) or chrome://tracing, with submit, queue and run phases.</p>
    <div class="gantt" data-testid="timeline">${workers.map((worker) => html`<div class="row"><span>${worker}</span><div class="track">
      ${spans.filter((t) => track(t) === worker).map((t) => html`<a href=${taskHref(t.taskId, t.nodeId)} class=${`span ${t.state}`} title=${`${t.name} (${t.taskId}) ${duration(t.startedAt, t.endedAt)}`}
        style=${`left:${((t.startedAt - from) / width) * 100}%;width:${((t.endedAt - t.startedAt) / width) * 100}%`}></a>`)}
    </div></div>`)}</div>`;
}

const PAGES = [
  ["overview", "Overview"],
  ["tasks", "Tasks"],
  ["actors", "Actors"],
  ["nodes", "Nodes & workers"],
  ["objects", "Objects & memory"],
  ["logs", "Logs"],
  ["timeline", "Timeline"],
];

function App() {
  const [page, id] = useRoute();
  const ticks = useLive();
  let view;
  if (page === "tasks" && id !== undefined) view = html`<${TaskDetail} id=${id} />`;
  else if (page === "tasks") view = html`<${Tasks} key=${location.hash} />`;
  else if (page === "actors") view = html`<${Actors} />`;
  else if (page === "nodes") view = html`<${Nodes} />`;
  else if (page === "objects") view = html`<${Objects} />`;
  else if (page === "logs") view = html`<${Logs} />`;
  else if (page === "timeline") view = html`<${Timeline} />`;
  else view = html`<${Overview} />`;
  return html`<div class="shell">
    <nav>
      <h1>rayts</h1>
      ${PAGES.map(([key, label]) => html`<a href=${`#/${key}`} class=${page === key ? "active" : ""} data-testid=${`nav-${key}`}>${label}</a>`)}
      <div class=${live.connected ? "live" : "live off"}><span class="dot"></span>live updates: <span data-testid="live-ticks">${ticks}</span></div>
    </nav>
    <main>${view}</main>
  </div>`;
}

connect();
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
