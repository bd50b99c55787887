/**
 * The health score behind WeightedRoundRobin: the seed's four factors (load, response time, error rate,
 * queue depth) plus the model-aware ones (residency, measured speed), each a factor in (0, 1], multiplied.
 * A product, not a weighted sum, so that each factor scales traffic by itself: half the speed gets half the
 * weight whatever the other factors say, and no factor can drive an eligible instance's weight to zero.
 */
import { loadRatio } from "./candidate-utils.js";
import type { Candidate } from "./types.js";

/** Floor of every factor: a slow, busy or erring instance keeps a trickle of traffic while eligible. */
export const MIN_FACTOR = 0.01;

/** How hard a slower first token counts: factor = 1 / (1 + w·(ttft/best − 1)); 2× the best TTFT → 0.67. */
export const RESPONSE_TIME_WEIGHT = 0.5;

/** How hard errors count: factor = 1 / (1 + p·errorRate); 10% errors halve the weight, 100% → 0.09. */
export const ERROR_PENALTY = 10;

/** How hard waiting requests count, per slot: factor = 1 / (1 + q·queueDepth/capacity). */
export const QUEUE_WEIGHT = 1;

/** Extra factor for a cold instance (on top of its load time): its load evicts models others are using. */
export const COLD_FACTOR = 0.5;

/** Request time a model load is compared with when no better figure is given: a typical chat answer, ms. */
export const TYPICAL_REQUEST_MS = 5000;

/** What a candidate's measurements are compared against: the best of the fleet for this model. */
export interface ScoreReference {
  /** Lowest EWMA TTFT among the candidates that can serve the model; undefined when none is measured. */
  bestTtftMs: number | undefined;
  /** Highest tokens/s among those candidates; undefined when none is known. */
  bestTokensPerSecond: number | undefined;
  /** Duration a load penalty is weighed against (a load of this long halves a warm instance's weight). */
  typicalRequestMs: number;
}

/** The factors of a score, each in [MIN_FACTOR, 1]; 1 means "as good as it gets". */
export interface ScoreParts {
  load: number;
  responseTime: number;
  speed: number;
  errors: number;
  queue: number;
  residency: number;
  /** The GPU monitor's factor: below 1 while the instance's GPU is hot or short of memory. */
  gpu: number;
}

/** A score and the factors it is the product of, as the admin API shows them. */
export interface HealthScore {
  score: number;
  parts: ScoreParts;
}

/** The reference for one request, from every candidate that could ever serve the model (has it, can hold it). */
export function scoreReference(
  candidates: readonly Candidate[],
  typicalRequestMs: number = TYPICAL_REQUEST_MS,
): ScoreReference {
  let bestTtftMs: number | undefined;
  let bestTokensPerSecond: number | undefined;
  // Momentarily full or broken instances still count: "the fleet's best" should not jump with every request.
  for (const c of candidates) {
    if (!c.hasModel || !c.canHoldModel) continue;
    if (isPositive(c.ttftMs) && (bestTtftMs === undefined || c.ttftMs < bestTtftMs)) bestTtftMs = c.ttftMs;
    if (
      isPositive(c.tokensPerSecond) &&
      (bestTokensPerSecond === undefined || c.tokensPerSecond > bestTokensPerSecond)
    ) {
      bestTokensPerSecond = c.tokensPerSecond;
    }
  }
  return { bestTtftMs, bestTokensPerSecond, typicalRequestMs };
}

/** The score of one candidate against a reference; > 0 always, at most 1. */
export function healthScore(c: Candidate, ref: ScoreReference): HealthScore {
  const parts: ScoreParts = {
    load: floor(1 - loadRatio(c)),
    responseTime: responseTimeFactor(c.ttftMs, ref.bestTtftMs),
    speed: speedFactor(c.tokensPerSecond, ref.bestTokensPerSecond),
    errors: floor(1 / (1 + ERROR_PENALTY * clamp01(c.errorRate))),
    queue: floor(1 / (1 + (QUEUE_WEIGHT * Math.max(0, c.queueDepth)) / Math.max(1, c.capacity))),
    residency: residencyFactor(c, ref.typicalRequestMs),
    gpu: floor(c.gpuFactor ?? 1),
  };
  const score =
    parts.load * parts.responseTime * parts.speed * parts.errors * parts.queue * parts.residency * parts.gpu;
  return { score, parts };
}

/** Scores of every candidate against the reference they make together, for the admin API and metrics. */
export function scoreCandidates(
  candidates: readonly Candidate[],
  typicalRequestMs: number = TYPICAL_REQUEST_MS,
): Array<{ id: string } & HealthScore> {
  const ref = scoreReference(candidates, typicalRequestMs);
  return candidates.map((c) => ({ id: c.id, ...healthScore(c, ref) }));
}

// Unmeasured instances score as well as the best so they get traffic and thus measurements.
function responseTimeFactor(ttftMs: number | undefined, bestMs: number | undefined): number {
  if (!isPositive(ttftMs) || !isPositive(bestMs)) return 1;
  const slowdown = Math.max(1, ttftMs / bestMs);
  return floor(1 / (1 + RESPONSE_TIME_WEIGHT * (slowdown - 1)));
}

// Linear in speed: that is what "traffic in proportion to speed" means under weighted round-robin.
function speedFactor(tokensPerSecond: number | undefined, best: number | undefined): number {
  if (!isPositive(tokensPerSecond) || !isPositive(best)) return 1;
  return floor(Math.min(1, tokensPerSecond / best));
}

// A load of L ms in front of a request of T ms makes it take (T + L) / T as long: weight T / (T + L).
function residencyFactor(c: Candidate, typicalRequestMs: number): number {
  if (c.residency === "hot") return 1;
  const t = Math.max(1, typicalRequestMs);
  const delay = t / (t + Math.max(0, c.loadPenaltyMs));
  return floor(c.residency === "cold" ? COLD_FACTOR * delay : delay);
}

function isPositive(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x > 0;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function floor(x: number): number {
  return Number.isFinite(x) ? Math.max(MIN_FACTOR, Math.min(1, x)) : MIN_FACTOR;
}

/** Each instance's health score per model, with its parts (admin API, metrics, dashboard). */
export type ScoresByInstance = Record<
  string,
  { model: string; score: number; parts: Record<string, number> }[]
>;

/** Scores every model's holders among `candidatesFor(model)`, grouped by instance. */
export function scoresByInstance(
  models: Iterable<string>,
  candidatesFor: (model: string) => readonly Candidate[],
): ScoresByInstance {
  const out: ScoresByInstance = {};
  for (const model of models) {
    const holders = candidatesFor(model).filter((c) => c.hasModel);
    for (const s of scoreCandidates(holders))
      (out[s.id] ??= []).push({ model, score: s.score, parts: { ...s.parts } });
  }
  return out;
}
