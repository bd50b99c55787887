/** Small helpers every strategy shares: the eligible subset, the load ratio, a uniform random index. */
import { isEligible, type Candidate } from "./types.js";

/** The candidates that may take a request now, in input order (order matters for deterministic ties). */
export function eligibleCandidates(candidates: readonly Candidate[]): Candidate[] {
  return candidates.filter(isEligible);
}

/** Requests in flight ÷ capacity; capacity is clamped to 1 so a misconfigured 0 cannot divide by zero. */
export function loadRatio(c: Candidate): number {
  return c.inFlight / Math.max(1, c.capacity);
}

/** A uniform index in [0, length) from a [0, 1) source; clamped because a source may return exactly 1. */
export function randomIndex(random: () => number, length: number): number {
  return Math.min(length - 1, Math.max(0, Math.floor(random() * length)));
}

/** Per-model rotation state is kept for at most this many models; the least recently routed are forgotten. */
export const MAX_ROTATION_MODELS = 1024;

/** Moves `key` to the young end of an insertion-ordered map, then drops the oldest entries past `max`. */
export function touchBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) return;
    map.delete(oldest);
  }
}
