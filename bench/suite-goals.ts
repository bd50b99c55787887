/** The goals (issue 5 §5), evaluated on a suite report: each a measured ratio, met or not. */
import { ratio } from "./suite-metrics.js";
import type { SuiteReport, SuiteRow } from "./suite.js";

/** The variant the goals measure: WeightedRoundRobin with KV-cache affinity. */
export const OURS = "WRR+KV";

/** One goal on one workload (and load level, where it depends on one). */
export interface SuiteGoal {
  workload: string;
  /** Share of oracle capacity offered; undefined for the bursts. */
  level: number | undefined;
  goal: string;
  value: number | undefined;
  met: boolean | undefined;
}

/** Mean of a row metric over seeds, or undefined when no row matches. */
export function meanOver(
  rows: readonly SuiteRow[],
  match: { workload: string; scenario?: SuiteRow["scenario"]; variant: string; level: number },
  metric: (r: SuiteRow) => number,
): number | undefined {
  const xs = rows
    .filter(
      (r) =>
        r.workload === match.workload &&
        r.scenario === (match.scenario ?? "sweep") &&
        r.variant === match.variant &&
        r.level === match.level,
    )
    .map(metric)
    .filter(Number.isFinite);
  return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Levels a workload's sweep ran at, ascending. */
export function sweepLevels(rows: readonly SuiteRow[], workload: string): number[] {
  return [
    ...new Set(rows.filter((r) => r.workload === workload && r.scenario === "sweep").map((r) => r.level)),
  ].sort((a, b) => a - b);
}

const computedShare = (r: SuiteRow): number =>
  r.prefillComputed + r.prefillReused > 0 ? r.prefillComputed / (r.prefillComputed + r.prefillReused) : NaN;
const meanUtil = (r: SuiteRow): number => r.utilisation.reduce((a, b) => a + b, 0) / r.utilisation.length;

/** Evaluates every goal this report has the rows for. */
export function evaluateSuiteGoals(report: Pick<SuiteReport, "rows" | "bursts">): SuiteGoal[] {
  const rows = report.rows;
  const goals: SuiteGoal[] = [];
  const add = (
    workload: string,
    level: number | undefined,
    goal: string,
    value: number | undefined,
    ok: (v: number) => boolean,
  ): void => {
    goals.push({ workload, level, goal, value, met: value === undefined ? undefined : ok(value) });
  };
  const at = (workload: string, variant: string, level: number, metric: (r: SuiteRow) => number) =>
    meanOver(rows, { workload, variant, level }, metric);

  for (const level of sweepLevels(rows, "multi-turn")) {
    const w = "multi-turn";
    add(
      w,
      level,
      "prefill computed per prompt token, ours ÷ RoundRobin ≤ 0.5",
      ratio(at(w, OURS, level, computedShare), at(w, "RoundRobin", level, computedShare)),
      (v) => v <= 0.5,
    );
    add(
      w,
      level,
      "TTFT p90, ours ÷ RoundRobin ≤ 0.5",
      ratio(
        at(w, OURS, level, (r) => r.client.ttft.p90),
        at(w, "RoundRobin", level, (r) => r.client.ttft.p90),
      ),
      (v) => v <= 0.5,
    );
    add(
      w,
      level,
      "cache hit rate, ours ÷ oracle ≥ 0.9",
      ratio(
        at(w, OURS, level, (r) => r.hitRate),
        at(w, OURS, level, (r) => r.oracle.hitRate),
      ),
      (v) => v >= 0.9,
    );
  }
  for (const w of ["multi-turn", "shared-prefix"]) {
    for (const level of sweepLevels(rows, w)) {
      add(
        w,
        level,
        "goodput at the SLO, ours ÷ oracle ≥ 0.9",
        at(w, OURS, level, (r) => r.goodputVsOracle ?? NaN),
        (v) => v >= 0.9,
      );
    }
  }
  const top = (w: string): number | undefined => sweepLevels(rows, w).at(-1);
  const sp = top("shared-prefix");
  if (sp !== undefined) {
    const w = "shared-prefix";
    add(
      w,
      sp,
      "throughput at saturation, ours ÷ RoundRobin ≥ 1.5",
      ratio(
        at(w, OURS, sp, (r) => r.client.completedRps),
        at(w, "RoundRobin", sp, (r) => r.client.completedRps),
      ),
      (v) => v >= 1.5,
    );
  }
  const ns = top("no-sharing");
  if (ns !== undefined) {
    const w = "no-sharing";
    add(
      w,
      ns,
      "throughput at saturation, ours ÷ LeastConnections ≥ 0.97",
      ratio(
        at(w, OURS, ns, (r) => r.client.completedRps),
        at(w, "LeastConnections", ns, (r) => r.client.completedRps),
      ),
      (v) => v >= 0.97,
    );
    for (const level of sweepLevels(rows, w).filter((l) => l < 1)) {
      add(
        w,
        level,
        "e2e p50, ours ÷ LeastConnections ≤ 1.03",
        ratio(
          at(w, OURS, level, (r) => r.client.e2e.p50),
          at(w, "LeastConnections", level, (r) => r.client.e2e.p50),
        ),
        (v) => v <= 1.03,
      );
    }
  }
  for (const w of ["multi-turn", "shared-prefix", "no-sharing"]) {
    const level = top(w);
    if (level === undefined) continue;
    add(
      w,
      level,
      "GPU utilisation at saturation (busy ÷ wall, mean of instances) ≥ 0.85",
      at(w, OURS, level, meanUtil),
      (v) => v >= 0.85,
    );
  }
  const chat = report.bursts.find((b) => b.workload === "identical-chat" && b.sharing === "on");
  if (chat) {
    const v = chat.errors === 0 && chat.distinctAnswers === 1 ? chat.upstreamCalls : undefined;
    add(
      "embed-burst",
      undefined,
      `${chat.concurrency} identical concurrent chats → upstream calls = 1`,
      v,
      (x) => x === 1,
    );
  }
  const on = report.bursts.find((b) => b.workload === "embed" && b.sharing === "on");
  const off = report.bursts.find(
    (b) => b.workload === "embed" && b.sharing === "off" && b.concurrency === on?.concurrency,
  );
  if (on && off) {
    add(
      "embed-burst",
      undefined,
      `small embeddings at c=${on.concurrency}: req/s with merging ÷ without ≥ 3`,
      ratio(on.rps, off.rps),
      (v) => v >= 3,
    );
  }
  return goals;
}
