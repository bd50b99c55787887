/** The suite's report: Markdown tables, goals, SVG plots of latency and goodput vs load, and the files. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { embedBurstMarkdown } from "./embed-burst.js";
import { linePlotSvg } from "./plot-svg.js";
import { evaluateSuiteGoals, meanOver, sweepLevels, type SuiteGoal } from "./suite-goals.js";
import type { SuiteReport, SuiteRow } from "./suite.js";

const f = (x: number | undefined, d = 2): string =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(d) : "–";
const pct = (x: number): string => `${Math.round(x * 100)}%`;

function rowsTable(rows: SuiteRow[], showSeed: boolean): string[] {
  const out = [
    "| load | variant | offered req/s | done req/s | goodput req/s (÷ oracle) | out tok/s | TTFT p50/p90/p99 s | ITL p50/p90 ms | e2e p50/p90/p99 s | hit rate (oracle) | prefill computed k tok | open sessions | loads | errors / cut | GPU util |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const c = r.client;
    const util = r.utilisation.map((u) => (Number.isFinite(u) ? Math.round(u * 100) : "–")).join("/");
    out.push(
      `| ${pct(r.level)}${showSeed ? ` s${r.seed}` : ""} | ${r.variant} | ${f(r.offeredRps)} | ${f(c.completedRps)} | ${f(c.goodputRps)} (${f(r.goodputVsOracle)}) | ${f(c.outputTokensPerSec, 0)} | ` +
        `${f(c.ttft.p50)}/${f(c.ttft.p90)}/${f(c.ttft.p99)} | ${f(c.itl.p50 * 1000, 0)}/${f(c.itl.p90 * 1000, 0)} | ${f(c.e2e.p50)}/${f(c.e2e.p90)}/${f(c.e2e.p99)} | ` +
        `${f(r.hitRate)} (${f(r.oracle.hitRate)}) | ${f(r.prefillComputed / 1000, 0)} | ${f(r.openSessions, 1)} | ${r.loads} | ${c.errors} / ${c.cut} | ${util}% |`,
    );
  }
  return out;
}

/** The report as Markdown (tables per workload and scenario, oracle figures, bursts, goals). */
export function suiteMarkdown(report: SuiteReport, goals: SuiteGoal[], plots: string[]): string {
  const out: string[] = [
    `Suite run ${report.date}${report.full ? " (full sweep)" : " (default plan)"}, seeds ${report.seeds.join(", ")}, ` +
      `${f(report.wallSeconds / 60, 1)} min wall. SLO for goodput: TTFT ≤ ${report.slo.ttftSec} s and mean ITL ≤ ` +
      `${report.slo.itlSec * 1000} ms (emulated). All rates and latencies are emulated (wall × time scale); the first ` +
      `${pct(report.warmupShare)} of each window is warm-up. "hit rate" = prefill tokens reused ÷ prompt tokens, ` +
      `from the emulators' counters; in brackets the oracle's for the same sessions.`,
    "",
  ];
  for (const w of report.workloads) {
    out.push(
      `**${w.id}** — ${w.title}. Fleet: ${w.fleet}. Time scale ${w.timeScale}, ${w.windowSeconds} emulated s of arrivals per cell; ` +
        `oracle capacity ${f(w.capacityRps)} req/s (load levels are shares of it).`,
      "",
    );
    for (const scenario of ["sweep", "overload", "kill"] as const) {
      const rows = report.rows.filter((r) => r.workload === w.id && r.scenario === scenario);
      if (rows.length === 0) continue;
      if (scenario !== "sweep")
        out.push(`_${scenario === "kill" ? "instance 1 crashed at 40% of the window" : "overload"}:_`, "");
      out.push(...rowsTable(rows, report.seeds.length > 1), "");
    }
  }
  if (report.bursts.length > 0) {
    out.push(
      "**Bursts** (`bench/embed-burst.ts`, run from the suite: 2 emulators, RTX 3060 12 GB, real time; wall-clock " +
        "figures; sharing = EnableBatchProcessing + EnableRequestCoalescing):",
      "",
      embedBurstMarkdown(report.bursts),
      "",
    );
  }
  out.push("**Goals** (ours = WeightedRoundRobin + KV-cache affinity, batching and coalescing off):", "");
  out.push("| workload | load | goal | measured | met |", "| --- | --- | --- | --- | --- |");
  for (const g of goals) {
    out.push(
      `| ${g.workload} | ${g.level === undefined ? "" : pct(g.level)} | ${g.goal} | ${f(g.value)} | ${g.met === undefined ? "–" : g.met ? "yes" : "**no**"} |`,
    );
  }
  if (plots.length > 0) out.push("", ...plots.map((p) => `![${p}](${p})`));
  return out.join("\n");
}

/** SVG plots per swept workload: TTFT p90 and e2e p90 vs load (log scale), goodput vs load with the oracle. */
export function suitePlots(report: SuiteReport): { name: string; svg: string }[] {
  const out: { name: string; svg: string }[] = [];
  for (const w of report.workloads) {
    const levels = sweepLevels(report.rows, w.id);
    if (levels.length < 2) continue;
    const variants = [
      ...new Set(
        report.rows.filter((r) => r.workload === w.id && r.scenario === "sweep").map((r) => r.variant),
      ),
    ];
    const series = (metric: (r: SuiteRow) => number) =>
      variants.map((v) => ({
        name: v,
        points: levels.map((l): [number, number] => [
          l * 100,
          meanOver(report.rows, { workload: w.id, variant: v, level: l }, metric) ?? NaN,
        ]),
      }));
    for (const [key, title, metric] of [
      ["ttft-p90", "TTFT p90", (r: SuiteRow) => r.client.ttft.p90],
      ["e2e-p90", "end-to-end p90", (r: SuiteRow) => r.client.e2e.p90],
    ] as const) {
      out.push({
        name: `suite-${w.id}-${key}.svg`,
        svg: linePlotSvg({
          title: `${w.id}: ${title} vs load`,
          xLabel: "offered load, % of oracle capacity",
          yLabel: `${title}, emulated s (log)`,
          logY: true,
          series: series(metric),
        }),
      });
    }
    const good = series((r) => r.client.goodputRps);
    const oracle = {
      name: "oracle",
      dashed: true,
      points: levels.map((l): [number, number] => {
        const bound = meanOver(
          report.rows,
          { workload: w.id, variant: variants[0]!, level: l },
          (r) => Math.min(r.offeredRps, r.oracle.capacityRps) * r.oracle.sloAttainable,
        );
        return [l * 100, bound ?? NaN];
      }),
    };
    out.push({
      name: `suite-${w.id}-goodput.svg`,
      svg: linePlotSvg({
        title: `${w.id}: goodput vs load`,
        xLabel: "offered load, % of oracle capacity",
        yLabel: "goodput at the SLO, req/s",
        series: [...good, oracle],
      }),
    });
  }
  return out;
}

/** Writes bench/results/suite-<date>.{md,json} and the plots under docs/img/; returns the Markdown. */
export async function writeSuiteReport(report: SuiteReport, root = process.cwd()): Promise<string> {
  const goals = evaluateSuiteGoals(report);
  const plots = suitePlots(report);
  const imgDir = join(root, "docs/img");
  await mkdir(imgDir, { recursive: true });
  for (const p of plots) await writeFile(join(imgDir, p.name), p.svg);
  const stem = `suite-${report.date.slice(0, 10)}${report.full ? "-full" : ""}`;
  const resultsDir = join(root, "bench/results");
  await mkdir(resultsDir, { recursive: true });
  const markdown = suiteMarkdown(
    report,
    goals,
    plots.map((p) => `../../docs/img/${p.name}`),
  );
  await writeFile(join(resultsDir, `${stem}.json`), `${JSON.stringify({ ...report, goals }, null, 1)}\n`);
  await writeFile(join(resultsDir, `${stem}.md`), `# Benchmark suite ${report.date}\n\n${markdown}\n`);
  return markdown;
}
