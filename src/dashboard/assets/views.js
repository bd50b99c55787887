// DOM views of the dashboard page: KPIs, instance table, GPUs, model performance, queue and events.
import { bytes, clock, el, empty, fill, firstRequestCommand, meter, ms, num, pct } from "./format.js";

/** Sums over the last `n` buckets of the series. */
export function recent(series, n) {
  const tail = series.slice(-n);
  let requests = 0;
  let failed = 0;
  let tokens = 0;
  let ttftWeighted = 0;
  let ttftWeight = 0;
  for (const p of tail) {
    const count = Object.values(p.requests).reduce((a, b) => a + b, 0);
    requests += count;
    failed += p.failed;
    tokens += p.outputTokens;
    if (p.ttftMeanMs !== null) {
      ttftWeighted += p.ttftMeanMs * Math.max(1, count);
      ttftWeight += Math.max(1, count);
    }
  }
  return {
    requests,
    failed,
    tokens,
    seconds: tail.length,
    ttftMs: ttftWeight ? ttftWeighted / ttftWeight : null,
  };
}

function kpi(label, value, sub, tone) {
  return el(
    "div",
    { class: `kpi ${tone ? `kpi-${tone}` : ""}`, "data-kpi": label },
    el("div", { class: "kpi-label" }, label),
    el("div", { class: "kpi-value" }, value),
    el("div", { class: "kpi-sub" }, sub),
  );
}

/** The summary strip. */
export function renderKpis(container, state, series, bucketMs) {
  const perSec = 1000 / bucketMs;
  const last10 = recent(series, 10);
  const last60 = recent(series, 60);
  const healthy = state.instances.filter((i) => i.state === "healthy").length;
  const inFlight = state.instances.reduce((a, i) => a + i.inFlight, 0);
  const capacity = state.instances.reduce((a, i) => a + i.capacity, 0);
  const errRate = last60.requests ? last60.failed / last60.requests : 0;
  fill(
    container,
    kpi("Requests/s", num((last10.requests / Math.max(1, last10.seconds)) * perSec), "last 10 s"),
    kpi("Output tokens/s", num((last10.tokens / Math.max(1, last10.seconds)) * perSec, 0), "last 10 s"),
    kpi("Time to first token", ms(last60.ttftMs), "mean, last 60 s"),
    kpi(
      "Error rate",
      pct(errRate),
      `${num(last60.failed, 0)} of ${num(last60.requests, 0)} requests, 60 s`,
      errRate > 0.05 ? "bad" : errRate > 0 ? "warn" : undefined,
    ),
    kpi(
      "In flight / queued",
      `${inFlight} / ${state.queue.depth}`,
      `${capacity} slots · queue holds ${state.queue.capacity}`,
      state.queue.depth > 0 ? "warn" : undefined,
    ),
    kpi(
      "Healthy instances",
      `${healthy} / ${state.instances.length}`,
      healthy === state.instances.length ? "all serving" : "some are not taking requests",
      healthy < state.instances.length ? "warn" : undefined,
    ),
  );
}

function scoreTone(score) {
  return score === null ? "" : score >= 0.6 ? "good" : score >= 0.3 ? "mid" : "low";
}

/** The instance table, with drain/undrain buttons wired to `onAction(instance, "drain" | "undrain")`. */
export function renderInstances(container, state, colors, admin, onAction) {
  if (state.instances.length === 0) {
    fill(container, empty("No instances configured — add gpu_instances to the YAML file and restart."));
    return;
  }
  const head = el(
    "tr",
    {},
    ["Instance", "GPU", "State", "Health score", "Load", "Loaded models", "Requests", "Failures", ""].map(
      (h, i) => el("th", { class: i === 6 || i === 7 ? "num" : "" }, h),
    ),
  );
  const rows = state.instances.map((inst) => {
    const scoreTitle =
      inst.scores.map((s) => `${s.model}: ${s.score.toFixed(2)}`).join("\n") || "no model to score";
    const action = inst.draining ? "undrain" : "drain";
    const disabled = admin === "disabled";
    const button = el(
      "button",
      {
        class: "btn btn-small",
        type: "button",
        "data-action": action,
        "data-instance": inst.id,
        disabled,
        title: disabled
          ? "Admin endpoints are disabled: the gateway listens on a public address and no AdminKey is configured"
          : action === "drain"
            ? "Stop sending new requests here; requests in flight finish"
            : "Take new requests again",
        onclick: () => onAction(inst, action),
      },
      action === "drain" ? "Drain" : "Undrain",
    );
    return el(
      "tr",
      { "data-instance": inst.id },
      el(
        "td",
        {},
        el(
          "div",
          { class: "inst-name" },
          el("span", { class: "swatch", style: { background: colors.get(inst.id) } }),
          inst.name,
        ),
        el("div", { class: "sub" }, inst.id),
      ),
      el("td", {}, `GPU ${inst.gpuId}`),
      el(
        "td",
        {},
        el(
          "span",
          { class: `state state-${inst.state}`, "data-state": inst.state, title: inst.lastError ?? "" },
          inst.state,
        ),
      ),
      el(
        "td",
        { title: scoreTitle },
        meter(inst.score ?? 0, inst.score === null ? "–" : inst.score.toFixed(2), scoreTone(inst.score)),
      ),
      el("td", {}, meter(inst.inFlight / inst.capacity, `${inst.inFlight}/${inst.capacity}`)),
      el(
        "td",
        {},
        inst.loadedModels.length
          ? el(
              "div",
              { class: "models-list" },
              inst.loadedModels.map((m) =>
                el("span", { class: "model-chip", title: bytes(m.sizeVramBytes) }, m.name),
              ),
            )
          : el("span", { class: "sub" }, "none loaded"),
      ),
      el("td", { class: "num" }, num(inst.requestsTotal, 0)),
      el(
        "td",
        { class: "num", title: `failed share of recent attempts: ${pct(inst.errorRate)}` },
        num(inst.failuresTotal, 0),
        el("div", { class: "sub" }, pct(inst.errorRate)),
      ),
      el("td", { class: "num" }, button),
    );
  });
  fill(container, el("table", { id: "instances-table" }, el("thead", {}, head), el("tbody", {}, rows)));
}

/** Loaded models per GPU, with a VRAM bar split by model. */
export function renderGpus(container, state, colors) {
  if (state.gpus.length === 0) {
    fill(container, empty("No GPU known yet."));
    return;
  }
  const cards = state.gpus.map((gpu) => {
    const used = gpu.memoryUsedBytes ?? gpu.loadedModels.reduce((a, m) => a + m.sizeVramBytes, 0);
    const total = gpu.memoryTotalBytes ?? null;
    // The gateway's view of loaded models can briefly exceed the limit (a load seen before an eviction).
    const denom = Math.max(total ?? 0, used, 1);
    const segments = gpu.loadedModels.map((m) =>
      el("span", {
        title: `${m.name} on ${m.instanceId}: ${bytes(m.sizeVramBytes)}`,
        style: { width: `${(100 * m.sizeVramBytes) / denom}%`, background: colors.get(m.instanceId) },
      }),
    );
    const memText = total
      ? `${bytes(used)} in models · ${bytes(total)} limit`
      : used
        ? `${bytes(used)} in models`
        : "";
    const extras = [
      gpu.temperatureC !== undefined ? `${num(gpu.temperatureC, 0)} °C` : null,
      gpu.powerW !== undefined ? `${num(gpu.powerW, 0)} W` : null,
    ].filter(Boolean);
    return el(
      "div",
      { class: "gpu", "data-gpu": gpu.gpuId },
      el(
        "div",
        { class: "gpu-head" },
        el("span", { class: "gpu-name" }, `GPU ${gpu.gpuId}${gpu.name ? ` · ${gpu.name}` : ""}`),
        el(
          "span",
          { class: "sub" },
          [
            gpu.utilizationPercent === null ? "no reading" : `${Math.round(gpu.utilizationPercent)}% busy`,
            ...extras,
          ].join(" · "),
        ),
      ),
      gpu.condition && gpu.condition !== "healthy"
        ? el(
            "div",
            { class: "gpu-condition" },
            el(
              "span",
              { class: `state state-${gpu.condition === "lost" ? "unhealthy" : "draining"}` },
              gpu.condition,
            ),
            " ",
            el("span", { class: "sub" }, (gpu.reasons ?? []).join("; ")),
          )
        : null,
      el("div", { class: "vram" }, segments),
      gpu.loadedModels.length
        ? el(
            "div",
            { class: "models-list" },
            gpu.loadedModels.map((m) =>
              el("span", { class: "model-chip" }, `${m.name} · ${bytes(m.sizeVramBytes)}`),
            ),
            el("span", { class: "sub" }, memText),
          )
        : el("div", { class: "sub" }, "No model loaded — the first request for a model loads it here."),
    );
  });
  fill(container, cards);
}

/** Tokens/s and TTFT of each model on each instance, as bars comparable across the table. */
export function renderModels(container, state, colors) {
  const rows = state.models.filter((m) => m.tokensPerSecond !== null || m.ttftMs !== null);
  if (rows.length === 0) {
    fill(
      container,
      empty(
        "No measurements yet — speeds appear after the first completed generation on each instance. Try:",
        firstRequestCommand(state.instances[0]?.loadedModels[0]?.name ?? state.instances[0]?.modelsOnDisk[0]),
      ),
    );
    return;
  }
  const maxTps = Math.max(1, ...rows.map((m) => m.tokensPerSecond ?? 0));
  const maxTtft = Math.max(1, ...rows.map((m) => m.ttftMs ?? 0));
  const names = new Map(state.instances.map((i) => [i.id, i.name]));
  let lastModel = "";
  const body = rows.map((m) => {
    const first = m.model !== lastModel;
    lastModel = m.model;
    return el(
      "tr",
      { "data-model": m.model, "data-instance": m.instanceId },
      el("td", { class: "model-name" }, first ? m.model : ""),
      el(
        "td",
        { class: "nowrap" },
        el("span", { class: "swatch", style: { background: colors.get(m.instanceId) } }),
        names.get(m.instanceId) ?? m.instanceId,
      ),
      el("td", {}, meter((m.tokensPerSecond ?? 0) / maxTps, num(m.tokensPerSecond, 0), "good")),
      el("td", {}, meter((m.ttftMs ?? 0) / maxTtft, ms(m.ttftMs), "mid")),
      el("td", { class: "num" }, num(m.samples, 0)),
    );
  });
  const head = el(
    "tr",
    {},
    ["Model", "Instance", "Tokens/s", "Time to first token", "Samples"].map((h, i) =>
      el("th", { class: i === 4 ? "num" : "" }, h),
    ),
  );
  fill(container, el("table", { id: "models-table" }, el("thead", {}, head), el("tbody", {}, body)));
}

/** Share of the window's requests per instance. */
export function renderShare(container, state, series, colors) {
  const totals = new Map();
  for (const p of series)
    for (const [id, n] of Object.entries(p.requests)) totals.set(id, (totals.get(id) ?? 0) + n);
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  if (all === 0) {
    fill(container);
    return;
  }
  const names = new Map(state.instances.map((i) => [i.id, i.name]));
  const ids = [...state.instances.map((i) => i.id), ...[...totals.keys()].filter((k) => !names.has(k))];
  fill(
    container,
    ids.map((id) => {
      const n = totals.get(id) ?? 0;
      const label = id === "none" ? "not placed (no instance)" : (names.get(id) ?? id);
      return el(
        "div",
        { class: "share-row", "data-instance": id },
        el(
          "span",
          {},
          el("span", { class: "swatch", style: { background: colors.get(id) ?? "#888" } }),
          label,
        ),
        meter(n / all, pct(n / all)),
        el("span", { class: "sub" }, `${num(n, 0)} requests`),
      );
    }),
  );
}

/** Queue numbers by model and priority, and its rejections. */
export function renderQueue(container, hint, state) {
  const q = state.queue;
  hint.textContent = `${q.depth} waiting of ${q.capacity} · oldest ${ms(q.oldestWaitMs)}`;
  const rejected = Object.entries(q.rejectedTotal).filter(([, n]) => n > 0);
  const models = Object.entries(q.byModel).filter(([, p]) => p.high + p.normal + p.low > 0);
  fill(
    container,
    el(
      "div",
      { class: "chips" },
      el("span", { class: "chip" }, "queued so far ", el("strong", {}, num(q.enqueuedTotal, 0))),
      models.map(([m, p]) =>
        el(
          "span",
          { class: "chip" },
          `${m}: `,
          el("strong", {}, `${p.high}/${p.normal}/${p.low}`),
          " high/normal/low",
        ),
      ),
      rejected.map(([k, n]) =>
        el("span", { class: "chip" }, `${k.replace("_", " ")} `, el("strong", {}, num(n, 0))),
      ),
    ),
    q.depth === 0 && q.enqueuedTotal === 0
      ? el(
          "div",
          { class: "sub" },
          "Nothing has waited yet — requests queue only when every instance holding their model is full.",
        )
      : null,
  );
}

/** Notable events, newest first. */
export function renderEvents(container, state) {
  if (state.events.length === 0) {
    fill(
      container,
      el(
        "li",
        { class: "empty" },
        "Nothing notable yet — health changes, breaker trips, drains and failed attempts appear here.",
      ),
    );
    return;
  }
  const names = new Map(state.instances.map((i) => [i.id, i.name]));
  fill(
    container,
    state.events.map((e) =>
      el(
        "li",
        { class: `ev-${e.level}` },
        el("span", { class: "ev-time" }, clock(e.atMs)),
        el("span", {}, e.instanceId ? (names.get(e.instanceId) ?? e.instanceId) : "gateway"),
        el(
          "span",
          { class: "ev-msg" },
          e.message,
          e.count > 1 ? el("span", { class: "ev-count" }, `×${e.count}`) : null,
        ),
      ),
    ),
  );
}
