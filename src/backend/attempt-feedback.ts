/**
 * What an ended attempt teaches: the instance's breaker and passive health, the fleet's inventory (a model
 * that vanished), and the performance tracker (TTFT, speed, load time, error rate).
 */
import type { PerformanceTracker } from "../routing/performance-tracker.js";
import type { Fleet } from "./fleet.js";
import type { Instance } from "./instance.js";
import type { AttemptOutcome } from "./router-types.js";

/** Failure kinds that say something about the instance (and so count for health and breaker). */
const BLAMING = new Set(["connect", "timeout", "reset", "other", "http_5xx", "stream_reset", "malformed"]);

/** One ended attempt on an instance. */
export interface EndedAttempt {
  instance: Instance;
  model: string;
  outcome: AttemptOutcome;
  /** The gateway sent it to an instance without the model loaded: its load_duration is a real load. */
  startedLoad: boolean;
}

/** Feeds an ended attempt back to the breaker, health, inventory and performance tracker. */
export function learnFromAttempt(fleet: Fleet, perf: PerformanceTracker, attempt: EndedAttempt): void {
  const { instance, model, outcome, startedLoad } = attempt;
  if (outcome.clientAborted) {
    instance.breaker.release();
    return;
  }
  const size = instance.modelSizeBytes(model);
  if (outcome.ok) {
    instance.breaker.onSuccess();
    instance.healthTracker.recordSuccess("passive");
  } else if (outcome.failureKind === "model_missing") {
    instance.breaker.release();
    instance.forgetModel(model);
    void fleet.refresh(instance.id);
    return;
  } else if (BLAMING.has(outcome.failureKind ?? "other")) {
    const reason = `${outcome.failureKind}: ${outcome.failureMessage ?? ""}`;
    instance.breaker.onFailure(reason);
    fleet.markFailure(instance, reason);
  } else {
    instance.breaker.release();
  }
  perf.record(instance.id, model, {
    ok: outcome.ok,
    ...(outcome.ttftMs !== undefined ? { ttftMs: outcome.ttftMs } : {}),
    ...(outcome.outputTokens !== undefined ? { outputTokens: outcome.outputTokens } : {}),
    ...(outcome.decodeMs !== undefined ? { decodeMs: outcome.decodeMs } : {}),
    ...(outcome.loadDurationMs !== undefined ? { loadDurationMs: outcome.loadDurationMs } : {}),
    ...(size !== undefined ? { modelSizeBytes: size } : {}),
    startedLoad,
  });
}
