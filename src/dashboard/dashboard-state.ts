/** The document the dashboard page draws, assembled from the gateway's own stats (pure). */
import type { InstanceStats } from "../backend/instance.js";
import type { QueueStats } from "../queue/types.js";
import type { PerformanceSnapshot } from "../routing/performance-tracker.js";
import type { GpuReading, GpuReadingKind } from "./gpu-sample-source.js";
import type { NotableEvent, SeriesPoint, WindowTotals } from "./stats-aggregator.js";

/** Who may press drain/undrain: anyone (loopback, no key), key holders, or nobody (public, no key). */
export type AdminMode = "open" | "key" | "disabled";

/** One instance as the dashboard shows it. */
export interface DashboardInstance {
  id: string;
  name: string;
  gpuId: number;
  state: InstanceStats["state"];
  draining: boolean;
  inFlight: number;
  capacity: number;
  /** Best health score over its models (0..1); null when it has no model to score. */
  score: number | null;
  scores: { model: string; score: number }[];
  loadedModels: { name: string; sizeVramBytes: number }[];
  modelsOnDisk: string[];
  requestsTotal: number;
  failuresTotal: number;
  /** Failed share of its recent attempts (the routing tracker's window). */
  errorRate: number;
  lastError: string | undefined;
}

/** One GPU: its reading and what runs on it. */
export interface DashboardGpu extends GpuReading {
  instances: string[];
  loadedModels: { name: string; instanceId: string; sizeVramBytes: number }[];
}

/** Measured speed of one model on one instance. */
export interface DashboardModelPerf {
  model: string;
  instanceId: string;
  tokensPerSecond: number | null;
  ttftMs: number | null;
  samples: number;
}

/** The whole state pushed to the page on every tick. */
export interface DashboardState {
  atMs: number;
  gateway: { version: string; emulated: boolean; strategy: string; admin: AdminMode };
  gpuSource: GpuReadingKind;
  gpus: DashboardGpu[];
  instances: DashboardInstance[];
  models: DashboardModelPerf[];
  queue: QueueStats;
  totals: WindowTotals;
  bucketMs: number;
  series: SeriesPoint[];
  events: NotableEvent[];
}

/** Everything buildDashboardState needs, gathered by the hub. */
export interface DashboardInputs {
  atMs: number;
  gateway: DashboardState["gateway"];
  instances: readonly InstanceStats[];
  defaultCapacity: number;
  errorRates: ReadonlyMap<string, number>;
  scores: Readonly<Record<string, { model: string; score: number }[]>>;
  perf: PerformanceSnapshot;
  queue: QueueStats;
  gpuSource: GpuReadingKind;
  gpuReadings: readonly GpuReading[];
  totals: WindowTotals;
  bucketMs: number;
  series: SeriesPoint[];
  events: NotableEvent[];
}

/** Joins instances, GPUs, scores and measured speeds into the page's document. */
export function buildDashboardState(input: DashboardInputs): DashboardState {
  const instances = input.instances.map((i): DashboardInstance => {
    const scores = (input.scores[i.id] ?? [])
      .map((s) => ({ model: s.model, score: s.score }))
      .sort((a, b) => b.score - a.score);
    return {
      id: i.id,
      name: i.name,
      gpuId: i.gpuId,
      state: i.state,
      draining: i.draining,
      inFlight: i.inFlight,
      capacity: i.maxConcurrentRequests ?? input.defaultCapacity,
      score: scores[0]?.score ?? null,
      scores,
      loadedModels: i.loadedModels.map((m) => ({ name: m.name, sizeVramBytes: m.sizeVramBytes })),
      modelsOnDisk: i.modelsOnDisk,
      requestsTotal: i.requestsTotal,
      failuresTotal: i.failuresTotal,
      errorRate: input.errorRates.get(i.id) ?? 0,
      lastError: i.lastError,
    };
  });
  const readings = new Map(input.gpuReadings.map((r) => [r.gpuId, r]));
  const gpuIds = [...new Set([...input.instances.map((i) => i.gpuId), ...readings.keys()])].sort(
    (a, b) => a - b,
  );
  const gpus = gpuIds.map((gpuId): DashboardGpu => {
    const on = input.instances.filter((i) => i.gpuId === gpuId);
    return {
      ...(readings.get(gpuId) ?? { gpuId, utilizationPercent: 0 }),
      instances: on.map((i) => i.id),
      loadedModels: on.flatMap((i) =>
        i.loadedModels.map((m) => ({ name: m.name, instanceId: i.id, sizeVramBytes: m.sizeVramBytes })),
      ),
    };
  });
  const known = new Set(input.instances.map((i) => i.id));
  const models = input.perf.instances
    .filter((p) => known.has(p.id))
    .flatMap((p) =>
      p.models.map((m): DashboardModelPerf => ({
        model: m.model,
        instanceId: p.id,
        tokensPerSecond: m.tokensPerSecond ?? null,
        ttftMs: m.ttftMs ?? null,
        samples: m.samples,
      })),
    )
    .sort((a, b) => a.model.localeCompare(b.model) || a.instanceId.localeCompare(b.instanceId));
  return {
    atMs: input.atMs,
    gateway: input.gateway,
    gpuSource: input.gpuSource,
    gpus,
    instances,
    models,
    queue: input.queue,
    totals: input.totals,
    bucketMs: input.bucketMs,
    series: input.series,
    events: input.events,
  };
}
