/** Instance, breaker, health-score, model-residency and queue metrics, read from the fleet at scrape time. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Fleet } from "../backend/fleet.js";
import type { RequestRouter } from "../backend/request-router.js";
import { LATENCY_BUCKETS_S } from "./request-metrics.js";

/** States of `ollama_fleet_instance_state`, one of which is 1 per instance. */
const INSTANCE_STATES = ["unknown", "healthy", "unhealthy", "open", "half-open", "draining"] as const;

/** Measured prompt-cache counters per instance (KV affinity's store provides them). */
export interface PromptCacheStats {
  id: string;
  /** Prompt tokens Ollama reported (prompt_eval_count) on answers with timing. */
  measuredPromptTokens: number;
  /** Of those, tokens estimated served from the KV cache. */
  measuredCachedTokens: number;
  /** Conversations whose cache the instance holds and that are still going on. */
  liveConversations: number;
}

/** Registers the fleet and queue metrics; returns the unsubscribe functions. */
export function registerFleetMetrics(
  registry: Registry,
  fleet: Fleet,
  router: RequestRouter,
  errors: Counter<"type" | "instance">,
  promptCache: () => readonly PromptCacheStats[],
): Array<() => void> {
  const r = [registry];
  const perInstance = (
    name: string,
    help: string,
    value: (i: ReturnType<Fleet["instances"]>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["instance"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const i of fleet.instances()) this.set({ instance: i.id }, value(i));
      },
    });
  perInstance(
    "ollama_fleet_instance_in_flight_requests",
    "Requests in flight on each instance.",
    (i) => i.inFlight,
  );
  perInstance("ollama_fleet_instance_up", "1 when the instance is healthy, 0 otherwise.", (i) =>
    i.health === "healthy" ? 1 : 0,
  );
  perInstance(
    "ollama_fleet_instance_loaded_models",
    "Models loaded in memory on each instance (from /api/ps).",
    (i) => i.psModels().length,
  );
  perInstance(
    "ollama_fleet_instance_breaker_open",
    "Circuit breaker of each instance: 0 closed, 1 open, 0.5 half-open.",
    (i) => (i.breaker.state === "open" ? 1 : i.breaker.state === "half-open" ? 0.5 : 0),
  );
  perInstance(
    "ollama_fleet_instance_gpu_factor",
    "Routing weight factor the GPU monitor gives each instance (1 normal; lower while its GPU is hot or short of memory).",
    (i) => i.gpuFactor,
  );
  new Gauge({
    name: "ollama_fleet_instance_info",
    help: "Always 1: each instance's GPU index (-1 for CPU) and name, to join instance metrics with GPU metrics.",
    labelNames: ["instance", "gpu", "name"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const i of fleet.instances())
        this.set({ instance: i.id, gpu: String(i.spec.gpuId), name: i.spec.name }, 1);
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
        for (const state of INSTANCE_STATES) this.set({ instance: i.id, state }, i.state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "ollama_fleet_model_vram_bytes",
    help: "Memory each loaded model takes on each instance (size_vram from /api/ps).",
    labelNames: ["instance", "model"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const i of fleet.stats()) {
        for (const m of i.loadedModels) this.set({ instance: i.id, model: m.name }, m.sizeVramBytes);
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
  new Gauge({
    name: "ollama_fleet_queue_capacity",
    help: "Requests the admission queue may hold (MaxQueueSize).",
    registers: r,
    collect() {
      this.set(router.queueStats().capacity);
    },
  });
  new Gauge({
    name: "ollama_fleet_queue_oldest_wait_seconds",
    help: "How long the oldest waiting request has been in the admission queue.",
    registers: r,
    collect() {
      this.set(router.queueStats().oldestWaitMs / 1000);
    },
  });
  new Counter({
    name: "ollama_fleet_prompt_cache_tokens_total",
    help: "Prompt tokens Ollama reported per instance (kind=prompt) and of those the tokens measured as served from its KV cache (kind=cached), from prompt_eval_count and prompt_eval_duration.",
    labelNames: ["instance", "kind"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const s of promptCache()) {
        this.inc({ instance: s.id, kind: "prompt" }, s.measuredPromptTokens);
        this.inc({ instance: s.id, kind: "cached" }, s.measuredCachedTokens);
      }
    },
  });
  new Gauge({
    name: "ollama_fleet_live_conversations",
    help: "Conversations whose KV cache an instance holds and whose client answered or waited within the learned liveness window (session admission).",
    labelNames: ["instance"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const s of promptCache()) this.set({ instance: s.id }, s.liveConversations);
    },
  });
  new Counter({
    name: "ollama_fleet_session_admission_held_total",
    help: "Requests held because every slot held a live conversation: kind=opener (a new conversation) or kind=lost_turn (a turn whose cache was gone).",
    labelNames: ["kind"] as const,
    registers: r,
    collect() {
      this.reset();
      const s = router.sessionAdmission();
      this.inc({ kind: "opener" }, s?.heldOpeners ?? 0);
      this.inc({ kind: "lost_turn" }, s?.heldLostTurns ?? 0);
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
  return [
    fleet.events.on("breaker-transition", (e) => {
      breakerTransitions.inc({ instance: e.id, to: e.to });
      if (e.to === "open") errors.inc({ type: "breaker_open", instance: e.id });
    }),
    fleet.events.on("instance-health", (e) => healthTransitions.inc({ instance: e.id, to: e.to })),
    router.queue.events.on("rejected", (e) => queueRejected.inc({ reason: e.reason })),
    router.queue.events.on("dequeued", (e) => queueWait.observe({ priority: e.priority }, e.waitedMs / 1000)),
  ];
}
