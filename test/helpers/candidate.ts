/** Test helper: a routing Candidate that may take any request, with overrides. */
import type { Candidate } from "../../src/routing/types.js";

/** A healthy, hot, idle candidate with capacity 4 (override any field). */
export function candidate(id: string, over: Partial<Candidate> = {}): Candidate {
  return {
    id,
    health: "healthy",
    breaker: "closed",
    breakerTrialAvailable: false,
    draining: false,
    hasModel: true,
    canHoldModel: true,
    inFlight: 0,
    capacity: 4,
    queueDepth: 0,
    residency: "hot",
    loadPenaltyMs: 0,
    ttftMs: undefined,
    tokensPerSecond: undefined,
    errorRate: 0,
    ...over,
  };
}
