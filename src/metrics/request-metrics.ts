/** Request, token, latency, model and error metrics, fed by the gateway's typed events. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import { errorTypeOf } from "./error-types.js";
import { ModelLoadDetector } from "./model-loads.js";

/** Buckets of request-level latencies (TTFT, end to end, queue wait), seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Buckets of the time between two tokens, seconds (a token every 5 ms to every 1 s). */
export const INTER_TOKEN_BUCKETS_S = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1];

/** Buckets of model load times, seconds. */
export const LOAD_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/** The counter every error source adds to: `ollama_fleet_errors_total{type, instance}`. */
export function errorsCounter(registry: Registry): Counter<"type" | "instance"> {
  return new Counter({
    name: "ollama_fleet_errors_total",
    help: "Errors by type (oom, timeout, connect, reset, upstream_5xx, busy, stream_reset, malformed, model_missing, breaker_open, queue_full, queue_timeout, no_instance, other) and instance (none when no instance was involved).",
    labelNames: ["type", "instance"] as const,
    registers: [registry],
  });
}

/** Registers the request metrics and subscribes them; returns the unsubscribe functions. */
export function registerRequestMetrics(
  registry: Registry,
  events: TypedEmitter<GatewayEvents>,
  errors: Counter<"type" | "instance">,
): Array<() => void> {
  const r = [registry];
  const requests = new Counter({
    name: "ollama_fleet_requests_total",
    help: "Proxied inference requests by endpoint, model, instance and HTTP status.",
    labelNames: ["endpoint", "model", "instance", "status", "outcome"] as const,
    registers: r,
  });
  const inFlight = new Gauge({
    name: "ollama_fleet_requests_in_flight",
    help: "Inference requests the gateway is handling now (queued or streaming).",
    registers: r,
  });
  const ttft = new Histogram({
    name: "ollama_fleet_time_to_first_token_seconds",
    help: "Time from request arrival to the first byte of the answer sent to the client.",
    labelNames: ["endpoint", "model", "instance"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: r,
  });
  const total = new Histogram({
    name: "ollama_fleet_request_duration_seconds",
    help: "Time from request arrival to the end of the answer.",
    labelNames: ["endpoint", "model", "instance", "status"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: r,
  });
  const interToken = new Histogram({
    name: "ollama_fleet_inter_token_latency_seconds",
    help: "Mean time between two output tokens of one answer (Ollama's eval_duration / eval_count), by model and instance.",
    labelNames: ["model", "instance"] as const,
    buckets: INTER_TOKEN_BUCKETS_S,
    registers: r,
  });
  const inference = new Histogram({
    name: "ollama_fleet_inference_duration_seconds",
    help: "Ollama's own processing time of an answer by phase: prefill (prompt_eval_duration) and decode (eval_duration).",
    labelNames: ["model", "instance", "phase"] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: r,
  });
  const tokens = new Counter({
    name: "ollama_fleet_tokens_total",
    help: "Tokens processed, by direction (prompt, output), model and instance, as Ollama reported them.",
    labelNames: ["direction", "model", "instance"] as const,
    registers: r,
  });
  const upstreamErrors = new Counter({
    name: "ollama_fleet_upstream_errors_total",
    help: "Failed upstream attempts by instance and kind (connect, timeout, reset, http_5xx, busy...).",
    labelNames: ["instance", "kind", "retried"] as const,
    registers: r,
  });
  const retries = new Counter({
    name: "ollama_fleet_retries_total",
    help: "Attempts after the first: retry (the client had received nothing) or failover (a generation continued on another instance mid-answer).",
    labelNames: ["model", "kind"] as const,
    registers: r,
  });
  const loads = new Counter({
    name: "ollama_fleet_model_loads_total",
    help: "Model loads that answers paid for, by model and instance.",
    labelNames: ["model", "instance"] as const,
    registers: r,
  });
  const loadTime = new Histogram({
    name: "ollama_fleet_model_load_duration_seconds",
    help: "Time Ollama reported loading the model (load_duration) on answers that loaded it.",
    labelNames: ["model", "instance"] as const,
    buckets: LOAD_BUCKETS_S,
    registers: r,
  });
  const cacheLookups = new Counter({
    name: "ollama_fleet_prefix_cache_lookups_total",
    help: "KV-affinity lookups by routing (requests with a prompt), by model.",
    labelNames: ["model"] as const,
    registers: r,
  });
  const cacheHits = new Counter({
    name: "ollama_fleet_prefix_cache_hits_total",
    help: "KV-affinity lookups whose chosen instance was expected to hold a prefix of the prompt, by model.",
    labelNames: ["model"] as const,
    registers: r,
  });
  const cachePredicted = new Counter({
    name: "ollama_fleet_prefix_cache_predicted_tokens_total",
    help: "Prompt tokens of routed requests by model, and of those the tokens routing expected cached (kind=prompt|cached).",
    labelNames: ["model", "kind"] as const,
    registers: r,
  });

  const detector = new ModelLoadDetector();
  const attemptKey = (e: { seq: number; attempt: number }): string => `${e.seq}.${e.attempt}`;
  return [
    events.on("request-started", () => inFlight.inc()),
    events.on("request-completed", (e) => {
      inFlight.dec();
      const instance = e.instanceId ?? "none";
      // A request that reached no instance may name any string; keep the label set bounded.
      const model = e.instanceId === undefined ? "none" : e.model;
      const status = String(e.status);
      requests.inc({ endpoint: e.endpoint, model, instance, status, outcome: e.outcome });
      total.observe({ endpoint: e.endpoint, model, instance, status }, e.totalMs / 1000);
      if (e.ttftMs !== undefined) ttft.observe({ endpoint: e.endpoint, model, instance }, e.ttftMs / 1000);
      if (e.promptTokens) tokens.inc({ direction: "prompt", model, instance }, e.promptTokens);
      if (e.outputTokens) tokens.inc({ direction: "output", model, instance }, e.outputTokens);
      if (e.outcome === "no_instance") errors.inc({ type: "no_instance", instance: "none" });
    }),
    events.on("queue-waited", (e) => {
      if (e.rejection === "queue_full" || e.rejection === "queue_timeout")
        errors.inc({ type: e.rejection, instance: "none" });
    }),
    events.on("attempt-started", (e) => {
      detector.started(attemptKey(e), e.instanceId, e.model, e.startedLoad);
      if (e.kind !== "first") retries.inc({ model: e.model, kind: e.kind });
    }),
    events.on("attempt-ended", (e) => {
      const labels = { model: e.model, instance: e.instanceId };
      if (detector.ended(attemptKey(e), e.instanceId, e.model, e.ok, e.loadMs)) {
        loads.inc(labels);
        if (e.loadMs !== undefined) loadTime.observe(labels, e.loadMs / 1000);
      }
      if (!e.ok) {
        if (e.failureKind !== undefined && e.failureKind !== "aborted")
          errors.inc({ type: errorTypeOf(e.failureKind, e.message), instance: e.instanceId });
        return;
      }
      if (e.promptEvalMs !== undefined && e.promptEvalMs > 0)
        inference.observe({ ...labels, phase: "prefill" }, e.promptEvalMs / 1000);
      if (e.decodeMs !== undefined && e.decodeMs > 0) {
        inference.observe({ ...labels, phase: "decode" }, e.decodeMs / 1000);
        if (e.outputTokens !== undefined && e.outputTokens > 1)
          interToken.observe(labels, e.decodeMs / e.outputTokens / 1000);
      }
    }),
    events.on("upstream-failure", (e) => {
      upstreamErrors.inc({ instance: e.instanceId, kind: e.kind, retried: e.willRetry ? "yes" : "no" });
    }),
    events.on("prefix-cache-lookup", (e) => {
      cacheLookups.inc({ model: e.model });
      if (e.hit) cacheHits.inc({ model: e.model });
      cachePredicted.inc({ model: e.model, kind: "prompt" }, e.promptTokens);
      cachePredicted.inc({ model: e.model, kind: "cached" }, e.predictedCachedTokens);
    }),
  ];
}
