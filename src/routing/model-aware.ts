/**
 * The seed's ModelAwareRouter rules that come before any weighting: which eligible instances a request for a
 * model may go to at all, so that a model is not loaded somewhere new while a copy that is already running
 * has room (swap thrash costs seconds of load time and evicts other users' models).
 */
import { eligibleCandidates } from "./candidate-utils.js";
import type { Candidate, Residency } from "./types.js";

/** Residency tiers in order of preference: loaded, then fits in free memory, then needs evictions. */
export const RESIDENCY_ORDER: readonly Residency[] = ["hot", "warm", "cold"];

/**
 * The eligible candidates of the best residency tier present. Eligibility includes a free slot, so "some hot
 * instance is eligible" is exactly "some instance running the model has room": only when every hot one is
 * full (or none exists) does a warm one get the request and load the model, and a cold one only when no warm
 * one is eligible either. Input order is kept.
 */
export function modelAwarePool(candidates: readonly Candidate[]): Candidate[] {
  const eligible = eligibleCandidates(candidates);
  for (const tier of RESIDENCY_ORDER) {
    const pool = eligible.filter((c) => c.residency === tier);
    if (pool.length > 0) return pool;
  }
  return [];
}
