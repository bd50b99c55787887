/**
 * A consecutive-failure circuit breaker on an injected clock, knowing nothing of instances.
 * Hand-written rather than wrapping cockatiel: cockatiel reads the real clock and has no "one trial
 * in half-open" with an explicit release, and both are what the router and the tests need.
 *
 * closed --threshold consecutive failures--> open --resetMs elapsed--> half-open (one trial)
 * half-open --trial succeeds--> closed;  half-open --trial fails--> open (fresh reset timer)
 */
import type { BreakerState } from "../routing/types.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import type { BreakerTransition } from "./types.js";

/** Settings of a breaker (the seed's `CircuitBreakerThreshold`, `CircuitBreakerResetSeconds`, `EnableCircuitBreaker`). */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (at least 1). */
  threshold: number;
  /** How long the breaker stays open before it admits a trial, in ms. */
  resetMs: number;
  /** Clock in ms; the open → half-open change is computed from it when the breaker is asked. */
  now: () => number;
  /** When false the breaker is always closed and admits everything (default true). */
  enabled?: boolean;
}

/** A snapshot of a breaker for the admin API and metrics. */
export interface BreakerStats {
  state: BreakerState;
  enabled: boolean;
  consecutiveFailures: number;
  lastFailureReason: string | undefined;
  /** Time of the last state change; undefined while it never left closed. */
  lastChangeMs: number | undefined;
  /** When the breaker last opened; undefined unless it is open or half-open. */
  openedAtMs: number | undefined;
  /** When an open breaker will admit a trial (useful for Retry-After); undefined unless open. */
  halfOpenAtMs: number | undefined;
  /** Whether the half-open trial has been handed out and has not reported yet. */
  trialInFlight: boolean;
  /** How many times the breaker opened (from closed or from a failed trial). */
  opens: number;
}

/** Events of a breaker. */
export interface CircuitBreakerEvents {
  transition: BreakerTransition;
}

/** Consecutive-failure breaker with a single half-open trial; emits each state change. */
export class CircuitBreaker {
  /** Emits `transition` on every state change, after the state has changed. */
  readonly events = new TypedEmitter<CircuitBreakerEvents>();

  private current: BreakerState = "closed";
  private failures = 0;
  private failureReason: string | undefined;
  private changeMs: number | undefined;
  private openedAt: number | undefined;
  private trialOut = false;
  private openCount = 0;
  private readonly threshold: number;
  private readonly resetMs: number;
  private readonly now: () => number;
  private readonly enabled: boolean;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.threshold) || options.threshold < 1) {
      throw new RangeError(`threshold must be an integer >= 1, got ${options.threshold}`);
    }
    if (!(options.resetMs >= 0) || !Number.isFinite(options.resetMs)) {
      throw new RangeError(`resetMs must be a finite number >= 0, got ${options.resetMs}`);
    }
    this.threshold = options.threshold;
    this.resetMs = options.resetMs;
    this.now = options.now;
    this.enabled = options.enabled ?? true;
  }

  /** Current state; an open breaker whose reset time has come turns half-open on this read. */
  get state(): BreakerState {
    this.refresh();
    return this.current;
  }

  /** True when the breaker is half-open and its single trial has not been handed out. */
  get trialAvailable(): boolean {
    this.refresh();
    return this.current === "half-open" && !this.trialOut;
  }

  /**
   * Asks to send one request: closed → true; open → false; half-open → true for exactly one
   * caller (the trial), then false until that trial reports through onSuccess/onFailure/release.
   */
  tryAcquire(): boolean {
    this.refresh();
    if (this.current === "closed") return true;
    if (this.current === "open" || this.trialOut) return false;
    this.trialOut = true;
    return true;
  }

  /** Reports a successful request: resets the failure count; in half-open closes the breaker. */
  onSuccess(): void {
    this.refresh();
    if (this.current === "open") {
      // A straggler admitted before the breaker opened proves little; the trial decides.
      return;
    }
    this.failures = 0;
    if (this.current === "half-open") {
      this.trialOut = false;
      this.openedAt = undefined;
      this.change("closed", "trial request succeeded");
    }
  }

  /** Reports a failed request with a short reason; may open (or re-open) the breaker. */
  onFailure(reason: string): void {
    this.refresh();
    this.failures++;
    this.failureReason = reason;
    if (!this.enabled) return;
    if (this.current === "closed" && this.failures >= this.threshold) {
      this.open(`${this.failures} consecutive failures; last: ${reason}`);
    } else if (this.current === "half-open") {
      // The instance is still broken: wait a whole reset period again before the next trial.
      this.trialOut = false;
      this.open(`trial request failed: ${reason}`);
    }
    // Open: a late failure of a request admitted earlier must not push the reset time back.
  }

  /**
   * Closes the breaker because what it guarded against is known to be gone (e.g. the instance was restarted
   * and answered its readiness and health checks): waiting out the reset period would only idle it.
   */
  reset(reason: string): void {
    this.refresh();
    this.failures = 0;
    this.trialOut = false;
    this.openedAt = undefined;
    if (this.current !== "closed") this.change("closed", reason);
  }

  /** Gives back a half-open trial that ended without a verdict (client left), so another may go. */
  release(): void {
    this.refresh();
    if (this.current === "half-open") this.trialOut = false;
  }

  /** A snapshot of counters and timing. */
  stats(): BreakerStats {
    this.refresh();
    return {
      state: this.current,
      enabled: this.enabled,
      consecutiveFailures: this.failures,
      lastFailureReason: this.failureReason,
      lastChangeMs: this.changeMs,
      openedAtMs: this.openedAt,
      halfOpenAtMs:
        this.current === "open" && this.openedAt !== undefined ? this.openedAt + this.resetMs : undefined,
      trialInFlight: this.trialOut,
      opens: this.openCount,
    };
  }

  private open(reason: string): void {
    this.openedAt = this.now();
    this.openCount++;
    this.change("open", reason, this.openedAt);
  }

  /** Turns open into half-open once resetMs has passed; done lazily so the breaker needs no timer. */
  private refresh(): void {
    if (this.current !== "open" || this.openedAt === undefined) return;
    const at = this.now();
    if (at - this.openedAt < this.resetMs) return;
    this.trialOut = false;
    this.change("half-open", `reset timeout of ${this.resetMs} ms elapsed`, at);
  }

  private change(to: BreakerState, reason: string, atMs: number = this.now()): void {
    const from = this.current;
    // State first, event second: a listener that reads the breaker must see the new state.
    this.current = to;
    this.changeMs = atMs;
    this.events.emit("transition", { from, to, reason, atMs });
  }
}
