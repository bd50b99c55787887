/**
 * The seed's ModelAwareRouter rules that come before any weighting: which eligible instances a request for a
 * model may go to at all, so that a model is not loaded somewhere new while a copy that is already running
 * has room (swap thrash costs seconds of load time and evicts other users' models).
 */
import { eligibleCandidates } from "./candidate-utils.js";
import { isEligible, type Candidate, type Residency } from "./types.js";

/** Residency tiers in order of preference: loaded, then fits in free memory, then needs evictions. */
export const RESIDENCY_ORDER: readonly Residency[] = ["hot", "warm", "cold"];

/**
 * The eligible candidates of the best residency tier present. Eligibility includes a free slot, so "some hot
 * instance is eligible" is exactly "some instance running the model has room": only when every hot one is
 * full (or none exists) does a warm one get the request and load the model into free memory. A cold one
 * (a load that evicts other models) is used only when no warm one is eligible either and, if some instance
 * running the model is merely full, only once the model's backlog (`queueDepth`, requests already waiting
 * for it) reaches the running copies' capacity: until then the request waits for a hot slot, because an
 * eviction at saturation starts a swap thrash that costs more than the wait. Input order is kept.
 */
export function modelAwarePool(candidates: readonly Candidate[]): Candidate[] {
  const eligible = eligibleCandidates(candidates);
  for (const tier of RESIDENCY_ORDER) {
    const pool = eligible.filter((c) => c.residency === tier);
    if (pool.length === 0) continue;
    if (tier === "cold" && !hotCopiesSaturated(candidates)) return [];
    return pool;
  }
  return [];
}

/** Whether the instances already running the model are full *and* its backlog says they cannot keep up. */
function hotCopiesSaturated(candidates: readonly Candidate[]): boolean {
  const hot = candidates.filter((c) => c.residency === "hot" && isEligible({ ...c, inFlight: 0 }));
  if (hot.length === 0) return true;
  const hotCapacity = hot.reduce((sum, c) => sum + c.capacity, 0);
  const backlog = Math.max(0, ...candidates.map((c) => c.queueDepth));
  return backlog >= hotCapacity;
}
