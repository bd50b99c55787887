/** Prometheus metrics of the gateway, fed by component events and stats (never called from routing). */
import { Counter, Registry, collectDefaultMetrics } from "prom-client";
import type { Fleet } from "../backend/fleet.js";
import type { RequestRouter } from "../backend/request-router.js";
import type { GpuMonitorStats } from "../gpu/gpu-monitor.js";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import { registerFleetMetrics, type PromptCacheStats } from "./fleet-metrics.js";
import { registerGpuMetrics } from "./gpu-metrics.js";
import { registerModelDriftMetrics } from "./model-drift-metrics.js";
import { registerSupervisorMetrics } from "./supervisor-metrics.js";
import { registerSharingMetrics } from "./sharing-metrics.js";
import type { SupervisorStats } from "../supervisor/supervisor-types.js";
import { errorsCounter, registerRequestMetrics } from "./request-metrics.js";

/** Sources of metrics that are not events; each may be attached later (the GPU monitor starts after us). */
export interface MetricsSources {
  /** The GPU monitor's readings. */
  gpus?: { stats(): GpuMonitorStats } | undefined;
  /** Measured prompt-cache counters per instance (KV affinity). */
  promptCache?: (() => readonly PromptCacheStats[]) | undefined;
  /** The supervisor of provisioned instances, when the gateway started them. */
  supervisor?: { stats(): SupervisorStats } | undefined;
}

/** One registry per gateway, subscribed to its events; `close()` unsubscribes. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly sources: MetricsSources;

  constructor(
    fleet: Fleet,
    events: TypedEmitter<GatewayEvents>,
    router: RequestRouter,
    sources: MetricsSources = {},
  ) {
    this.sources = { ...sources };
    collectDefaultMetrics({ register: this.registry, prefix: "ollama_fleet_process_" });
    // prom-client's active handles/requests/resources are gauges named *_total, which Prometheus's
    // linter rejects (a _total suffix promises a counter): they are left out.
    for (const m of this.registry.getMetricsAsArray()) {
      if (m.name.endsWith("_total") && !(m instanceof Counter)) this.registry.removeSingleMetric(m.name);
    }
    const errors = errorsCounter(this.registry);
    this.unsubscribe.push(
      ...registerRequestMetrics(this.registry, events, errors),
      ...registerSharingMetrics(this.registry, events),
      ...registerFleetMetrics(this.registry, fleet, router, errors, () => this.sources.promptCache?.() ?? []),
    );
    registerGpuMetrics(this.registry, () => this.sources.gpus?.stats());
    registerModelDriftMetrics(this.registry, fleet);
    registerSupervisorMetrics(this.registry, () => this.sources.supervisor?.stats());
  }

  /** Attaches (or detaches, with undefined) the GPU monitor whose readings the GPU metrics show. */
  setGpuSource(source: MetricsSources["gpus"]): void {
    this.sources.gpus = source;
  }

  /** Attaches the source of measured prompt-cache counters. */
  setPromptCacheSource(source: MetricsSources["promptCache"]): void {
    this.sources.promptCache = source;
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
