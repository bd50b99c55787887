/** Prometheus metrics of the gateway, fed by component events and stats (never called from routing). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Fleet } from "../backend/fleet.js";
import type { RequestRouter } from "../backend/request-router.js";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** One registry per gateway, subscribed to its events; `close()` unsubscribes. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(fleet: Fleet, events: TypedEmitter<GatewayEvents>, router: RequestRouter) {
    collectDefaultMetrics({ register: this.registry, prefix: "ollama_fleet_process_" });
    const r = [this.registry];
    const requests = new Counter({
      name: "ollama_fleet_requests_total",
      help: "Proxied inference requests by endpoint, model, instance and HTTP status.",
      labelNames: ["endpoint", "model", "instance", "status", "outcome"] as const,
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
    new Gauge({
      name: "ollama_fleet_instance_in_flight_requests",
      help: "Requests in flight on each instance.",
      labelNames: ["instance"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.instances()) this.set({ instance: i.id }, i.inFlight);
      },
    });
    new Gauge({
      name: "ollama_fleet_instance_up",
      help: "1 when the instance is healthy, 0 otherwise.",
      labelNames: ["instance"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.instances()) this.set({ instance: i.id }, i.health === "healthy" ? 1 : 0);
      },
    });
    new Gauge({
      name: "ollama_fleet_instance_loaded_models",
      help: "Models loaded in memory on each instance (from /api/ps).",
      labelNames: ["instance"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.instances()) this.set({ instance: i.id }, i.psModels().length);
      },
    });

    new Gauge({
      name: "ollama_fleet_instance_state",
      help: "1 for the instance's current state (healthy, unhealthy, unknown, open, half-open, draining), else 0.",
      labelNames: ["instance", "state"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.stats()) {
          for (const state of ["unknown", "healthy", "unhealthy", "open", "half-open", "draining"]) {
            this.set({ instance: i.id, state }, i.state === state ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: "ollama_fleet_instance_breaker_open",
      help: "Circuit breaker of each instance: 0 closed, 1 open, 0.5 half-open.",
      labelNames: ["instance"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.instances()) {
          const st = i.breaker.state;
          this.set({ instance: i.id }, st === "open" ? 1 : st === "half-open" ? 0.5 : 0);
        }
      },
    });
    new Gauge({
      name: "ollama_fleet_instance_health_score",
      help: "Routing health score (0..1] of each instance for each model it holds, and the factors it multiplies.",
      labelNames: ["instance", "model", "factor"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const [instance, entries] of Object.entries(router.scores())) {
          for (const e of entries) {
            this.set({ instance, model: e.model, factor: "score" }, e.score);
            for (const [factor, v] of Object.entries(e.parts))
              this.set({ instance, model: e.model, factor }, v);
          }
        }
      },
    });
    new Gauge({
      name: "ollama_fleet_queue_depth",
      help: "Requests waiting in the gateway's admission queue, by model and priority.",
      labelNames: ["model", "priority"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const [model, byPriority] of Object.entries(router.queueStats().byModel)) {
          for (const [priority, n] of Object.entries(byPriority)) this.set({ model, priority }, n);
        }
      },
    });
    const breakerTransitions = new Counter({
      name: "ollama_fleet_breaker_transitions_total",
      help: "Circuit-breaker state changes by instance and new state.",
      labelNames: ["instance", "to"] as const,
      registers: r,
    });
    const healthTransitions = new Counter({
      name: "ollama_fleet_health_transitions_total",
      help: "Health state changes by instance and new state.",
      labelNames: ["instance", "to"] as const,
      registers: r,
    });
    const queueRejected = new Counter({
      name: "ollama_fleet_queue_rejected_total",
      help: "Requests that left the admission queue unserved, by reason (queue_full, queue_timeout, aborted).",
      labelNames: ["reason"] as const,
      registers: r,
    });
    const queueWait = new Histogram({
      name: "ollama_fleet_queue_wait_seconds",
      help: "Time requests waited in the admission queue before being placed, by priority.",
      labelNames: ["priority"] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: r,
    });

    this.unsubscribe.push(
      fleet.events.on("breaker-transition", (e) => breakerTransitions.inc({ instance: e.id, to: e.to })),
      fleet.events.on("instance-health", (e) => healthTransitions.inc({ instance: e.id, to: e.to })),
      router.queue.events.on("rejected", (e) => queueRejected.inc({ reason: e.reason })),
      router.queue.events.on("dequeued", (e) =>
        queueWait.observe({ priority: e.priority }, e.waitedMs / 1000),
      ),
      events.on("request-completed", (e) => {
        const instance = e.instanceId ?? "none";
        // A request that reached no instance may name any string; keep the label set bounded.
        const model = e.instanceId === undefined ? "none" : e.model;
        requests.inc({ endpoint: e.endpoint, model, instance, status: String(e.status), outcome: e.outcome });
        total.observe({ endpoint: e.endpoint, model, instance, status: String(e.status) }, e.totalMs / 1000);
        if (e.ttftMs !== undefined)
          ttft.observe({ endpoint: e.endpoint, model: e.model, instance }, e.ttftMs / 1000);
        if (e.promptTokens) tokens.inc({ direction: "prompt", model: e.model, instance }, e.promptTokens);
        if (e.outputTokens) tokens.inc({ direction: "output", model: e.model, instance }, e.outputTokens);
      }),
      events.on("upstream-failure", (e) => {
        upstreamErrors.inc({ instance: e.instanceId, kind: e.kind, retried: e.willRetry ? "yes" : "no" });
      }),
    );
  }

  /** Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.registry.clear();
  }
}
