/** A tiny SVG line plot (no dependencies): one polyline with dots per series, axes, ticks and a legend. */

/** One line of a plot. */
export interface PlotSeries {
  name: string;
  /** [x, y] pairs; non-finite y values are left out. */
  points: [number, number][];
  /** Drawn dashed (a bound rather than a measurement). */
  dashed?: boolean;
}

/** What to draw. */
export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** Logarithmic y axis (latencies that span decades). */
  logY?: boolean;
  width?: number;
  height?: number;
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const label = (v: number): string =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(0)
    : String(Number(v.toPrecision(3)));

/** Renders the plot as a standalone SVG document. */
export function linePlotSvg(p: LinePlot): string {
  const longest = Math.max(0, ...p.series.map((s) => s.name.length));
  // Room for the legend: about 7 px per character of the longest name.
  const m = { left: 64, right: 50 + 7 * longest, top: 36, bottom: 48 };
  const width = p.width ?? 470 + m.right;
  const height = p.height ?? 400;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const pts = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  const xMin = Math.min(...xs, Infinity);
  const xMax = Math.max(...xs, -Infinity);
  const fy = (y: number): number => (p.logY ? Math.log10(y) : y);
  let yMin = p.logY ? Math.floor(Math.min(...ys.map(fy))) : Math.min(0, ...ys);
  let yMax = p.logY ? Math.ceil(Math.max(...ys.map(fy))) : Math.max(...ys);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (yMax <= yMin) yMax = yMin + 1;
  const xSpan = xMax > xMin ? xMax - xMin : 1;
  const sx = (x: number): number => m.left + ((x - (Number.isFinite(xMin) ? xMin : 0)) / xSpan) * plotW;
  const sy = (y: number): number => m.top + plotH - ((fy(y) - yMin) / (yMax - yMin)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left + plotW / 2}" y="20" text-anchor="middle" font-size="14">${escape(p.title)}</text>`,
  ];
  const yTicks = p.logY
    ? Array.from({ length: yMax - yMin + 1 }, (_, i) => 10 ** (yMin + i))
    : niceTicks(yMin, yMax);
  for (const t of yTicks) {
    const y = sy(t);
    out.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${label(t)}</text>`,
    );
  }
  for (const t of Number.isFinite(xMin) ? niceTicks(xMin, xMax) : []) {
    const x = sx(t);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + plotH}" stroke="#eee"/>`,
      `<text x="${x}" y="${m.top + plotH + 16}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(p.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(p.yLabel)}</text>`,
  );
  p.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const good = s.points
      .filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0))
      .sort((a, b) => a[0] - b[0]);
    if (good.length > 1) {
      const d = good.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
      out.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of good) {
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    const ly = m.top + 10 + i * 18;
    out.push(
      `<line x1="${m.left + plotW + 12}" x2="${m.left + plotW + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${m.left + plotW + 38}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
