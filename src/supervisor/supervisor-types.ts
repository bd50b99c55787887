/** Shapes of the supervisor: settings, states, typed events and the stats the admin API and metrics read. */
import type { OomActionKind, OomEscalationSettings } from "./oom-recovery.js";
import type { OomKind, OomSource } from "./oom-classifier.js";
import type { PlannedDevice } from "./plan-types.js";
import type { RestartPolicySettings } from "./restart-policy.js";
import type { CapturedLine } from "./instance-log.js";

/**
 * Life of a supervised instance. starting: process spawned, waiting for /api/version; preloading: up,
 * loading its assigned models; ready: routed to; restarting: waiting out the backoff; failed: crash loop
 * (or could not start), given up; stopping/stopped: the gateway is shutting it down.
 */
export type SupervisedState =
  "starting" | "preloading" | "ready" | "restarting" | "failed" | "stopping" | "stopped";

/** The program that plays `ollama serve`: the real binary, or the emulator as a stand-in. */
export interface OllamaCommand {
  command: string;
  /** ["serve"] for Ollama. */
  args: string[];
  /** True when this is the emulator (logged loudly). */
  emulated: boolean;
}

/** Everything the supervisor can be tuned with; every field has a default (DEFAULT_SUPERVISOR_SETTINGS). */
export interface SupervisorSettings {
  ollama: OllamaCommand;
  /** OLLAMA_MODELS for every instance; undefined keeps Ollama's default store. */
  modelsDir: string | undefined;
  /** OLLAMA_KEEP_ALIVE and the keep_alive of preloads; undefined keeps Ollama's default (5m). */
  keepAlive: string | undefined;
  /** Pull an assigned model that is not on disk before preloading it. */
  allowPull: boolean;
  /** Longest wait for /api/version to answer after a spawn, ms. */
  startTimeoutMs: number;
  /** Interval of the readiness poll, ms. */
  readinessPollMs: number;
  /** Interval of the liveness check of a running instance, ms. */
  healthIntervalMs: number;
  /** Timeout of one liveness check, ms. */
  healthTimeoutMs: number;
  /** Consecutive failed liveness checks that make an instance wedged (it is restarted). */
  wedgeThreshold: number;
  /** SIGTERM → SIGKILL grace when stopping an instance, ms. */
  stopGraceMs: number;
  /** Longest wait for one model to load, ms. */
  preloadTimeoutMs: number;
  /** Longest wait for one pull, ms. */
  pullTimeoutMs: number;
  restart: RestartPolicySettings;
  oom: OomEscalationSettings;
  /** Output lines kept per instance. */
  logTailLines: number;
  /** Extra environment per instance (the emulator stand-in learns its GPU this way). */
  extraEnv?: (instance: {
    id: string;
    device: PlannedDevice;
    memoryLimitBytes: number;
  }) => Record<string, string>;
}

/** Payloads of the supervisor's events. */
export interface SupervisorEvents {
  "state-change": { id: string; from: SupervisedState; to: SupervisedState; reason: string };
  "process-exit": {
    id: string;
    pid: number | undefined;
    code: number | null;
    signal: string | null;
    uptimeMs: number;
    /** True when the supervisor asked for it (stop, planned restart, wedge). */
    expected: boolean;
    reason: string;
  };
  "restart-scheduled": { id: string; attempt: number; delayMs: number; reason: string };
  preload: {
    id: string;
    model: string;
    outcome: "loaded" | "pulled" | "missing" | "failed";
    durationMs: number;
    error: string | undefined;
  };
  "oom-detected": {
    id: string;
    model: string | undefined;
    kind: OomKind;
    source: OomSource;
    message: string;
  };
  "oom-recovery": {
    id: string;
    model: string | undefined;
    action: OomActionKind;
    detail: string;
    ok: boolean;
  };
}

/** A supervised instance for the admin API, metrics and the dashboard. */
export interface SupervisedInstanceStats {
  id: string;
  state: SupervisedState;
  /** Why it is in that state (the failure reason when failed). */
  reason: string;
  pid: number | undefined;
  port: number;
  url: string;
  device: PlannedDevice;
  /** Its current OLLAMA_NUM_PARALLEL (lower than planned after an out-of-memory recovery). */
  numParallel: number;
  plannedNumParallel: number;
  /** Models it preloads, in order (changes when a model is moved after an out-of-memory error). */
  models: string[];
  /** Unplanned exits since the gateway started. */
  exitsTotal: number;
  /** Restarts since the gateway started (after an exit, a wedge or a recovery). */
  restartsTotal: number;
  lastExit: { reason: string; atMs: number } | undefined;
  startedAtMs: number | undefined;
  readyAtMs: number | undefined;
  oomTotal: number;
  recentLogs: CapturedLine[];
}

/** Counters of out-of-memory handling across the fleet. */
export interface OomStats {
  detectedTotal: number;
  byKind: Record<OomKind, number>;
  bySource: Record<OomSource, number>;
  /** Recovery steps taken (successful or not) by kind. */
  recoveries: Record<OomActionKind, number>;
  recoveryFailures: number;
  /** Errors not acted on because a step was running or settling. */
  coalesced: number;
}

/** The supervisor's whole state. */
export interface SupervisorStats {
  emulated: boolean;
  instances: SupervisedInstanceStats[];
  oom: OomStats;
}
