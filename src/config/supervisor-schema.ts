// [Supervisor]: the timers and thresholds of the supervisor that launches and watches provisioned instances.
import { z } from "zod";
import {
  DEFAULT_SUPERVISOR_SETTINGS,
  type SupervisorSettingsInput,
} from "../supervisor/supervisor-settings.js";
import { numberField, secondsField, wholeNumber } from "./fields.js";

/** [Supervisor] — how long the supervisor waits, how often it checks, and when it gives up. */
export interface SupervisorSectionSettings {
  /** Longest wait for a spawned instance to answer /api/version, s. */
  startTimeoutSeconds: number;
  /** Interval of the readiness poll while an instance starts, ms. */
  readinessPollMs: number;
  /** Interval of the liveness check of a running instance, s. */
  livenessIntervalSeconds: number;
  /** Timeout of one liveness check, s. */
  livenessTimeoutSeconds: number;
  /** Failed liveness checks in a row that make an instance wedged (it is restarted). */
  wedgeThreshold: number;
  /** SIGTERM → SIGKILL grace when stopping an instance, s. */
  stopGraceSeconds: number;
  /** Longest wait for one model to preload, s. */
  preloadTimeoutSeconds: number;
  /** Longest wait for one model pull, s. */
  pullTimeoutSeconds: number;
  /** Delay before the first restart after an unplanned exit, s. */
  restartInitialBackoffSeconds: number;
  /** Ceiling of the restart delay, s. */
  restartMaxBackoffSeconds: number;
  /** Growth of the restart delay per consecutive exit. */
  restartBackoffMultiplier: number;
  /** Spread of the restart delay, ±ratio × delay, in [0, 1). */
  restartJitterRatio: number;
  /** Exits within CrashLoopWindowSeconds that make a crash loop (the instance is failed). */
  crashLoopExits: number;
  /** Window of the crash-loop count, s. */
  crashLoopWindowSeconds: number;
  /** A run at least this long before an exit starts the backoff over, s. */
  stableAfterSeconds: number;
  /** Out-of-memory recovery steps are remembered this long per instance and model, s. */
  oomWindowSeconds: number;
  /** After a recovery step, further out-of-memory errors wait this long before acting, s. */
  oomCooldownSeconds: number;
}

/** A duration in seconds that may be 0. */
function secondsOrZeroField() {
  return numberField({ integer: false, min: 0, expected: "a number of seconds >= 0", unitInName: true });
}

// One source of defaults: the supervisor's own, converted to the keys' units.
const d = DEFAULT_SUPERVISOR_SETTINGS;
const seconds = (ms: number): number => ms / 1000;

/** Validation and defaults for [Supervisor]; each property also validates a single value. */
export const supervisorSchema = z.object({
  startTimeoutSeconds: secondsField().default(seconds(d.startTimeoutMs)),
  readinessPollMs: numberField({
    integer: true,
    min: 1,
    expected: "a whole number of milliseconds >= 1",
    unitInName: true,
  }).default(d.readinessPollMs),
  livenessIntervalSeconds: secondsField().default(seconds(d.healthIntervalMs)),
  livenessTimeoutSeconds: secondsField().default(seconds(d.healthTimeoutMs)),
  wedgeThreshold: wholeNumber(1).default(d.wedgeThreshold),
  stopGraceSeconds: secondsField().default(seconds(d.stopGraceMs)),
  preloadTimeoutSeconds: secondsField().default(seconds(d.preloadTimeoutMs)),
  pullTimeoutSeconds: secondsField().default(seconds(d.pullTimeoutMs)),
  restartInitialBackoffSeconds: secondsOrZeroField().default(seconds(d.restart.initialBackoffMs)),
  restartMaxBackoffSeconds: secondsOrZeroField().default(seconds(d.restart.maxBackoffMs)),
  restartBackoffMultiplier: numberField({ integer: false, min: 1, expected: "a number >= 1" }).default(
    d.restart.multiplier,
  ),
  restartJitterRatio: numberField({
    integer: false,
    min: 0,
    max: 1,
    maxExclusive: true,
    expected: "a number from 0 up to (not including) 1, such as 0.2 for ±20%",
  }).default(d.restart.jitterRatio),
  crashLoopExits: wholeNumber(1).default(d.restart.crashLoopExits),
  crashLoopWindowSeconds: secondsField().default(seconds(d.restart.crashLoopWindowMs)),
  stableAfterSeconds: secondsOrZeroField().default(seconds(d.restart.stableAfterMs)),
  oomWindowSeconds: secondsField().default(seconds(d.oom.windowMs)),
  oomCooldownSeconds: secondsOrZeroField().default(seconds(d.oom.cooldownMs)),
});

/** A key whose value contradicts another key's, found after each value passed on its own. */
export interface SupervisorRelationProblem {
  /** The field to blame (camelCase), the one the message is about. */
  field: keyof SupervisorSectionSettings;
  message: string;
  /** A value of `field` that would be valid, as text. */
  validValue: string;
}

/**
 * The checks between keys that supervisorSettings() would otherwise throw for at startup. `userSet` says
 * which keys the user set, so that a problem names the key that was set rather than a default.
 */
export function supervisorRelationProblems(
  s: SupervisorSectionSettings,
  userSet: (field: keyof SupervisorSectionSettings) => boolean,
): SupervisorRelationProblem[] {
  const problems: SupervisorRelationProblem[] = [];
  const initial = s.restartInitialBackoffSeconds;
  const max = s.restartMaxBackoffSeconds;
  if (max < initial) {
    // Name the ceiling unless only the initial delay was set (then it is the one that moved past it).
    const blameInitial = userSet("restartInitialBackoffSeconds") && !userSet("restartMaxBackoffSeconds");
    problems.push(
      blameInitial
        ? {
            field: "restartInitialBackoffSeconds",
            message: `must not be longer than RestartMaxBackoffSeconds (${max})`,
            validValue: String(max),
          }
        : {
            field: "restartMaxBackoffSeconds",
            message: `must not be shorter than RestartInitialBackoffSeconds (${initial})`,
            validValue: String(initial),
          },
    );
  }
  return problems;
}

/** Seconds to whole ms; a positive duration stays positive however small it was written. */
function ms(secondsValue: number, positive: boolean): number {
  const rounded = Math.round(secondsValue * 1000);
  return positive ? Math.max(1, rounded) : rounded;
}

/** The supervisor's timer settings from a validated [Supervisor] section. */
export function supervisorTimers(
  s: SupervisorSectionSettings,
): Required<Pick<SupervisorSettingsInput, "restart" | "oom">> & SupervisorSettingsInput {
  return {
    startTimeoutMs: ms(s.startTimeoutSeconds, true),
    readinessPollMs: s.readinessPollMs,
    healthIntervalMs: ms(s.livenessIntervalSeconds, true),
    healthTimeoutMs: ms(s.livenessTimeoutSeconds, true),
    wedgeThreshold: s.wedgeThreshold,
    stopGraceMs: ms(s.stopGraceSeconds, true),
    preloadTimeoutMs: ms(s.preloadTimeoutSeconds, true),
    pullTimeoutMs: ms(s.pullTimeoutSeconds, true),
    restart: {
      initialBackoffMs: ms(s.restartInitialBackoffSeconds, false),
      maxBackoffMs: ms(s.restartMaxBackoffSeconds, false),
      multiplier: s.restartBackoffMultiplier,
      jitterRatio: s.restartJitterRatio,
      crashLoopExits: s.crashLoopExits,
      crashLoopWindowMs: ms(s.crashLoopWindowSeconds, true),
      stableAfterMs: ms(s.stableAfterSeconds, false),
    },
    oom: {
      windowMs: ms(s.oomWindowSeconds, true),
      cooldownMs: ms(s.oomCooldownSeconds, false),
    },
  };
}
