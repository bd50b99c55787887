/* global document, window, EventSource, fetch, sessionStorage, localStorage, requestAnimationFrame */
// The dashboard page: one EventSource on /dashboard/events, a history of time buckets, and the views.
import { drawHeatmap, timeChart } from "./charts.js";
import { colorOf, el, empty, fill, firstRequestCommand } from "./format.js";
import {
  renderEvents,
  renderGpus,
  renderInstances,
  renderKpis,
  renderModels,
  renderQueue,
  renderShare,
} from "./views.js";

const KEY_STORE = "ollama-fleet-admin-key";
const THEME_STORE = "ollama-fleet-theme";
const $ = (id) => document.getElementById(id);

let state = null;
/** Buckets by start time (ms); the stream sends all of them once, then the last two every tick. */
const buckets = new Map();
let historyLength = 300;
let drawPending = false;

// ---- theme: the system's by default, a toggle that remembers the choice ----
const media = window.matchMedia("(prefers-color-scheme: dark)");
function currentTheme() {
  return document.documentElement.dataset.theme ?? (media.matches ? "dark" : "light");
}
function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  $("theme-button").textContent = currentTheme() === "dark" ? "Light theme" : "Dark theme";
  scheduleDraw();
}
applyTheme(localStorage.getItem(THEME_STORE) ?? undefined);
media.addEventListener("change", () => applyTheme(document.documentElement.dataset.theme));
$("theme-button").addEventListener("click", () => {
  const next = currentTheme() === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_STORE, next);
  applyTheme(next);
});

// ---- admin key: asked for only when the gateway has one, kept in this tab only ----
let afterKey = null;
function adminKey() {
  return sessionStorage.getItem(KEY_STORE) ?? "";
}
function openKeyDialog(then) {
  afterKey = then ?? null;
  $("key-input").value = adminKey();
  $("key-dialog").showModal();
  $("key-input").focus();
}
$("key-button").addEventListener("click", () => openKeyDialog());
$("key-cancel").addEventListener("click", () => $("key-dialog").close());
$("key-forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORE);
  $("key-dialog").close();
  toast("Admin key forgotten for this tab.", "ok");
  updateKeyButton();
});
$("key-form").addEventListener("submit", () => {
  const key = $("key-input").value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  updateKeyButton();
  const then = afterKey;
  afterKey = null;
  if (key && then) then();
});
function updateKeyButton() {
  const needed = state?.gateway.admin === "key";
  $("key-button").hidden = !needed;
  $("key-button").textContent = adminKey() ? "Admin key ✓" : "Enter admin key";
}

function toast(message, kind) {
  const node = el(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    message,
  );
  $("toasts").append(node);
  window.setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
}

/** Drain or undrain through the admin API; refusals are explained and the key asked for again. */
async function act(inst, action) {
  if (state?.gateway.admin === "key" && !adminKey()) {
    openKeyDialog(() => act(inst, action));
    return;
  }
  const headers = adminKey() ? { authorization: `Bearer ${adminKey()}` } : {};
  let res;
  try {
    res = await fetch(`/fleet/instances/${encodeURIComponent(inst.id)}/${action}`, {
      method: "POST",
      headers,
    });
  } catch (err) {
    toast(`Could not reach the gateway: ${err.message}`, "error");
    return;
  }
  const body = await res.json().catch(() => ({}));
  if (res.ok) {
    const local = state.instances.find((i) => i.id === inst.id);
    if (local) Object.assign(local, { draining: body.draining, state: body.state });
    toast(
      action === "drain" ? `${inst.name} drained: it takes no new requests.` : `${inst.name} undrained.`,
      "ok",
    );
    scheduleDraw();
    return;
  }
  const why = typeof body.error === "string" ? body.error : (body.error?.message ?? `HTTP ${res.status}`);
  if (res.status === 401 || (res.status === 403 && state?.gateway.admin === "key")) {
    sessionStorage.removeItem(KEY_STORE);
    updateKeyButton();
    toast(`Refused (${res.status}): ${why}. Enter the gateway's admin key to ${action}.`, "error");
    openKeyDialog(() => act(inst, action));
  } else {
    toast(`Refused (${res.status}): ${why}`, "error");
  }
}

// ---- live stream ----
function setConn(kind, text) {
  $("conn").className = `conn conn-${kind}`;
  $("conn-text").textContent = text;
}
function connect() {
  const source = new EventSource("/dashboard/events");
  source.addEventListener("open", () => setConn("live", "Live"));
  source.addEventListener("error", () => setConn("lost", "Reconnecting…"));
  source.addEventListener("state", (e) => {
    const next = JSON.parse(e.data);
    if (next.seriesKind === "full") {
      buckets.clear();
      historyLength = next.series.length;
    }
    for (const p of next.series) buckets.set(p.t, p);
    const oldest = next.atMs - historyLength * next.bucketMs;
    for (const t of buckets.keys()) if (t <= oldest) buckets.delete(t);
    state = next;
    setConn("live", "Live");
    scheduleDraw();
  });
}

function scheduleDraw() {
  if (drawPending || !state) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

/** Moving sum of `values` over the last `n` entries, divided by `n` (a per-bucket average). */
function movingAverage(values, n) {
  let sum = 0;
  return values.map((v, i) => {
    sum += v;
    if (i >= n) sum -= values[i - n];
    return sum / Math.min(n, i + 1);
  });
}

const charts = {
  dist: timeChart($("dist-chart"), { height: 200, axes: { y: { label: "req/s" } } }),
  errors: timeChart($("errors-chart"), {
    height: 200,
    axes: { y: { label: "% failed", unit: "%" }, y2: { label: "attempts/s" } },
  }),
  queue: timeChart($("queue-chart"), { height: 150, axes: { y: { label: "waiting" } } }),
};

function draw() {
  const s = state;
  const theme = currentTheme();
  const series = [...buckets.values()].sort((a, b) => a.t - b.t);
  const xs = series.map((p) => p.t / 1000);
  const perSec = 1000 / s.bucketMs;
  const colors = new Map(s.instances.map((inst, i) => [inst.id, colorOf(i)]));
  colors.set("none", "#94a3b8");

  $("emulated-badge").hidden = !s.gateway.emulated;
  $("emulated-banner").hidden = !s.gateway.emulated;
  $("strategy-badge").textContent = `strategy: ${s.gateway.strategy}`;
  $("version-badge").textContent = `v${s.gateway.version}`;
  updateKeyButton();

  renderKpis($("kpis"), s, series, s.bucketMs);
  renderInstances($("instances"), s, colors, s.gateway.admin, act);
  renderGpus($("gpus"), s, colors);
  renderModels($("models"), s, colors);
  renderQueue($("queue-detail"), $("queue-hint"), s);
  renderEvents($("events"), s);

  // GPU heatmap
  const estimated = s.gpuSource === "estimated";
  $("heatmap-source").textContent = estimated
    ? "estimate: busy slots ÷ capacity"
    : "measured by the GPU monitor";
  $("heatmap-source").title = estimated
    ? "No GPU monitor is wired: each GPU's utilisation is estimated from the gateway's busy request slots on it"
    : "Readings of the GPU monitor";
  const rows = s.gpus.map((g) => ({
    label: `GPU ${g.gpuId}`,
    sub: g.name ?? g.instances.map((id) => s.instances.find((i) => i.id === id)?.name ?? id).join(", "),
    values: series.map((p) => p.gpuUtilization[String(g.gpuId)] ?? null),
  }));
  if (rows.length)
    drawHeatmap(
      $("heatmap"),
      rows,
      series.map((p) => p.t),
    );
  else fill($("heatmap"), empty("No GPU known yet."));

  // Request distribution
  const anyRequest = series.some((p) => Object.keys(p.requests).length > 0);
  const distIds = [...s.instances.map((i) => i.id), ...(series.some((p) => p.requests.none) ? ["none"] : [])];
  toggleEmpty(
    "dist",
    !anyRequest,
    "No requests yet in the last 5 minutes — send one to this gateway:",
    firstRequestCommand(firstModel(s)),
  );
  if (anyRequest) {
    charts.dist.update(
      distIds.map((id) => ({
        label: id === "none" ? "not placed" : (s.instances.find((i) => i.id === id)?.name ?? id),
        color: colors.get(id),
        unit: "/s",
      })),
      [
        xs,
        ...distIds.map((id) =>
          movingAverage(
            series.map((p) => (p.requests[id] ?? 0) * perSec),
            5,
          ),
        ),
      ],
      theme,
    );
  }
  renderShare($("dist-share"), s, series, colors);

  // Error rate: failed share of requests and failed attempts by kind, 15 s windows
  const kinds = [...new Set(series.flatMap((p) => Object.keys(p.failures)))].sort();
  toggleEmpty(
    "errors",
    !anyRequest && kinds.length === 0,
    "No requests yet — error rates appear once traffic flows.",
  );
  if (anyRequest || kinds.length) {
    const reqs = movingAverage(
      series.map((p) => Object.values(p.requests).reduce((a, b) => a + b, 0)),
      15,
    );
    const fails = movingAverage(
      series.map((p) => p.failed),
      15,
    );
    const kindColors = ["#ef4444", "#f97316", "#eab308", "#a855f7", "#06b6d4", "#ec4899", "#64748b"];
    charts.errors.update(
      [
        { label: "failed requests", color: "#dc2626", unit: "%" },
        ...kinds.map((k, i) => ({
          label: k,
          color: kindColors[i % kindColors.length],
          scale: "y2",
          fill: false,
          unit: "/s",
        })),
      ],
      [
        xs,
        reqs.map((r, i) => (r > 0 ? (100 * fails[i]) / r : 0)),
        ...kinds.map((k) =>
          movingAverage(
            series.map((p) => (p.failures[k] ?? 0) * perSec),
            15,
          ),
        ),
      ],
      theme,
    );
  }
  const totals = Object.entries(s.totals.failures);
  fill(
    $("errors-kinds"),
    totals.length
      ? totals.map(([k, n]) => el("span", { class: "chip" }, `${k} `, el("strong", {}, String(n))))
      : el("span", { class: "chip" }, "no failed upstream attempt in 5 minutes"),
  );

  // Queue depth
  charts.queue.update(
    [{ label: "queue depth", color: "#8b5cf6" }],
    [xs, series.map((p) => p.queueDepth)],
    theme,
  );
}

function firstModel(s) {
  return s.instances.flatMap((i) => i.loadedModels.map((m) => m.name))[0] ?? s.instances[0]?.modelsOnDisk[0];
}

/** Shows a chart's empty state instead of the chart (kept alive underneath for when data arrives). */
function toggleEmpty(name, isEmpty, sentence, command) {
  const chart = $(`${name}-chart`);
  let box = $(`${name}-empty`);
  if (!box) {
    box = el("div", { id: `${name}-empty` });
    chart.before(box);
  }
  chart.hidden = isEmpty;
  box.hidden = !isEmpty;
  if (isEmpty) fill(box, empty(sentence, command));
}

connect();
