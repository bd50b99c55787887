/** Pure arithmetic of the benchmark suite: percentiles, per-request latencies, goodput at an SLO. */
import type { Slo } from "./oracle.js";

/** What happened to one chat request. Times are wall ms after the start of the run. */
export interface SuiteRecord {
  session: number;
  turn: number;
  sentMs: number;
  /** First NDJSON line (the first token). */
  firstMs?: number;
  endMs?: number;
  outputTokens: number;
  /** prompt_eval_count of the answer. */
  promptTokens: number;
  /** The instance that answered (x-ollama-fleet-instance). */
  instance?: string;
  outcome: "ok" | `http_${number}` | "stream_error" | "network" | "cut";
}

/** Nearest-rank quantile of an ascending list; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** p50, p90 and p99 of a list (any order). */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

/** p50/p90/p99 of values (any order); NaN for an empty list. */
export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99) };
}

/** A completed request's latencies in emulated seconds (wall × time scale). */
export interface Latency {
  ttftSec: number;
  /** Mean gap between tokens after the first: (end − first token) ÷ (tokens − 1); 0 for one token. */
  itlSec: number;
  e2eSec: number;
}

/** The latencies of a completed record, or undefined for one that did not complete. */
export function latencyOf(r: SuiteRecord, timeScale: number): Latency | undefined {
  if (r.outcome !== "ok" || r.firstMs === undefined || r.endMs === undefined) return undefined;
  const sec = (ms: number): number => (ms * timeScale) / 1000;
  return {
    ttftSec: sec(r.firstMs - r.sentMs),
    itlSec: r.outputTokens > 1 ? sec(r.endMs - r.firstMs) / (r.outputTokens - 1) : 0,
    e2eSec: sec(r.endMs - r.sentMs),
  };
}

/** Whether a latency meets the SLO. */
export function meetsSlo(l: Latency, slo: Slo): boolean {
  return l.ttftSec <= slo.ttftSec && l.itlSec <= slo.itlSec;
}

/** The client-side figures of one run. */
export interface ClientSummary {
  sent: number;
  /** Requests sent in the measured window. */
  measured: number;
  /** Requests answered in full within the measured window, per emulated second. */
  completedRps: number;
  /** Those answers' output tokens per emulated second. */
  outputTokensPerSec: number;
  /** Answers within the measured window that met the SLO, per emulated second. */
  goodputRps: number;
  ttft: Percentiles;
  itl: Percentiles;
  e2e: Percentiles;
  /** Requests sent in the measured window that failed (HTTP error, broken stream, network). */
  errors: number;
  /** Requests sent in the measured window still running at the cut-off. */
  cut: number;
}

/**
 * Summarises a run whose arrivals span `windowMs` wall ms: the first `warmupShare` of it is left out;
 * throughput and goodput count answers that ended inside [warm-up, window]; latencies and errors are over
 * requests sent inside it.
 */
export function summariseRecords(
  records: readonly SuiteRecord[],
  o: { timeScale: number; windowMs: number; warmupShare: number; slo: Slo },
): ClientSummary {
  const warmMs = o.warmupShare * o.windowMs;
  const spanSec = ((o.windowMs - warmMs) * o.timeScale) / 1000;
  const inWindow = (t: number | undefined): boolean => t !== undefined && t >= warmMs && t <= o.windowMs;
  const done = records.filter((r) => r.outcome === "ok" && inWindow(r.endMs));
  const doneLatency = done.map((r) => latencyOf(r, o.timeScale)!);
  const measured = records.filter((r) => r.sentMs >= warmMs && r.sentMs <= o.windowMs);
  const lat = measured.map((r) => latencyOf(r, o.timeScale)).filter((l): l is Latency => l !== undefined);
  return {
    sent: records.length,
    measured: measured.length,
    completedRps: done.length / spanSec,
    outputTokensPerSec: done.reduce((n, r) => n + r.outputTokens, 0) / spanSec,
    goodputRps: doneLatency.filter((l) => meetsSlo(l, o.slo)).length / spanSec,
    ttft: percentiles(lat.map((l) => l.ttftSec)),
    itl: percentiles(lat.map((l) => l.itlSec)),
    e2e: percentiles(lat.map((l) => l.e2eSec)),
    errors: measured.filter((r) => r.outcome !== "ok" && r.outcome !== "cut").length,
    cut: measured.filter((r) => r.outcome === "cut").length,
  };
}

/** a ÷ b, or undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || !(b > 0))
    return undefined;
  return a / b;
}

/**
 * Mean number of open sessions over a run (Little's law): the sum of each session's span, from its first
 * request to its last answer (or cut), over the span of the whole run. Above the fleet's slot count,
 * sessions evict each other's KV cache whatever the router does.
 */
export function meanOpenSessions(records: readonly SuiteRecord[]): number {
  const spans = new Map<number, [number, number]>();
  let first = Infinity;
  let last = -Infinity;
  for (const r of records) {
    const end = r.endMs ?? r.sentMs;
    const span = spans.get(r.session);
    spans.set(r.session, span ? [Math.min(span[0], r.sentMs), Math.max(span[1], end)] : [r.sentMs, end]);
    first = Math.min(first, r.sentMs);
    last = Math.max(last, end);
  }
  if (!(last > first)) return 0;
  let total = 0;
  for (const [a, b] of spans.values()) total += b - a;
  return total / (last - first);
}
