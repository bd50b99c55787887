/* global document, Node */
// Small helpers of the dashboard page: DOM building, number formats and the instance palette.

/** Instance colours: distinct in light and dark, in a fixed order so an instance keeps its colour. */
export const PALETTE = [
  "#3b82f6",
  "#f97316",
  "#10b981",
  "#a855f7",
  "#ef4444",
  "#eab308",
  "#06b6d4",
  "#ec4899",
];

/** Colour of the n-th instance. */
export function colorOf(index) {
  return PALETTE[index % PALETTE.length];
}

/** Builds an element: el("td", { class: "num", title: "..." }, child, "text", ...). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") for (const [p, val] of Object.entries(v)) node.style.setProperty(p, val);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replaces a container's children. */
export function fill(container, ...children) {
  container.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

/** 1234 → "1,234"; 12.345 → "12.3" (digits chosen by magnitude). */
export function num(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

/** Milliseconds as "850 ms" or "2.4 s". */
export function ms(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x >= 1000 ? `${num(x / 1000, 1)} s` : `${num(x, 0)} ms`;
}

/** Bytes as "4.7 GB" (decimal units, like Ollama). */
export function bytes(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x >= 1e9) return `${num(x / 1e9, 1)} GB`;
  if (x >= 1e6) return `${num(x / 1e6, 0)} MB`;
  return `${num(x / 1e3, 0)} kB`;
}

/** A share 0..1 as "12.5%". */
export function pct(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return `${num(100 * x, x < 0.1 ? 1 : 0)}%`;
}

/** Local wall-clock time "14:03:22". */
export function clock(epochMs) {
  return new Date(epochMs).toLocaleTimeString("en-GB", { hour12: false });
}

/** A bar meter: track, fill (0..1) and text; `tone` picks the fill colour. */
export function meter(share, text, tone) {
  const width = `${Math.round(100 * Math.min(1, Math.max(0, share)))}%`;
  return el(
    "div",
    { class: "meter" },
    el("div", { class: "meter-track" }, el("div", { class: `meter-fill ${tone ?? ""}`, style: { width } })),
    el("span", { class: "meter-text" }, text),
  );
}

/** The explained empty state: a sentence and, optionally, a command to copy. */
export function empty(sentence, command) {
  return el("div", { class: "empty" }, el("div", {}, sentence), command ? el("code", {}, command) : null);
}

/** The curl line that sends a first request to this gateway. */
export function firstRequestCommand(model) {
  const body = JSON.stringify({ model: model ?? "MODEL", prompt: "Why is the sky blue?" });
  return `curl ${document.location.origin}/api/generate -d '${body}'`;
}
