/**
 * `npm run bench -- suite [--full]`: the benchmark suite of issue 5. Every workload runs on fresh emulator
 * processes and a fresh gateway per cell (workload × load level × seed × gateway variant), with Poisson
 * session arrivals at a share of the fleet's oracle capacity; baselines and our strategies run on the very
 * same sessions. The default plan is sized for a few minutes on 2 cores; `--full` sweeps 30–110% of capacity
 * with 3 seeds and every variant.
 */
import { loadavg } from "node:os";
import { oracleBound, oracleRequests, type OracleBound, type Slo } from "./oracle.js";
import { runCell, baseline, type CellOutput, type EmulatorStats, type Variant } from "./suite-cell.js";
import { benchEmbedBurst, type EmbedBurstRow } from "./embed-burst.js";
import { meanOpenSessions, summariseRecords, type ClientSummary } from "./suite-metrics.js";
import { generateSessions, suiteWorkload, type SuiteWorkload } from "./workloads/suite-workloads.js";

/** The SLO of goodput, in emulated seconds: first token within 3 s, then at most 150 ms per token on average. */
export const SUITE_SLO: Slo = { ttftSec: 3, itlSec: 0.15 };

/** Share of each window left out of the figures while the fleet fills. */
export const SUITE_WARMUP_SHARE = 0.2;

/** The gateway variants the suite compares. */
export const VARIANTS = {
  random: baseline("Random"),
  rr: baseline("RoundRobin"),
  lc: baseline("LeastConnections"),
  p2c: baseline("PowerOfTwoChoices"),
  wrr: baseline("WeightedRoundRobin"),
  wrrKv: { id: "WRR+KV", strategy: "WeightedRoundRobin", affinity: true, batching: false, coalescing: false },
  lcKv: { id: "LC+KV", strategy: "LeastConnections", affinity: true, batching: false, coalescing: false },
  all: {
    id: "WRR+KV+batch+coalesce",
    strategy: "WeightedRoundRobin",
    affinity: true,
    batching: true,
    coalescing: true,
  },
} satisfies Record<string, Variant>;

/** One planned group of cells: a workload at some load levels for some variants. */
export interface PlanItem {
  workload: string;
  scenario: "sweep" | "overload" | "kill";
  levels: number[];
  variants: Variant[];
  kill?: { instance: number; atShare: number };
}

const V = VARIANTS;
const CORE = [V.rr, V.random, V.lc, V.wrr, V.wrrKv];

/** The default plan: one seed, a few levels; about 8 minutes on 2 cores. */
export const DEFAULT_PLAN: PlanItem[] = [
  {
    workload: "multi-turn",
    scenario: "sweep",
    levels: [0.3, 0.5, 0.7],
    variants: [V.rr, V.wrr, V.wrrKv, V.all],
  },
  { workload: "shared-prefix", scenario: "sweep", levels: [0.3, 1.1], variants: CORE },
  { workload: "no-sharing", scenario: "sweep", levels: [0.7, 1.1], variants: [V.rr, V.lc, V.wrr, V.wrrKv] },
  { workload: "zipf-mix", scenario: "sweep", levels: [0.7], variants: CORE },
  { workload: "multi-turn", scenario: "overload", levels: [1.5], variants: [V.rr, V.lc, V.wrrKv] },
  {
    workload: "multi-turn",
    scenario: "kill",
    levels: [0.3],
    variants: [V.lc, V.wrrKv],
    kill: { instance: 1, atShare: 0.4 },
  },
];

const SWEEP = [0.3, 0.5, 0.7, 0.9, 1.1];
const ALL = [V.rr, V.random, V.lc, V.p2c, V.wrr, V.wrrKv, V.lcKv, V.all];

/** The full plan: 30–110% of capacity, every variant (used with 3 seeds). */
export const FULL_PLAN: PlanItem[] = [
  { workload: "multi-turn", scenario: "sweep", levels: SWEEP, variants: ALL },
  { workload: "shared-prefix", scenario: "sweep", levels: SWEEP, variants: ALL },
  { workload: "no-sharing", scenario: "sweep", levels: SWEEP, variants: ALL },
  { workload: "zipf-mix", scenario: "sweep", levels: SWEEP, variants: ALL },
  { workload: "shared-prefix", scenario: "overload", levels: [1.5], variants: ALL },
  { workload: "multi-turn", scenario: "overload", levels: [1.5], variants: ALL },
  ...DEFAULT_PLAN.filter((p) => p.scenario === "kill").map((p) => ({ ...p, variants: ALL })),
];

/** One measured cell. */
export interface SuiteRow {
  workload: string;
  scenario: PlanItem["scenario"];
  variant: string;
  level: number;
  seed: number;
  offeredRps: number;
  client: ClientSummary;
  prefillComputed: number;
  prefillReused: number;
  /** reused ÷ (computed + reused), from the emulators' counters. */
  hitRate: number;
  loads: number;
  evictions: number;
  /** Each instance's busy time ÷ wall time over the arrival window. */
  utilisation: number[];
  /** Requests each instance served (share of the fleet's). */
  share: number[];
  oracle: OracleBound;
  /** goodput ÷ the oracle's goodput at the same offered rate. */
  goodputVsOracle: number | undefined;
  /** The gateway's own `kvCache` view (predicted and measured hit ratios). */
  gatewayKv: unknown;
  /** Mean sessions open at once (Little's law); the fleet has Σ parallel slots. */
  openSessions: number;
  /** Gateway queue samples (every 0.5 s wall): queued, and queued while the fleet had free slots. */
  queue: CellOutput["queueSamples"];
  wallSeconds: number;
  /** The machine's 1-minute load average at the end of the cell (2 cores: above 2, the figures are CPU-bound). */
  loadAvg1: number;
}

/** The suite's output. */
export interface SuiteReport {
  date: string;
  full: boolean;
  seeds: number[];
  slo: Slo;
  warmupShare: number;
  workloads: {
    id: string;
    title: string;
    fleet: string;
    timeScale: number;
    windowSeconds: number;
    capacityRps: number;
  }[];
  rows: SuiteRow[];
  /** `npm run bench -- embed-burst` (bench/embed-burst.ts), run from the suite at one concurrency. */
  bursts: EmbedBurstRow[];
  wallSeconds: number;
}

/** Settings of a suite run. */
export interface SuiteOptions {
  full: boolean;
  seeds: number[];
  plan: PlanItem[];
  /** Multiplies every window (0.5 for a smoke run). */
  windowFactor: number;
  bursts: boolean;
  log: (line: string) => void;
}

/**
 * Options from the command line: `--full`, `--seeds 1,2`, `--window 0.5`, `--no-bursts`, and filters of the
 * plan: `--only multi-turn` (workloads), `--scenarios sweep`, `--variants WRR+KV,RoundRobin`, `--levels 0.5`.
 */
export function suiteOptionsFromArgs(args: string[], log: (line: string) => void): SuiteOptions {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const full = args.includes("--full");
  const only = value("--only")?.split(",");
  const variants = value("--variants")?.split(",");
  const levels = value("--levels")?.split(",").map(Number);
  const scenarios = value("--scenarios")?.split(",");
  const plan = (full ? FULL_PLAN : DEFAULT_PLAN)
    .filter((p) => (!only || only.includes(p.workload)) && (!scenarios || scenarios.includes(p.scenario)))
    .map((p) => ({
      ...p,
      variants: p.variants.filter((v) => !variants || variants.includes(v.id)),
      levels: p.levels.filter((l) => !levels || levels.includes(l)),
    }))
    .filter((p) => p.variants.length > 0 && p.levels.length > 0);
  return {
    full,
    seeds: (value("--seeds") ?? (full ? "1,2,3" : "1")).split(",").map(Number),
    plan,
    windowFactor: Number(value("--window") ?? 1),
    bursts: !args.includes("--no-bursts") && !only && !variants && !levels && !scenarios,
    log,
  };
}

/** Oracle capacity of a workload: from sessions at a first guess, then at that capacity (sharing grows with the rate). */
export function workloadCapacity(w: SuiteWorkload, windowSeconds: number): number {
  let rate = 1;
  for (let i = 0; i < 2; i++) {
    const sessions = generateSessions(w, rate, windowSeconds, 0xcafe);
    rate = oracleBound(w.fleet, oracleRequests(sessions), SUITE_SLO).capacityRps;
  }
  return rate;
}

function sum(stats: (EmulatorStats | undefined)[], key: keyof EmulatorStats): number {
  return stats.reduce((n, s) => n + ((s?.[key] as number | undefined) ?? 0), 0);
}

function rowOf(
  item: PlanItem,
  variant: Variant,
  level: number,
  seed: number,
  rate: number,
  w: SuiteWorkload,
  windowSeconds: number,
  oracle: OracleBound,
  out: CellOutput,
): SuiteRow {
  const client = summariseRecords(out.records, {
    timeScale: w.timeScale,
    windowMs: (windowSeconds * 1000) / w.timeScale,
    warmupShare: SUITE_WARMUP_SHARE,
    slo: SUITE_SLO,
  });
  // A killed instance answers no stats at the end: its counters at the window stand in.
  const final = out.atEnd.map((s, i) => s ?? out.atWindow[i]);
  const computed = sum(final, "prefillTokensComputed");
  const reused = sum(final, "prefillTokensReused");
  const served = final.map((s) => s?.requests ?? 0);
  const total = served.reduce((a, b) => a + b, 0);
  const oracleGood = Math.min(rate, oracle.capacityRps) * oracle.sloAttainable;
  return {
    workload: w.id,
    scenario: item.scenario,
    variant: variant.id,
    level,
    seed,
    offeredRps: rate,
    client,
    prefillComputed: computed,
    prefillReused: reused,
    hitRate: computed + reused > 0 ? reused / (computed + reused) : 0,
    loads: sum(final, "loads"),
    evictions: sum(final, "evictions"),
    utilisation: out.atWindow.map((s) => (s ? s.busyMs / out.windowWallMs : NaN)),
    share: served.map((n) => (total > 0 ? n / total : 0)),
    oracle,
    goodputVsOracle: oracleGood > 0 ? client.goodputRps / oracleGood : undefined,
    gatewayKv: out.gatewayStatus?.kvCache,
    queue: out.queueSamples,
    openSessions: meanOpenSessions(out.records),
    wallSeconds: out.wallSeconds,
    loadAvg1: loadavg()[0]!,
  };
}

/** Runs the plan, then the bursts. */
export async function benchSuite(o: SuiteOptions): Promise<SuiteReport> {
  const t0 = performance.now();
  const rows: SuiteRow[] = [];
  const workloads: SuiteReport["workloads"] = [];
  for (const item of o.plan) {
    const w = suiteWorkload(item.workload);
    const windowSeconds = w.windowSeconds * o.windowFactor;
    const capacity = workloadCapacity(w, windowSeconds);
    if (!workloads.some((x) => x.id === w.id)) {
      workloads.push({
        id: w.id,
        title: w.title,
        fleet: `${w.fleet.gpus.length}× ${w.fleet.gpus[0]!.name} ${w.fleet.gpus[0]!.vramGb} GB, ${w.fleet.gpus[0]!.parallel} slots, num_ctx ${w.fleet.numCtx}`,
        timeScale: w.timeScale,
        windowSeconds,
        capacityRps: capacity,
      });
    }
    o.log(`${w.id} (${item.scenario}): oracle capacity ${capacity.toFixed(2)} req/s`);
    for (const level of item.levels) {
      for (const seed of o.seeds) {
        const rate = level * capacity;
        const sessions = generateSessions(w, rate, windowSeconds, seed);
        const oracle = oracleBound(w.fleet, oracleRequests(sessions), SUITE_SLO);
        for (const variant of item.variants) {
          const out = await retryOnce(
            () =>
              runCell({
                fleet: w.fleet,
                variant,
                sessions,
                timeScale: w.timeScale,
                windowSeconds,
                drainWindows: 0.5,
                preload: w.shape === "zipf-mix" ? [] : [w.mix[0]!.model],
                kill: item.kill,
              }),
            o.log,
          );
          if (!out) continue;
          const row = rowOf(item, variant, level, seed, rate, w, windowSeconds, oracle, out);
          rows.push(row);
          o.log(progress(row));
        }
      }
    }
  }
  const bursts = o.bursts
    ? await benchEmbedBurst({ concurrencies: [64], requestsPerCell: 1000, identicalChats: [16], log: o.log })
    : [];
  return {
    date: new Date().toISOString(),
    full: o.full,
    seeds: o.seeds,
    slo: SUITE_SLO,
    warmupShare: SUITE_WARMUP_SHARE,
    workloads,
    rows,
    bursts,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}

/** A cell whose processes fail to start is tried again once, then left out (logged), not the whole run. */
async function retryOnce<T>(run: () => Promise<T>, log: (line: string) => void): Promise<T | undefined> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return await run();
    } catch (err) {
      log(`  cell failed (attempt ${attempt}): ${String(err)}`);
    }
  }
  return undefined;
}

function progress(r: SuiteRow): string {
  const c = r.client;
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : "–");
  return (
    `  ${r.workload} ${r.scenario} ${Math.round(r.level * 100)}% seed ${r.seed} ${r.variant}: ` +
    `${f(c.completedRps)} req/s (offered ${f(r.offeredRps)}), goodput ${f(c.goodputRps)}, ` +
    `TTFT p50/p90 ${f(c.ttft.p50)}/${f(c.ttft.p90)} s, e2e p90 ${f(c.e2e.p90)} s, hit ${f(r.hitRate)} ` +
    `(oracle ${f(r.oracle.hitRate)}), util ${r.utilisation.map((u) => f(u)).join("/")}, ` +
    `open sessions ${f(r.openSessions, 1)}, loads ${r.loads}, errors ${c.errors}, cut ${c.cut}, queue max ${r.queue.maxDepth} ` +
    `(queued with free slots ${r.queue.queuedWithFreeSlots}/${r.queue.samples}) (${f(r.wallSeconds, 1)} s wall, ` +
    `load avg ${f(r.loadAvg1, 1)})`
  );
}
