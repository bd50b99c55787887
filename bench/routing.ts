/**
 * Routing: every LoadBalancingStrategy side by side on the same emulated fleets and the same seeded
 * requests. Each (workload, phase, strategy) cell runs on fresh emulator processes and a fresh gateway
 * CLI, so no strategy inherits another's loaded models or measurements.
 *
 * Two phases per workload:
 * - saturation: a closed loop keeps 2 × the fleet's slots of requests outstanding (every slot busy and as
 *   many waiting in the gateway's queue), always the same request list in the same order; completions per
 *   second is then each strategy's capacity.
 * - load: open-loop Poisson arrivals (seeded) at LOAD_FACTOR × the best capacity a gateway strategy reached,
 *   run to completion; this is where latencies are compared. 0.7 rather than closer to 1: capacities vary by
 *   ±10–15% from run to run on the multi-model mixes, and at 0.85 the p99s measured which strategies happened
 *   to tip into overload (a queue growing for the whole run) rather than how they route.
 *
 * "Pinned" is a reference row for the multi-model workloads: the same fleet with each disk holding only the
 * models of a hand-made static placement, so no request can trigger a load where it does not fit.
 *
 * Rates, token rates and latencies are reported in emulated time (wall time × the workload's time scale):
 * what the modelled GPUs would show. The gateway's own per-request CPU time is scaled up by the same factor.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LOAD_BALANCING_STRATEGIES } from "../src/config/schema.js";
import { startEmulatorProcess, startGatewayProcess, type Started } from "./processes.js";
import { runClosedLoop, runOpenLoop, type RequestRecord } from "./routing-load.js";
import {
  arrivals,
  gpuFlag,
  idealCapacity,
  modelsFlag,
  ROUTING_WORKLOADS,
  type ScheduledRequest,
  type Workload,
} from "./workloads/routing-workloads.js";

/**
 * A reference, not a gateway strategy: each GPU's disk holds only the models of the workload's hand-made
 * static placement (routed by LeastConnections), so nothing is ever loaded where it does not fit.
 */
export const PINNED = "Pinned";

/** Share of the best measured capacity the load phase offers. */
export const LOAD_FACTOR = 0.7;

/** Requests kept outstanding in the saturation phase, per slot of the fleet. */
export const SATURATION_BACKLOG_PER_SLOT = 2;

/** The saturation phase runs this share of the workload's window: a capacity needs fewer samples than a p99. */
export const SATURATION_WINDOW_SHARE = 0.6;

/** Share of each run's arrival window left out of the figures while models load for the first time. */
export const WARMUP_SHARE = 0.25;

/** Settings of a routing benchmark run. */
export interface RoutingOptions {
  /** Overrides every workload's time scale when set. */
  timeScale?: number;
  /** Multiplies every workload's window (0.5 for a quick look, 3 for tighter percentiles). */
  windowFactor: number;
  /** A load-phase run may last this many windows after its last arrival before what is left is cut off. */
  drainWindows: number;
  seed: number;
  /** Skips the saturation phase and offers this rate (emulated req/s) in the load phase. */
  loadRps?: number;
  workloads: Workload[];
  strategies: string[];
  /** When set, every request's record is written to <traceDir>/<workload>-<phase>-<strategy>.json. */
  traceDir?: string;
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** Counters one emulator reports at the end of a run (GET /__sim/stats). */
export interface EmulatorCounters {
  gpu: string;
  requests: number;
  tokensGenerated: number;
  loads: number;
  evictions: number;
  busyMs: number;
}

/** One strategy on one workload in one phase. */
export interface RoutingRow {
  workload: string;
  phase: "saturation" | "load";
  strategy: string;
  /** Offered arrivals, emulated req/s (load phase); undefined for the closed loop. */
  offeredRps: number | undefined;
  sent: number;
  /** Requests that ended with a full answer within the measured window, per emulated second. */
  completedRps: number;
  /** Output tokens of those answers, per emulated second. */
  outputTokensPerSec: number;
  /** Over requests that arrived after the warm-up and completed; emulated seconds. */
  ttftP50: number;
  ttftP99: number;
  e2eP50: number;
  e2eP99: number;
  /** Requests that arrived after the warm-up and did not complete (rejected, failed or cut off). */
  failed: number;
  /** Of those, queue rejections (HTTP 503) and cut-offs at the end of the run. */
  rejected: number;
  cut: number;
  loads: number;
  evictions: number;
  /** Share of the requests each instance served, in fleet order. */
  share: number[];
  /** Share of the run (from the first request to the last answer) each GPU had a sequence running. */
  utilisation: number[];
  emulators: EmulatorCounters[];
  /** Answered requests by model, then by instance: where each model was served. */
  placement: Record<string, Record<string, number>>;
  wallSeconds: number;
}

/** The whole benchmark's output. */
export interface RoutingReport {
  seed: number;
  loadFactor: number;
  backlogPerSlot: number;
  workloads: {
    id: string;
    title: string;
    timeScale: number;
    windowSeconds: number;
    idealCapacityRps: number;
    outstanding: number;
    loadRps: number;
  }[];
  rows: RoutingRow[];
  goals: GoalCheck[];
}

/** One of the goals, evaluated on this run's rows. */
export interface GoalCheck {
  workload: string;
  goal: string;
  value: number | undefined;
  met: boolean | undefined;
}

/** Options from the environment, with defaults sized for a few minutes on 2 cores. */
export function routingOptionsFromEnv(env: NodeJS.ProcessEnv, log: (line: string) => void): RoutingOptions {
  const list = (v: string | undefined): string[] | undefined =>
    v === undefined || v.trim() === "" ? undefined : v.split(",").map((s) => s.trim());
  const workloadIds = list(env.BENCH_ROUTING_WORKLOADS);
  const strategies = list(env.BENCH_ROUTING_STRATEGIES) ?? [...LOAD_BALANCING_STRATEGIES, PINNED];
  const workloads = workloadIds
    ? ROUTING_WORKLOADS.filter((w) => workloadIds.includes(w.id))
    : ROUTING_WORKLOADS;
  return {
    timeScale: env.BENCH_TIME_SCALE ? Number(env.BENCH_TIME_SCALE) : undefined,
    windowFactor: Number(env.BENCH_ROUTING_WINDOW_FACTOR ?? 1),
    drainWindows: 1,
    seed: Number(env.BENCH_SEED ?? 42),
    traceDir: env.BENCH_ROUTING_TRACE || undefined,
    loadRps: env.BENCH_ROUTING_LOAD_RPS ? Number(env.BENCH_ROUTING_LOAD_RPS) : undefined,
    workloads,
    strategies,
    log,
  };
}

/** Runs every workload × phase × strategy and evaluates the goals. */
export async function benchRouting(o: RoutingOptions): Promise<RoutingReport> {
  const rows: RoutingRow[] = [];
  const workloads: RoutingReport["workloads"] = [];
  for (const w of o.workloads) {
    const scale = o.timeScale ?? w.timeScale;
    const window = w.windowSeconds * o.windowFactor;
    const ideal = idealCapacity(w);
    const slots = w.fleet.gpus.reduce((n, g) => n + g.parallel, 0);
    const outstanding = SATURATION_BACKLOG_PER_SLOT * slots;
    o.log(
      `${w.id}: time scale ${scale}, ${window} emulated s per run; ideal capacity ${ideal.toFixed(2)} req/s; ` +
        `saturation with ${outstanding} outstanding`,
    );
    // More requests than the fleet could finish in the window even at its ideal capacity.
    const list = arrivals(w, 2 * ideal, window, o.seed);
    const strategies = o.strategies.filter((s) => s !== PINNED || w.pinned !== undefined);
    for (const strategy of o.loadRps === undefined ? strategies : []) {
      const row = await runCell(o, w, scale, SATURATION_WINDOW_SHARE * window, strategy, {
        kind: "saturation",
        list,
        outstanding,
      });
      rows.push(row);
      o.log(progress(row));
    }
    // The reference does not set the pace: the load phase is "near saturation" for the best gateway strategy.
    const best = Math.max(
      ...rows.filter((r) => r.workload === w.id && r.strategy !== PINNED).map((r) => r.completedRps),
    );
    const loadRate = o.loadRps ?? LOAD_FACTOR * best;
    o.log(`${w.id}: best capacity ${best.toFixed(2)} req/s; load phase at ${loadRate.toFixed(2)} req/s`);
    const schedule = arrivals(w, loadRate, window, o.seed + 1);
    for (const strategy of strategies) {
      const row = await runCell(o, w, scale, window, strategy, { kind: "load", schedule, rate: loadRate });
      rows.push(row);
      o.log(progress(row));
    }
    workloads.push({
      id: w.id,
      title: w.title,
      timeScale: scale,
      windowSeconds: window,
      idealCapacityRps: ideal,
      outstanding,
      loadRps: loadRate,
    });
  }
  return {
    seed: o.seed,
    loadFactor: LOAD_FACTOR,
    backlogPerSlot: SATURATION_BACKLOG_PER_SLOT,
    workloads,
    rows,
    goals: evaluateGoals(rows),
  };
}

function progress(r: RoutingRow): string {
  return (
    `  ${r.phase} ${r.strategy}: ${r.completedRps.toFixed(2)} req/s, ${r.outputTokensPerSec.toFixed(0)} tok/s, ` +
    `TTFT p50/p99 ${r.ttftP50.toFixed(2)}/${r.ttftP99.toFixed(2)} s, e2e p50/p99 ${r.e2eP50.toFixed(2)}/` +
    `${r.e2eP99.toFixed(2)} s, loads ${r.loads}, evictions ${r.evictions}, failed ${r.failed} ` +
    `(${r.wallSeconds.toFixed(1)} s wall)`
  );
}

/** The INI of a benchmark gateway: the strategy, and the polling intervals scaled to emulated time. */
function gatewayIni(strategy: string, timeScale: number): string {
  // A 10 s inventory refresh is 10 emulated seconds of loads and evictions; keep it so under the time
  // scale, else the gateway's view of what is loaded would be timeScale× staler than in a real fleet.
  return [
    "[GPU_LoadBalancing]",
    `LoadBalancingStrategy = ${strategy}`,
    `HealthCheckIntervalSeconds = ${30 / timeScale}`,
    "[Gateway]",
    `InventoryRefreshSeconds = ${10 / timeScale}`,
    "",
  ].join("\n");
}

type Phase =
  | { kind: "saturation"; list: ScheduledRequest[]; outstanding: number }
  | { kind: "load"; schedule: ScheduledRequest[]; rate: number };

async function runCell(
  o: RoutingOptions,
  w: Workload,
  timeScale: number,
  windowSeconds: number,
  strategy: string,
  phase: Phase,
): Promise<RoutingRow> {
  const started: Started[] = [];
  const t0 = performance.now();
  const pinned = strategy === PINNED ? w.pinned : undefined;
  const gpus = w.fleet.gpus.map((g, i) =>
    pinned ? { ...g, models: g.models.filter((m) => pinned[i]!.includes(m.name)) } : g,
  );
  try {
    const emulators = await Promise.all(
      gpus.map((g, i) =>
        startEmulatorProcess(
          [
            "--gpu",
            gpuFlag(g),
            "--models",
            modelsFlag(g),
            "--parallel",
            String(g.parallel),
            "--num-ctx",
            "4096",
            "--time-scale",
            String(timeScale),
            "--id",
            `${w.fleet.id}-${i}`,
          ],
          { quiet: true },
        ),
      ),
    );
    started.push(...emulators);
    const gateway = await startGatewayProcess(
      emulators.map((e) => e.url),
      ["--log-level", "error"],
      {
        instances: w.fleet.gpus.map((g) => ({
          name: g.name,
          memoryLimit: `${g.vramGb}GiB`,
          maxConcurrentRequests: g.parallel,
        })),
        ini: gatewayIni(pinned ? "LeastConnections" : strategy, timeScale),
      },
    );
    started.push(gateway);
    const windowMs = (windowSeconds * 1000) / timeScale;
    const records =
      phase.kind === "saturation"
        ? await runClosedLoop({
            url: gateway.url,
            requests: phase.list,
            outstanding: phase.outstanding,
            durationMs: windowMs,
          })
        : await runOpenLoop({
            url: gateway.url,
            schedule: phase.schedule,
            timeScale,
            cutoffMs: windowMs * (1 + o.drainWindows),
          });
    const counters = await Promise.all(emulators.map((e, i) => emulatorCounters(e, w.fleet.gpus[i]!.name)));
    if (o.traceDir !== undefined) {
      await mkdir(o.traceDir, { recursive: true });
      await writeFile(join(o.traceDir, `${w.id}-${phase.kind}-${strategy}.json`), JSON.stringify(records));
    }
    return summarise({
      workload: w.id,
      phase: phase.kind,
      strategy,
      rate: phase.kind === "load" ? phase.rate : undefined,
      records,
      counters,
      timeScale,
      windowMs,
      wallSeconds: (performance.now() - t0) / 1000,
    });
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}

async function emulatorCounters(e: Started, gpu: string): Promise<EmulatorCounters> {
  const s = (await (await fetch(`${e.url}/__sim/stats`)).json()) as {
    tokensGenerated: number;
    loads: number;
    evictions: number;
    busyMs: number;
    perModel: Record<string, { requests: number }>;
  };
  const requests = Object.values(s.perModel).reduce((n, m) => n + m.requests, 0);
  return {
    gpu,
    requests,
    tokensGenerated: s.tokensGenerated,
    loads: s.loads,
    evictions: s.evictions,
    busyMs: s.busyMs,
  };
}

/** Quantile of a sorted list (nearest rank); NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summarise(input: {
  workload: string;
  phase: RoutingRow["phase"];
  strategy: string;
  rate: number | undefined;
  records: RequestRecord[];
  counters: EmulatorCounters[];
  timeScale: number;
  windowMs: number;
  wallSeconds: number;
}): RoutingRow {
  const { records, counters, timeScale, windowMs } = input;
  const warmMs = WARMUP_SHARE * windowMs;
  const spanSec = ((windowMs - warmMs) * timeScale) / 1000;
  const ok = records.filter((r) => r.outcome === "ok");
  const doneInWindow = ok.filter((r) => r.endMs! >= warmMs && r.endMs! <= windowMs);
  const measured = records.filter((r) => r.sentMs >= warmMs);
  const measuredOk = measured.filter((r) => r.outcome === "ok");
  const sec = (ms: number): number => (ms * timeScale) / 1000;
  const ttft = measuredOk.map((r) => sec(r.firstLineMs! - r.sentMs)).sort((a, b) => a - b);
  const e2e = measuredOk.map((r) => sec(r.endMs! - r.sentMs)).sort((a, b) => a - b);
  // A closed loop always leaves its backlog unfinished at the end: only the load phase counts cut-offs as failures.
  const failed = measured.filter(
    (r) => r.outcome !== "ok" && (input.phase === "load" || r.outcome !== "cut"),
  );
  const served = counters.reduce((n, c) => n + c.requests, 0);
  const runMs = Math.max(...records.map((r) => r.endMs ?? r.sentMs), windowMs);
  return {
    workload: input.workload,
    phase: input.phase,
    strategy: input.strategy,
    offeredRps: input.rate,
    sent: records.length,
    completedRps: doneInWindow.length / spanSec,
    outputTokensPerSec: doneInWindow.reduce((n, r) => n + r.outputTokens, 0) / spanSec,
    ttftP50: quantile(ttft, 0.5),
    ttftP99: quantile(ttft, 0.99),
    e2eP50: quantile(e2e, 0.5),
    e2eP99: quantile(e2e, 0.99),
    failed: failed.length,
    rejected: failed.filter((r) => r.outcome === "http_503").length,
    cut: failed.filter((r) => r.outcome === "cut").length,
    loads: counters.reduce((n, c) => n + c.loads, 0),
    evictions: counters.reduce((n, c) => n + c.evictions, 0),
    share: counters.map((c) => (served === 0 ? 0 : c.requests / served)),
    utilisation: counters.map((c) => c.busyMs / runMs),
    emulators: counters,
    placement: placementOf(ok),
    wallSeconds: input.wallSeconds,
  };
}

function placementOf(records: RequestRecord[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of records) {
    const byInstance = (out[r.model] ??= {});
    // Instance ids are gpu<N>-<port>; the port changes with every run.
    const id = r.instance?.replace(/-\d+$/, "") ?? "?";
    byInstance[id] = (byInstance[id] ?? 0) + 1;
  }
  return out;
}

function row(rows: RoutingRow[], workload: string, phase: RoutingRow["phase"], strategy: string) {
  return rows.find((r) => r.workload === workload && r.phase === phase && r.strategy === strategy);
}

/** The goals (§7), each as a ratio against the same run's baseline. */
export function evaluateGoals(rows: RoutingRow[]): GoalCheck[] {
  const checks: GoalCheck[] = [];
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a) ? undefined : a / b;
  const add = (
    workload: string,
    goal: string,
    value: number | undefined,
    ok: (v: number) => boolean,
  ): void => {
    checks.push({ workload, goal, value, met: value === undefined ? undefined : ok(value) });
  };
  for (const workload of new Set(rows.map((r) => r.workload))) {
    const wrrSat = row(rows, workload, "saturation", "WeightedRoundRobin");
    const wrrLoad = row(rows, workload, "load", "WeightedRoundRobin");
    const lcSat = row(rows, workload, "saturation", "LeastConnections");
    const lcLoad = row(rows, workload, "load", "LeastConnections");
    const rrSat = row(rows, workload, "saturation", "RoundRobin");
    if (workload.endsWith("-single")) {
      const t = ratio(wrrSat?.completedRps, lcSat?.completedRps);
      add(workload, "capacity WRR ÷ LC within 3% (≥ 0.97)", t, (v) => v >= 0.97);
      const p50 = ratio(wrrLoad?.e2eP50, lcLoad?.e2eP50);
      add(workload, "e2e p50 WRR ÷ LC ≤ 1.03", p50, (v) => v <= 1.03);
      const p99 = ratio(wrrLoad?.e2eP99, lcLoad?.e2eP99);
      add(workload, "e2e p99 WRR ÷ LC ≤ 1.03", p99, (v) => v <= 1.03);
    } else {
      const t = ratio(wrrSat?.completedRps, rrSat?.completedRps);
      add(workload, "capacity WRR ÷ RoundRobin ≥ 2.0", t, (v) => v >= 2);
      const p99 = ratio(wrrLoad?.e2eP99, lcLoad?.e2eP99);
      add(workload, "e2e p99 WRR ÷ LC ≤ 0.6", p99, (v) => v <= 0.6);
    }
  }
  return checks;
}

const SHORT: Record<string, string> = {
  WeightedRoundRobin: "WRR",
  RoundRobin: "RR",
  LeastConnections: "LC",
  Random: "Random",
  PowerOfTwoChoices: "P2C",
  [PINNED]: "Pinned (LC)",
};

/** Markdown tables of the report: one per workload, then the goals. */
export function routingMarkdown(report: RoutingReport): string {
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : "–");
  const out: string[] = [];
  for (const w of report.workloads) {
    out.push(
      `**${w.id}** — ${w.title}. Time scale ${w.timeScale}, ${f(w.windowSeconds, 0)} emulated s per run; ` +
        `ideal capacity ${f(w.idealCapacityRps)} req/s; saturation keeps ${w.outstanding} requests outstanding; ` +
        `load phase offers ${f(w.loadRps)} req/s (${report.loadFactor} × the best saturation throughput).`,
      "",
      "| phase | strategy | offered req/s | done req/s | vs WRR | out tok/s | TTFT p50 s | TTFT p99 s | e2e p50 s | e2e p99 s | loads | evictions | failed | share per GPU |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const r of report.rows.filter((x) => x.workload === w.id)) {
      const wrr = row(report.rows, w.id, r.phase, "WeightedRoundRobin");
      const vs = wrr && wrr.completedRps > 0 ? f(r.completedRps / wrr.completedRps) : "";
      const failed = r.failed === 0 ? "0" : `${r.failed} (${r.rejected} 503, ${r.cut} cut)`;
      out.push(
        `| ${r.phase} | ${SHORT[r.strategy] ?? r.strategy} | ${r.offeredRps === undefined ? "closed loop" : f(r.offeredRps)} | ${f(r.completedRps)} | ${vs} | ` +
          `${f(r.outputTokensPerSec, 0)} | ${f(r.ttftP50)} | ${f(r.ttftP99)} | ${f(r.e2eP50)} | ${f(r.e2eP99)} | ` +
          `${r.loads} | ${r.evictions} | ${failed} | ${r.share.map((s) => Math.round(s * 100)).join("/")}% |`,
      );
    }
    out.push("");
  }
  out.push("| workload | goal | this run | met |", "| --- | --- | --- | --- |");
  for (const g of report.goals) {
    out.push(
      `| ${g.workload} | ${g.goal} | ${g.value === undefined ? "–" : g.value.toFixed(2)} | ${g.met === undefined ? "–" : g.met ? "yes" : "**no**"} |`,
    );
  }
  return out.join("\n");
}
