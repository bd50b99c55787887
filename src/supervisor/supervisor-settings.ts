/** Defaults of the supervisor's settings, and merging a caller's partial settings over them. */
import { DEFAULT_OOM_ESCALATION, type OomEscalationSettings } from "./oom-recovery.js";
import { checkRestartPolicy, DEFAULT_RESTART_POLICY, type RestartPolicySettings } from "./restart-policy.js";
import type { SupervisorSettings } from "./supervisor-types.js";

/** Defaults: `ollama serve` from PATH, 60 s to start, a liveness check every 5 s (3 misses = wedged). */
export const DEFAULT_SUPERVISOR_SETTINGS: SupervisorSettings = {
  ollama: { command: "ollama", args: ["serve"], emulated: false },
  modelsDir: undefined,
  keepAlive: undefined,
  allowPull: false,
  startTimeoutMs: 60_000,
  readinessPollMs: 250,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 5_000,
  wedgeThreshold: 3,
  stopGraceMs: 10_000,
  preloadTimeoutMs: 600_000,
  pullTimeoutMs: 3_600_000,
  restart: DEFAULT_RESTART_POLICY,
  oom: DEFAULT_OOM_ESCALATION,
  logTailLines: 200,
};

/** What a caller may override: any field, and any part of the nested restart/oom settings. */
export type SupervisorSettingsInput = Partial<Omit<SupervisorSettings, "restart" | "oom">> & {
  restart?: Partial<RestartPolicySettings>;
  oom?: Partial<OomEscalationSettings>;
};

/** Full settings from defaults and a caller's overrides; throws on values that would misbehave. */
export function supervisorSettings(input: SupervisorSettingsInput = {}): SupervisorSettings {
  const s: SupervisorSettings = {
    ...DEFAULT_SUPERVISOR_SETTINGS,
    ...input,
    restart: { ...DEFAULT_RESTART_POLICY, ...input.restart },
    oom: { ...DEFAULT_OOM_ESCALATION, ...input.oom },
  };
  checkRestartPolicy(s.restart);
  for (const key of [
    "startTimeoutMs",
    "readinessPollMs",
    "healthIntervalMs",
    "healthTimeoutMs",
    "stopGraceMs",
    "preloadTimeoutMs",
    "pullTimeoutMs",
  ] as const) {
    if (!(s[key] > 0)) throw new RangeError(`supervisor: ${key} must be > 0, got ${s[key]}`);
  }
  if (!Number.isInteger(s.wedgeThreshold) || s.wedgeThreshold < 1) {
    throw new RangeError(`supervisor: wedgeThreshold must be an integer ≥ 1, got ${s.wedgeThreshold}`);
  }
  return s;
}
