/**
 * The seed's ModelAwareRouter rules that come before any weighting: which eligible instances a request for a
 * model may go to at all, so that a model is not loaded somewhere new while a copy that is already running
 * has room (swap thrash costs seconds of load time and evicts other users' models).
 */
import { eligibleCandidates } from "./candidate-utils.js";
import { isEligible, type Candidate, type Residency, type RouteRequest } from "./types.js";

/** Residency tiers in order of preference: loaded, then fits in free memory, then needs evictions. */
export const RESIDENCY_ORDER: readonly Residency[] = ["hot", "warm", "cold"];

/**
 * A load that unloads models still in use waits until the request has been queued this many times the
 * load's estimated duration: each swap then serves a batch of requests instead of one, so at most about
 * a fifth of an instance's time goes to loading, and a rarely used model still gets its turn.
 */
export const SWAP_WAIT_LOAD_MULTIPLE = 4;

/** The allowed pool, and when it is empty only because a swap waits its turn: how long until it may go. */
export interface ModelAwareDecision {
  pool: Candidate[];
  /** Set when the request may take a cold instance once it has waited this much longer, ms. */
  retryInMs?: number;
}

/**
 * The eligible candidates of the best residency tier present. Eligibility includes a free slot, so "some hot
 * instance is eligible" is exactly "some instance running the model has room": only when every hot one is
 * full (or none exists) does a warm one get the request and load the model into free memory. A cold one
 * (a load that evicts other models) is used only when no warm one is eligible either and, if some instance
 * running the model is merely full, only once the model's backlog (`queueDepth`, requests already waiting
 * for it) reaches the running copies' capacity: until then the request waits for a hot slot, because an
 * eviction at saturation starts a swap thrash that costs more than the wait. Among cold ones, see
 * `coldPool`. Input order is kept.
 */
export function modelAwarePool(candidates: readonly Candidate[], request?: RouteRequest): Candidate[] {
  return modelAwareDecision(candidates, request).pool;
}

/** modelAwarePool with the reason an empty pool may change by waiting. */
export function modelAwareDecision(
  candidates: readonly Candidate[],
  request?: RouteRequest,
): ModelAwareDecision {
  const eligible = eligibleCandidates(candidates);
  for (const tier of RESIDENCY_ORDER) {
    const pool = eligible.filter((c) => c.residency === tier);
    if (pool.length === 0) continue;
    if (tier !== "cold") return { pool };
    if (!hotCopiesSaturated(candidates)) return { pool: [] };
    return coldPool(pool, request?.waitedMs ?? 0);
  }
  return { pool: [] };
}

/**
 * Cold instances whose load would unload nothing in use (no request queued for or running on the models
 * it evicts) take the request at once. When every one would, the request waits its turn
 * (SWAP_WAIT_LOAD_MULTIPLE × the load's duration) and then goes where the eviction hurts least.
 */
function coldPool(pool: Candidate[], waitedMs: number): ModelAwareDecision {
  const demand = (c: Candidate): number => c.evictionDemand ?? 0;
  const free = pool.filter((c) => demand(c) === 0);
  if (free.length > 0) return { pool: free };
  const turnMs = SWAP_WAIT_LOAD_MULTIPLE * Math.min(...pool.map((c) => c.loadPenaltyMs));
  if (waitedMs < turnMs) return { pool: [], retryInMs: turnMs - waitedMs };
  const least = Math.min(...pool.map(demand));
  return { pool: pool.filter((c) => demand(c) === least) };
}

/** Whether the instances already running the model are full *and* its backlog says they cannot keep up. */
function hotCopiesSaturated(candidates: readonly Candidate[]): boolean {
  const hot = candidates.filter((c) => c.residency === "hot" && isEligible({ ...c, inFlight: 0 }));
  if (hot.length === 0) return true;
  const hotCapacity = hot.reduce((sum, c) => sum + c.capacity, 0);
  const backlog = Math.max(0, ...candidates.map((c) => c.queueDepth));
  return backlog >= hotCapacity;
}
