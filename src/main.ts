/** Composition root: builds the fleet, proxy, metrics and HTTP server from a config, and closes them. */
import { createRequire } from "node:module";
import type { Logger } from "pino";
import type { FleetConfig } from "./config/schema.js";
import { Fleet } from "./backend/fleet.js";
import type { InstanceSpec } from "./backend/instance.js";
import type { GatewayEvents } from "./http/gateway-events.js";
import type { GatewayContext } from "./http/gateway-context.js";
import { buildServer } from "./http/server.js";
import { gpuMonitorSource } from "./dashboard/gpu-monitor-source.js";
import { GatewayMetrics } from "./metrics/gateway-metrics.js";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { GpuMonitor } from "./gpu/gpu-monitor.js";
import type { GpuPoller } from "./gpu/gpu-poller.js";
import { startObservability } from "./observability.js";
import { TypedEmitter } from "./util/typed-emitter.js";
import { RequestRouter } from "./backend/request-router.js";
import { PerformanceTracker } from "./routing/performance-tracker.js";
import { createBalancer } from "./routing/registry.js";
import { RequestSharing } from "./http/coalescer.js";
import { systemClock } from "./queue/clock.js";
import { linkSupervisor, type SupervisedFleet } from "./supervisor/gateway-link.js";
import { AffinityStore } from "./routing/affinity-store.js";
import { CanaryRouter } from "./routing/canary.js";

/** The gateway's own version, from package.json. */
export const GATEWAY_VERSION: string = (
  createRequire(import.meta.url)("../../package.json") as { version: string }
).version;

/** Queue waiting time that promotes a request one priority step (low is never starved). */
const AGING_MS = 10_000;

/** What starting a gateway needs beyond the config. */
export interface GatewayOptions {
  config: FleetConfig;
  logger: Logger;
  /** Instances to front; defaults to the config's `gpu_instances`. */
  specs?: InstanceSpec[];
  /** True when fronting the built-in emulated fleet. */
  emulated?: boolean;
  /** Supervisor of the instances (provisioned fleet): holds them until ready; closed with the gateway. */
  supervisor?: SupervisedFleet;
  now?: () => number;
  random?: () => number;
  /** GPU readings for the monitor: default detects the machine's GPUs; null runs no monitor. */
  gpuPoller?: GpuPoller | null;
  /** Export spans here (tests: an in-memory exporter), whatever TracingExporter says. */
  traceExporter?: SpanExporter;
}

/** A running gateway. */
export interface Gateway {
  url: string;
  port: number;
  fleet: Fleet;
  router: RequestRouter;
  events: TypedEmitter<GatewayEvents>;
  metrics: GatewayMetrics;
  /** The GPU health monitor, when GPUs were found (its stats() feed metrics and the dashboard). */
  gpuMonitor: GpuMonitor | undefined;
  close(): Promise<void>;
}

/** Instance specs from the YAML `gpu_instances` entries. */
export function specsFromConfig(config: FleetConfig): InstanceSpec[] {
  return config.instances.map((i) => ({
    id: i.id,
    name: i.name,
    url: i.url,
    gpuId: i.gpuId,
    memoryLimitBytes: i.memoryLimitBytes,
    models: i.models,
    maxConcurrentRequests: i.maxConcurrentRequests,
  }));
}

/** Starts the gateway: first inventory refresh, then listening. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, logger } = options;
  const gw = config.gateway;
  const now = options.now ?? Date.now;
  const lb = config.loadBalancing;
  const random = options.random ?? Math.random;
  const fleet = new Fleet({
    specs: options.specs ?? specsFromConfig(config),
    refreshIntervalMs: gw.inventoryRefreshSeconds * 1000,
    checkTimeoutMs: lb.healthCheckTimeoutSeconds * 1000,
    healthCheckIntervalMs: lb.healthCheckIntervalSeconds * 1000,
    connectTimeoutMs: gw.connectTimeoutSeconds * 1000,
    guard: {
      unhealthyThreshold: lb.unhealthyThreshold,
      healthyThreshold: lb.healthyThreshold,
      breakerEnabled: lb.enableCircuitBreaker,
      breakerThreshold: lb.circuitBreakerThreshold,
      breakerResetMs: lb.circuitBreakerResetSeconds * 1000,
    },
    now,
  });
  const perf = new PerformanceTracker({ now });
  const router = new RequestRouter({
    fleet,
    balancer: createBalancer(lb.loadBalancingStrategy, { now, random }),
    perf,
    maxQueueSize: gw.maxQueueSize,
    queueTimeoutMs: gw.queueTimeoutSeconds * 1000,
    agingMs: AGING_MS,
    now,
    affinity: lb.enableKvCacheSharing ? new AffinityStore(lb.maxCacheMemoryPercent) : undefined,
    sessionHoldMs: config.traffic.sessionAdmission ? config.traffic.sessionHoldSeconds * 1000 : 0,
    modelPrecision: new Map(
      (config.provisioning.plannedModels ?? []).flatMap((m) => (m.precision ? [[m.name, m.precision]] : [])),
    ),
    cpuFallback: {
      enabled: config.traffic.enableCpuFallback,
      maxModelBytes: config.traffic.cpuFallbackMaxModelBytes,
      gpuLoadPercent: config.traffic.cpuFallbackGpuLoadPercent,
    },
  });
  const events = new TypedEmitter<GatewayEvents>();
  const unlinkSupervisor =
    options.supervisor && linkSupervisor(options.supervisor, { fleet, router, events });
  let requestSeq = 0;
  const metrics = new GatewayMetrics(fleet, events, router, { supervisor: options.supervisor });
  const ctx: GatewayContext = {
    fleet,
    router,
    perf,
    strategy: lb.loadBalancingStrategy,
    proxy: {
      router,
      events,
      settings: {
        maxAttempts: gw.maxAttempts,
        firstTokenTimeoutMs: gw.firstTokenTimeoutSeconds * 1000,
        stallTimeoutMs: gw.stallTimeoutSeconds * 1000,
        requestTimeoutMs: gw.requestTimeoutSeconds * 1000,
        kvAffinity: lb.enableKvCacheSharing,
      },
      now,
      logger,
      nextSeq: () => ++requestSeq,
    },
    adminAuth: { adminKey: gw.adminKey, listenHost: gw.listenHost },
    fanOutTimeoutMs: lb.healthCheckTimeoutSeconds * 1000,
    emulated: options.emulated ?? false,
    canary: config.traffic.canary
      ? {
          router: new CanaryRouter(config.traffic.canary, random),
          sessionHeader: config.traffic.sessionHeader,
        }
      : undefined,
    gatewayVersion: GATEWAY_VERSION,
    supervisor: options.supervisor,
  };
  const sharing = new RequestSharing({
    proxy: ctx.proxy,
    clock: systemClock(),
    coalescing: gw.enableRequestCoalescing,
    embedMerging: lb.enableBatchProcessing,
    maxMergedInputs: gw.maxMergedEmbedInputs,
    batchWindowMs: lb.batchWindowMs,
    // Two calls per instance: one running and the next already queued there, so no instance idles
    // between merged calls while the gateway splits an answer and sends the next batch.
    lanes: (model) =>
      2 * fleet.instances().filter((i) => i.health !== "unhealthy" && i.hasModel(model)).length,
  });
  ctx.sharing = sharing;

  fleet.events.on("breaker-transition", (e) =>
    logger.warn({ instance: e.id, from: e.from, to: e.to, reason: e.reason }, "circuit breaker changed"),
  );
  fleet.events.on("instance-health", (e) => {
    const fields = { instance: e.id, from: e.from, to: e.to, reason: e.reason };
    if (e.to === "unhealthy") logger.warn(fields, "instance health changed");
    else logger.info(fields, "instance health changed");
  });
  await fleet.start();
  const observability = await startObservability({
    settings: config.observability,
    fleet,
    router,
    events,
    metrics,
    logger,
    strategy: lb.loadBalancingStrategy,
    serviceVersion: GATEWAY_VERSION,
    gpuPoller: options.gpuPoller,
    traceExporter: options.traceExporter,
  });
  const gpuSource = observability.gpuMonitor ? gpuMonitorSource(observability.gpuMonitor) : undefined;
  const app = buildServer(ctx, {
    logger,
    maxRequestBodyBytes: gw.maxRequestBodyBytes,
    metrics,
    dashboard: { gpuSource },
  });
  try {
    await app.listen({ host: gw.listenHost, port: gw.listenPort });
  } catch (err) {
    sharing.close();
    router.close();
    unlinkSupervisor?.();
    await options.supervisor?.close();
    await fleet.close();
    await observability.close();
    metrics.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : gw.listenPort;
  const host = gw.listenHost.includes(":") ? `[${gw.listenHost}]` : gw.listenHost;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  logger.info(
    { url, instances: fleet.stats().map((i) => ({ id: i.id, url: i.url, health: i.health })) },
    "gateway listening",
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    fleet,
    router,
    events,
    metrics,
    gpuMonitor: observability.gpuMonitor,
    close() {
      closing ??= (async () => {
        sharing.close();
        router.close();
        await app.close();
        unlinkSupervisor?.();
        await options.supervisor?.close();
        await fleet.close();
        await observability.close();
        metrics.close();
        events.removeAll();
      })();
      return closing;
    },
  };
}
