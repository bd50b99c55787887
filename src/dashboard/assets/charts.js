/* global document, window, getComputedStyle, ResizeObserver, uPlot */
// Charts of the dashboard page: uPlot time series and the GPU heatmap (a canvas of its own).
import { clock, el, fill } from "./format.js";

/** The current theme's colours, read from the CSS variables. */
export function themeColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  return {
    text: v("--text"),
    muted: v("--muted"),
    grid: v("--grid"),
    surface: v("--surface"),
    heat0: v("--heat-0"),
    bad: v("--bad"),
  };
}

/** A hex colour with an alpha, for area fills. */
function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/**
 * A uPlot line chart in `container`, rebuilt when its series or the theme change, resized with its box.
 * series: [{ label, color, scale?, fill? }]; axes: { y: { label, unit }, y2?: { label, unit } }.
 */
export function timeChart(container, { height, axes }) {
  let plot;
  let signature = "";
  const observer = new ResizeObserver(() => {
    if (plot) plot.setSize({ width: container.clientWidth, height });
  });
  observer.observe(container);

  function build(series, data) {
    const c = themeColors();
    const axis = (label, unit, side, scale) => ({
      scale,
      side,
      label,
      stroke: c.muted,
      grid: { stroke: c.grid, width: 1, show: side === 3 },
      ticks: { show: false },
      size: 52,
      values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(3)}${unit ?? ""}`),
    });
    const opts = {
      width: Math.max(200, container.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      axes: [
        {
          stroke: c.muted,
          grid: { stroke: c.grid, width: 1 },
          ticks: { show: false },
          space: 70,
          values: (_u, ticks) => ticks.map((t) => clock(t * 1000)),
        },
        axis(axes.y.label, axes.y.unit, 3, "y"),
      ],
      series: [
        { label: "time", value: (_u, v) => (v === null ? "–" : clock(v * 1000)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          scale: s.scale ?? "y",
          fill: s.fill === false ? undefined : alpha(s.color, 0.1),
          points: { show: false },
          spanGaps: true,
          value: (_u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)}${s.unit ?? ""}`),
        })),
      ],
    };
    if (axes.y2) {
      opts.scales.y2 = { range: (_u, _min, max) => [0, niceMax(max)] };
      opts.axes.push(axis(axes.y2.label, axes.y2.unit, 1, "y2"));
    }
    if (plot) plot.destroy();
    plot = new uPlot(opts, data, container);
  }

  return {
    /** Draws `data` ([xs, ...ys], xs in seconds) for `series`; rebuilds on a new series set or theme. */
    update(series, data, theme) {
      const sig = `${theme}|${series.map((s) => `${s.label}:${s.color}`).join(",")}`;
      if (sig !== signature || !plot) {
        signature = sig;
        build(series, data);
      } else {
        plot.setData(data);
      }
    },
    destroy() {
      observer.disconnect();
      if (plot) plot.destroy();
    },
  };
}

/** A round upper bound for a y axis starting at 0 (at least 1). */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (max <= m * p) return m * p;
  return 10 * p;
}

/** The text, cut with an ellipsis to fit `width` pixels. */
function fit(g, text, width) {
  if (g.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 1 && g.measureText(`${t}…`).width > width) t = t.slice(0, -1);
  return `${t}…`;
}

/** Utilisation 0..100 → colour: the empty cell colour, then blue, amber and red as load rises. */
function heatColor(value, c) {
  if (value === null || value === undefined) return c.heat0;
  const stops = [
    [0, [96, 165, 250, 0.18]],
    [30, [59, 130, 246, 0.75]],
    [70, [245, 158, 11, 0.9]],
    [100, [220, 38, 38, 1]],
  ];
  let i = 1;
  while (i < stops.length - 1 && value > stops[i][0]) i++;
  const [a, ca] = stops[i - 1];
  const [b, cb] = stops[i];
  const t = Math.min(1, Math.max(0, (value - a) / (b - a)));
  const mix = ca.map((x, k) => x + (cb[k] - x) * t);
  return `rgba(${mix[0] | 0}, ${mix[1] | 0}, ${mix[2] | 0}, ${mix[3]})`;
}

/**
 * Draws the GPU × time heatmap: one row per GPU, one column per bucket (oldest left), a time axis and a
 * legend; hovering a cell shows GPU, time and value.
 */
export function drawHeatmap(container, rows, times) {
  const c = themeColors();
  const labelW = 150;
  const rowH = 34;
  const axisH = 20;
  const width = Math.max(300, container.clientWidth);
  const height = rows.length * rowH + axisH;
  const ratio = window.devicePixelRatio || 1;
  const canvas = el("canvas", { width: width * ratio, height: height * ratio, role: "img" });
  canvas.style.height = `${height}px`;
  canvas.setAttribute(
    "aria-label",
    `GPU utilisation heatmap, ${rows.length} GPUs over ${times.length} seconds`,
  );
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const cols = Math.max(1, times.length);
  const cellW = (width - labelW) / cols;
  g.font = "12px system-ui, sans-serif";
  g.textBaseline = "middle";
  rows.forEach((row, r) => {
    const y = r * rowH;
    g.fillStyle = c.text;
    g.fillText(fit(g, row.label, labelW - 10), 0, y + rowH / 2 - 7);
    g.fillStyle = c.muted;
    g.fillText(fit(g, row.sub, labelW - 10), 0, y + rowH / 2 + 8);
    row.values.forEach((v, i) => {
      g.fillStyle = heatColor(v, c);
      g.fillRect(labelW + i * cellW, y + 3, Math.ceil(cellW), rowH - 6);
    });
  });
  g.fillStyle = c.muted;
  g.textBaseline = "top";
  const marks = [0, 0.25, 0.5, 0.75, 1];
  for (const m of marks) {
    const i = Math.min(cols - 1, Math.round(m * (cols - 1)));
    const ago = Math.round((times[cols - 1] - times[i]) / 1000);
    const text =
      ago === 0 ? "now" : `−${ago >= 60 ? `${(ago / 60).toFixed(ago % 60 ? 1 : 0)} min` : `${ago} s`}`;
    const x = labelW + i * cellW;
    g.textAlign = m === 0 ? "left" : m === 1 ? "right" : "center";
    g.fillText(text, m === 1 ? width : x, rows.length * rowH + 5);
  }
  const tip = el("div", { class: "tooltip", hidden: true });
  canvas.addEventListener("mousemove", (e) => {
    const box = canvas.getBoundingClientRect();
    const x = e.clientX - box.left;
    const r = Math.floor((e.clientY - box.top) / rowH);
    const i = Math.floor((x - labelW) / cellW);
    const row = rows[r];
    if (!row || i < 0 || i >= cols) {
      tip.hidden = true;
      return;
    }
    const v = row.values[i];
    tip.textContent = `${row.label} · ${clock(times[i])} · ${v === null ? "no sample" : `${Math.round(v)}%`}`;
    tip.style.left = `${x}px`;
    tip.style.top = `${r * rowH}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  const scale = el("canvas", { class: "heat-scale", width: 160, height: 8 });
  const sg = scale.getContext("2d");
  for (let x = 0; x < 160; x++) {
    sg.fillStyle = heatColor((x / 159) * 100, c);
    sg.fillRect(x, 0, 1, 8);
  }
  const legend = el("div", { class: "heat-legend" }, "0%", scale, "100%");
  fill(container, canvas, tip, legend);
}
