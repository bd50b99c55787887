/**
 * When to restart an instance that exited: exponential backoff with jitter, reset by a long enough run,
 * and a crash-loop verdict when too many exits fall inside a window. Pure: the caller passes the times
 * and a random source, so the whole policy runs on a manual clock in tests.
 */

/** Settings of the restart policy. */
export interface RestartPolicySettings {
  /** Delay before the first restart after a stable run, ms. */
  initialBackoffMs: number;
  /** Ceiling of the delay, ms. */
  maxBackoffMs: number;
  /** Growth factor of the delay per consecutive exit (≥ 1). */
  multiplier: number;
  /** Spread of the delay: ±ratio × delay (0 = none, 0.2 = ±20%); keeps a fleet from restarting in step. */
  jitterRatio: number;
  /** This many exits within `crashLoopWindowMs` is a crash loop: the instance is marked failed. */
  crashLoopExits: number;
  /** Window of the crash-loop count, ms. */
  crashLoopWindowMs: number;
  /** A process that ran at least this long before exiting starts the backoff over, ms. */
  stableAfterMs: number;
}

/** Defaults: 1 s doubling to 1 min, ±20%; 5 exits in 2 min is a crash loop; 1 min of uptime is stable. */
export const DEFAULT_RESTART_POLICY: RestartPolicySettings = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  multiplier: 2,
  jitterRatio: 0.2,
  crashLoopExits: 5,
  crashLoopWindowMs: 120_000,
  stableAfterMs: 60_000,
};

/** One unplanned exit as the policy sees it. */
export interface ExitRecord {
  /** When the process exited, ms. */
  atMs: number;
  /** How long it had run, ms. */
  uptimeMs: number;
  /** Why, in words ("exited with code 1", "wedged: 3 health checks timed out"). */
  reason: string;
}

/** What to do after an exit. */
export type RestartDecision =
  { kind: "restart"; delayMs: number; attempt: number } | { kind: "fail"; reason: string };

/** Validates settings so that a typo cannot turn the backoff into a busy loop. */
export function checkRestartPolicy(s: RestartPolicySettings): void {
  const bad = (what: string): never => {
    throw new RangeError(`restart policy: ${what}`);
  };
  if (!(s.initialBackoffMs >= 0)) bad(`initialBackoffMs must be ≥ 0, got ${s.initialBackoffMs}`);
  if (!(s.maxBackoffMs >= s.initialBackoffMs)) bad("maxBackoffMs must be ≥ initialBackoffMs");
  if (!(s.multiplier >= 1)) bad(`multiplier must be ≥ 1, got ${s.multiplier}`);
  if (!(s.jitterRatio >= 0 && s.jitterRatio < 1)) bad(`jitterRatio must be in [0, 1), got ${s.jitterRatio}`);
  if (!Number.isInteger(s.crashLoopExits) || s.crashLoopExits < 1)
    bad("crashLoopExits must be an integer ≥ 1");
  if (!(s.crashLoopWindowMs > 0)) bad("crashLoopWindowMs must be > 0");
  if (!(s.stableAfterMs >= 0)) bad("stableAfterMs must be ≥ 0");
}

/** The un-jittered delay before restart number `attempt` (1-based). */
export function backoffMs(s: RestartPolicySettings, attempt: number): number {
  const raw = s.initialBackoffMs * s.multiplier ** Math.max(0, attempt - 1);
  return Math.min(s.maxBackoffMs, raw);
}

/** The delay with ±jitterRatio spread from a [0, 1) random value, never above the ceiling. */
export function jittered(s: RestartPolicySettings, baseMs: number, random: number): number {
  const spread = 1 - s.jitterRatio + 2 * s.jitterRatio * Math.min(Math.max(random, 0), 1);
  return Math.round(Math.min(s.maxBackoffMs, baseMs * spread));
}

/** Restart bookkeeping of one instance: exits seen, consecutive failures, the crash-loop verdict. */
export class RestartPolicy {
  private exits: ExitRecord[] = [];
  private consecutive = 0;

  constructor(
    private readonly settings: RestartPolicySettings,
    private readonly random: () => number,
  ) {
    checkRestartPolicy(settings);
  }

  /** Records an unplanned exit and says whether (and when) to restart or that the instance failed. */
  recordExit(exit: ExitRecord): RestartDecision {
    const s = this.settings;
    // A long run proves the last restart worked: the next failure starts the backoff over.
    if (exit.uptimeMs >= s.stableAfterMs) this.consecutive = 0;
    this.consecutive++;
    this.exits = this.exits.filter((e) => exit.atMs - e.atMs < s.crashLoopWindowMs);
    this.exits.push(exit);
    if (this.exits.length >= s.crashLoopExits) {
      const seconds = Math.round(s.crashLoopWindowMs / 1000);
      return {
        kind: "fail",
        reason: `crash loop: ${this.exits.length} exits within ${seconds} s (last: ${exit.reason})`,
      };
    }
    const delayMs = jittered(s, backoffMs(s, this.consecutive), this.random());
    return { kind: "restart", delayMs, attempt: this.consecutive };
  }

  /** Exits inside the current crash-loop window, oldest first. */
  recentExits(): readonly ExitRecord[] {
    return this.exits;
  }

  /** Forgets every exit (an operator restarted a failed instance by hand). */
  reset(): void {
    this.exits = [];
    this.consecutive = 0;
  }
}
