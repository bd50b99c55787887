/**
 * Health of one instance as a pure state machine: active probes and passive signals from real
 * requests feed consecutive-success and consecutive-failure counters; thresholds turn them into
 * state changes. No I/O and no timers: the caller runs the probes and passes an injected clock.
 */
import type { HealthState } from "../routing/types.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import type { HealthTransition } from "./types.js";

/** Where a health signal came from: a periodic probe, or a real request's outcome. */
export type HealthSource = "active" | "passive";

/** Settings of a health tracker (the seed's `UnhealthyThreshold` and `HealthyThreshold`). */
export interface HealthTrackerOptions {
  /** Consecutive failures that turn the instance unhealthy (at least 1). */
  unhealthyThreshold: number;
  /** Consecutive successes that turn an unhealthy instance healthy again (at least 1). */
  healthyThreshold: number;
  /** Clock in ms; only used to stamp transitions and stats. */
  now: () => number;
}

/** A snapshot of a tracker for the admin API and metrics. */
export interface HealthStats {
  state: HealthState;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Reason of the most recent failure, kept after recovery so operators can see what went wrong. */
  lastFailureReason: string | undefined;
  lastFailureSource: HealthSource | undefined;
  lastFailureMs: number | undefined;
  lastSuccessMs: number | undefined;
  /** Time of the last state change; undefined while the state never changed from unknown. */
  lastChangeMs: number | undefined;
  totalSuccesses: number;
  totalFailures: number;
  /** Why the instance is held unhealthy regardless of probes (see `hold`); absent when it is not. */
  heldReason?: string;
}

/** Events of a health tracker. */
export interface HealthTrackerEvents {
  transition: HealthTransition;
}

/** Checks that a threshold is a positive integer, so a typo in the config cannot disable health. */
function checkThreshold(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
}

/** Tracks one instance's health from active and passive signals; emits each state change. */
export class HealthTracker {
  /** Emits `transition` on every state change, after the state has changed. */
  readonly events = new TypedEmitter<HealthTrackerEvents>();

  private current: HealthState = "unknown";
  private failures = 0;
  private successes = 0;
  private failureReason: string | undefined;
  private failureSource: HealthSource | undefined;
  private failureMs: number | undefined;
  private successMs: number | undefined;
  private changeMs: number | undefined;
  private totalOk = 0;
  private totalFailed = 0;
  private heldReason: string | undefined;
  private readonly unhealthyThreshold: number;
  private readonly healthyThreshold: number;
  private readonly now: () => number;

  constructor(options: HealthTrackerOptions) {
    checkThreshold("unhealthyThreshold", options.unhealthyThreshold);
    checkThreshold("healthyThreshold", options.healthyThreshold);
    this.unhealthyThreshold = options.unhealthyThreshold;
    this.healthyThreshold = options.healthyThreshold;
    this.now = options.now;
  }

  /** Current state: unknown until the first success or until enough failures. */
  get state(): HealthState {
    return this.current;
  }

  /** Records a successful probe or request. */
  recordSuccess(source: HealthSource): void {
    const at = this.now();
    this.totalOk++;
    this.successMs = at;
    this.failures = 0;
    this.successes++;
    if (this.heldReason !== undefined) {
      // Held unhealthy: successes are counted but change nothing until the hold ends.
    } else if (this.current === "unknown") {
      // Nothing is known yet, so one good answer is enough to start routing to the instance.
      this.change("healthy", `first success (${source})`, at);
    } else if (this.current === "unhealthy" && this.successes >= this.healthyThreshold) {
      this.change("healthy", `${this.successes} consecutive successes (last: ${source})`, at);
    }
  }

  /** Records a failed probe or request (connection refused, 5xx, timeout...) with a short reason. */
  recordFailure(source: HealthSource, reason: string): void {
    const at = this.now();
    this.totalFailed++;
    this.failureMs = at;
    this.failureReason = reason;
    this.failureSource = source;
    this.successes = 0;
    this.failures++;
    if (this.current !== "unhealthy" && this.failures >= this.unhealthyThreshold) {
      this.change("unhealthy", `${this.failures} consecutive failures; last (${source}): ${reason}`, at);
    }
  }

  /**
   * Holds the instance unhealthy whatever probes say, until `release()` (e.g. its GPU is lost: Ollama may
   * still answer /api/version while it can no longer run a model).
   */
  hold(reason: string): void {
    const first = this.heldReason === undefined;
    this.heldReason = reason;
    if (first && this.current !== "unhealthy") this.change("unhealthy", `held: ${reason}`, this.now());
  }

  /** Ends a hold; the instance then needs HealthyThreshold fresh successes, as after any failure. */
  release(): void {
    if (this.heldReason === undefined) return;
    this.heldReason = undefined;
    this.successes = 0;
  }

  /** A snapshot of counters and last signals. */
  stats(): HealthStats {
    return {
      state: this.current,
      consecutiveFailures: this.failures,
      consecutiveSuccesses: this.successes,
      lastFailureReason: this.failureReason,
      lastFailureSource: this.failureSource,
      lastFailureMs: this.failureMs,
      lastSuccessMs: this.successMs,
      lastChangeMs: this.changeMs,
      totalSuccesses: this.totalOk,
      totalFailures: this.totalFailed,
      ...(this.heldReason !== undefined ? { heldReason: this.heldReason } : {}),
    };
  }

  private change(to: HealthState, reason: string, atMs: number): void {
    const from = this.current;
    // State first, event second: a listener that reads `state` must see the new one.
    this.current = to;
    this.changeMs = atMs;
    this.events.emit("transition", { from, to, reason, atMs });
  }
}
