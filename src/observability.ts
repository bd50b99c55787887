/**
 * The gateway's observability beyond /metrics, assembled once: request logs, OpenTelemetry traces and the
 * GPU health monitor (which also feeds the GPU metrics and routing weights). `close()` stops all three.
 */
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "pino";
import type { Fleet } from "./backend/fleet.js";
import type { RequestRouter } from "./backend/request-router.js";
import type { ObservabilitySettings } from "./config/observability-schema.js";
import { GpuMonitor } from "./gpu/gpu-monitor.js";
import { openGpuPoller, type GpuPoller } from "./gpu/gpu-poller.js";
import type { GatewayEvents } from "./http/gateway-events.js";
import type { GatewayMetrics } from "./metrics/gateway-metrics.js";
import { systemClock, type Clock } from "./queue/clock.js";
import { subscribeGpuLogs, subscribeRequestLogs } from "./request-log.js";
import { RequestTracer } from "./tracing/request-tracer.js";
import { routeDescriber } from "./tracing/route-details.js";
import { createTracing } from "./tracing/tracing-setup.js";
import type { TypedEmitter } from "./util/typed-emitter.js";

/** What observability is built from. */
export interface ObservabilityOptions {
  settings: ObservabilitySettings;
  fleet: Fleet;
  router: RequestRouter;
  events: TypedEmitter<GatewayEvents>;
  metrics: GatewayMetrics;
  logger: Logger;
  /** LoadBalancingStrategy, for the route spans. */
  strategy: string;
  serviceVersion: string;
  /** GPU readings: undefined detects the machine's GPUs (when EnableGpuMonitor), null runs no monitor. */
  gpuPoller?: GpuPoller | null | undefined;
  /** Spans go here instead of OTLP (tests). */
  traceExporter?: SpanExporter | undefined;
  clock?: Clock | undefined;
}

/** The running parts; each is undefined when off. */
export interface Observability {
  gpuMonitor: GpuMonitor | undefined;
  tracer: RequestTracer | undefined;
  close(): Promise<void>;
}

/** Subscribes logs and traces, and starts the GPU monitor when there is a GPU to watch. */
export async function startObservability(o: ObservabilityOptions): Promise<Observability> {
  const s = o.settings;
  const tracing = createTracing({ settings: s, serviceVersion: o.serviceVersion, exporter: o.traceExporter });
  let tracer: RequestTracer | undefined;
  // Logs first: their listener must see a request's trace id before the tracer forgets it.
  const offLogs = subscribeRequestLogs(o.events, o.logger, { traceIdOf: (seq) => tracer?.traceIdOf(seq) });
  if (tracing) tracer = new RequestTracer(tracing.tracer, o.events, routeDescriber(o.router, o.strategy));
  o.metrics.setPromptCacheSource(() => o.router.affinityStats());

  const poller = o.gpuPoller !== undefined ? o.gpuPoller : s.enableGpuMonitor ? await openGpuPoller() : null;
  let gpuMonitor: GpuMonitor | undefined;
  let offGpuLogs: (() => void) | undefined;
  if (poller) {
    gpuMonitor = new GpuMonitor({
      poller,
      instances: () => o.fleet.instances(),
      thresholds: {
        hotTemperatureCelsius: s.gpuHotTemperatureCelsius,
        minFreeMemoryBytes: s.gpuMinFreeMemoryBytes,
      },
      intervalMs: s.gpuPollSeconds * 1000,
      clock: o.clock ?? systemClock(),
    });
    offGpuLogs = subscribeGpuLogs(gpuMonitor, o.logger);
    await gpuMonitor.start();
    o.metrics.setGpuSource(gpuMonitor);
    o.logger.info(
      { source: poller.source, gpus: gpuMonitor.stats().gpus.map((g) => `${g.gpu.id}: ${g.gpu.name}`) },
      "GPU monitor started",
    );
  }

  return {
    gpuMonitor,
    tracer,
    async close() {
      o.metrics.setGpuSource(undefined);
      offGpuLogs?.();
      await gpuMonitor?.close();
      tracer?.close();
      await tracing?.close();
      offLogs();
    },
  };
}
