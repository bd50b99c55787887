/** Contracts of the routing core: what a balancer sees of each instance, and what it decides. */

/** Request priority, from the `X-Priority` header (default normal). */
export type Priority = "high" | "normal" | "low";

/** Where the requested model stands on an instance. */
export type Residency = "hot" | "warm" | "cold";

/** Circuit-breaker state of an instance. */
export type BreakerState = "closed" | "open" | "half-open";

/** Health of an instance as active and passive checks judge it. */
export type HealthState = "unknown" | "healthy" | "unhealthy";

/** Everything a balancer may know about one instance for one request, at decision time. */
export interface Candidate {
  id: string;
  health: HealthState;
  breaker: BreakerState;
  /** A half-open breaker admits one trial; true when that trial may be this request. */
  breakerTrialAvailable: boolean;
  draining: boolean;
  /** Whether the model is on this instance's disk. */
  hasModel: boolean;
  /** Whether this instance's memory limit can hold the model at all (and its precision is supported). */
  canHoldModel: boolean;
  /** Requests in flight on the instance now (all models). */
  inFlight: number;
  /** `max_concurrent_requests` (or the instance's parallel slots); at least 1. */
  capacity: number;
  /** Requests waiting in the gateway's queue that can only go to this instance's models (a load signal). */
  queueDepth: number;
  /** hot = loaded (per /api/ps), warm = fits in free memory, cold = needs evictions. */
  residency: Residency;
  /** Estimated time to load the model when not hot, in ms (0 when hot). */
  loadPenaltyMs: number;
  /**
   * When cold: the demand for the models the load would unload here (requests waiting for them in the
   * gateway's queue plus those in flight for them here); 0 when nothing in use would go. Absent: 0.
   */
  evictionDemand?: number;
  /** EWMA time to first token for this model here, ms; undefined until measured. */
  ttftMs: number | undefined;
  /** EWMA decode speed for this model here (or the capability estimate), tokens/s; undefined if unknown. */
  tokensPerSecond: number | undefined;
  /** Failed share of recent requests (sliding window), 0..1. */
  errorRate: number;
  /** The GPU monitor's factor for the instance's GPU (hot or memory-starved < 1); absent means 1. */
  gpuFactor?: number | undefined;
}

/** What a balancer is asked to route. */
export interface RouteRequest {
  model: string;
  priority: Priority;
  /** How long the request has waited in the gateway's queue so far, ms (0 or absent: it just came). */
  waitedMs?: number;
}

/** Role: chooses one instance for a request among candidates; pure apart from its own rotation state. */
export interface Balancer {
  readonly name: string;
  /** The chosen candidate's id, or undefined when no candidate may take the request now. */
  pick(candidates: readonly Candidate[], request: RouteRequest): string | undefined;
}

/** Injected sources of time and randomness, so decisions are reproducible. */
export interface RoutingDeps {
  now: () => number;
  random: () => number;
}

/** Builds a balancer. */
export type BalancerFactory = (deps: RoutingDeps) => Balancer;

/** Whether a candidate may take the request at all right now: the rule every strategy obeys. */
export function isEligible(c: Candidate): boolean {
  return (
    c.hasModel &&
    c.canHoldModel &&
    !c.draining &&
    c.health !== "unhealthy" &&
    (c.breaker === "closed" || (c.breaker === "half-open" && c.breakerTrialAvailable)) &&
    c.inFlight < c.capacity
  );
}
