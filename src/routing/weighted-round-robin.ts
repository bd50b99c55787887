/**
 * The seed's default strategy: nginx-style smooth weighted round-robin, weights from the health score,
 * restricted by the model-aware rules to the best residency tier (hot while one has a free slot).
 */
import { MAX_ROTATION_MODELS, touchBounded } from "./candidate-utils.js";
import { healthScore, scoreReference, TYPICAL_REQUEST_MS } from "./health-score.js";
import { modelAwarePool } from "./model-aware.js";
import type { Balancer, BalancerFactory, Candidate, RouteRequest } from "./types.js";

/** Tuning of WeightedRoundRobin beyond the defaults. */
export interface WeightedRoundRobinOptions {
  /** Request duration a model load is weighed against, ms (TYPICAL_REQUEST_MS by default). */
  typicalRequestMs?: number;
}

/**
 * Smooth WRR (nginx's ngx_http_upstream_get_peer): every round each pool member's current weight grows by
 * its weight, the largest current wins and gives back the round's total. Over any run of picks each member's
 * share equals its weight share, and picks interleave (5:1:1 → a a b a c a a) rather than bunching, so a slow
 * GPU gets its requests spread out. Ties go to the earlier candidate, so picks are a pure function of the
 * inputs and the state; nothing random. Weights are recomputed on every pick, so load and measurements steer
 * at once. The state is per model because each model has its own pool and its own weights.
 */
class WeightedRoundRobinBalancer implements Balancer {
  readonly name = "WeightedRoundRobin";
  private readonly currentByModel = new Map<string, Map<string, number>>();
  private readonly typicalRequestMs: number;

  constructor(options: WeightedRoundRobinOptions) {
    this.typicalRequestMs = options.typicalRequestMs ?? TYPICAL_REQUEST_MS;
  }

  pick(candidates: readonly Candidate[], request: RouteRequest): string | undefined {
    const pool = modelAwarePool(candidates, request);
    if (pool.length === 0) return undefined;
    const ref = scoreReference(candidates, this.typicalRequestMs);
    const current = this.currentByModel.get(request.model) ?? new Map<string, number>();
    let total = 0;
    let best: Candidate | undefined;
    let bestCurrent = -Infinity;
    for (const c of pool) {
      const weight = healthScore(c, ref).score;
      const next = (current.get(c.id) ?? 0) + weight;
      current.set(c.id, next);
      total += weight;
      if (next > bestCurrent) {
        best = c;
        bestCurrent = next;
      }
    }
    if (best === undefined) return undefined;
    current.set(best.id, bestCurrent - total);
    // Instances that left the fleet take their state with them; ineligible ones keep it, as in nginx.
    const present = new Set(candidates.map((c) => c.id));
    for (const id of current.keys()) if (!present.has(id)) current.delete(id);
    touchBounded(this.currentByModel, request.model, current, MAX_ROTATION_MODELS);
    return best.id;
  }
}

/** WeightedRoundRobin with non-default tuning. */
export function weightedRoundRobin(options: WeightedRoundRobinOptions = {}): BalancerFactory {
  return () => new WeightedRoundRobinBalancer(options);
}

/** Smooth weighted round-robin by health score within the model-aware pool (the default strategy). */
export const WeightedRoundRobin: BalancerFactory = weightedRoundRobin();
