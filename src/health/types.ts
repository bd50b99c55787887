/** Contracts of the health and circuit-breaker state machines (they know nothing of instances). */
import type { BreakerState, HealthState } from "../routing/types.js";

/** A transition of a health tracker. */
export interface HealthTransition {
  from: HealthState;
  to: HealthState;
  reason: string;
  atMs: number;
}

/** A transition of a circuit breaker. */
export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  reason: string;
  atMs: number;
}
