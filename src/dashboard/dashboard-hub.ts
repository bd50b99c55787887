/**
 * Feeds the aggregator from the gateway's events, samples gauges once a tick, and pushes the dashboard
 * state to Server-Sent Events clients. Owns one interval timer (running only between start and close).
 */
import type { ServerResponse } from "node:http";
import { DEFAULT_INSTANCE_CAPACITY } from "../backend/request-router.js";
import type { GatewayContext } from "../http/gateway-context.js";
import { isLoopbackHost } from "../http/admin/admin-auth.js";
import { buildDashboardState, type AdminMode, type DashboardState } from "./dashboard-state.js";
import {
  estimateGpuReadings,
  slotLoadsOf,
  type GpuReading,
  type GpuReadingKind,
  type GpuSampleSource,
} from "./gpu-sample-source.js";
import { StatsAggregator } from "./stats-aggregator.js";

/** Outcomes the client saw as the gateway's failure (a relayed 4xx or a client leaving is not one). */
const FAILED_OUTCOMES = new Set(["upstream_error", "no_instance", "stream_error"]);

/** Timer functions, injectable so tests can prove the hub leaves none behind. */
export interface HubTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Options of the hub. */
export interface DashboardHubOptions {
  /** A measuring GPU source; without one, utilisation is estimated from busy slots. */
  gpuSource?: GpuSampleSource | undefined;
  /** Sampling and push period, ms (1000). */
  tickMs?: number;
  /** History kept, in ticks (300). */
  historyBuckets?: number;
  now?: () => number;
  timers?: HubTimers;
}

/** Subscribes to a gateway's events and streams its state to dashboard clients. */
export class DashboardHub {
  readonly aggregator: StatsAggregator;
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly timers: HubTimers;
  private timer: unknown;
  private readonly draining = new Map<string, boolean>();
  private closed = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly options: DashboardHubOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? 1000;
    this.timers = options.timers ?? {
      setInterval: (fn, ms) => setInterval(fn, ms),
      clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
    };
    this.aggregator = new StatsAggregator({
      now: this.now,
      bucketMs: this.tickMs,
      historyBuckets: options.historyBuckets ?? 300,
    });
    const agg = this.aggregator;
    const events = ctx.proxy.events;
    this.unsubscribe.push(
      events.on("request-completed", (e) =>
        agg.recordRequest({
          instanceId: e.instanceId,
          failed: FAILED_OUTCOMES.has(e.outcome),
          ttftMs: e.ttftMs,
          outputTokens: e.outputTokens,
        }),
      ),
      events.on("upstream-failure", (e) => {
        agg.recordFailure(e.kind);
        const retry = e.willRetry ? ", retrying elsewhere" : "";
        agg.note("warn", e.instanceId, `${e.kind} on ${e.model}${retry}: ${e.message}`.slice(0, 300));
      }),
      ctx.fleet.events.on("instance-health", (e) =>
        agg.note(e.to === "unhealthy" ? "error" : "info", e.id, `health ${e.from} → ${e.to}: ${e.reason}`),
      ),
      ctx.fleet.events.on("breaker-transition", (e) =>
        agg.note(
          e.to === "open" ? "error" : "info",
          e.id,
          `circuit breaker ${e.from} → ${e.to}: ${e.reason}`,
        ),
      ),
    );
  }

  /** Starts sampling (idempotent); called when the server is ready. */
  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.sample();
    this.timer = this.timers.setInterval(() => this.tick(), this.tickMs);
  }

  /** Number of connected event-stream clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Adds an event-stream client: sends the full state now, then a tail every tick until it leaves. */
  addClient(res: ServerResponse): void {
    if (this.closed) {
      res.end();
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // Reconnect soon after a gateway restart; the browser's EventSource does the rest.
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    send(res, "state", this.state("full"));
  }

  /** The state document; "tail" carries only the last two buckets of history (the page keeps the rest). */
  state(series: "full" | "tail" = "full"): DashboardState & { seriesKind: "full" | "tail" } {
    const fleet = this.ctx.fleet;
    const instances = fleet.stats();
    const perf = this.ctx.perf.snapshot();
    const rates = new Map(perf.instances.map((p) => [p.id, p.errorRate]));
    const scores = this.ctx.router.scores();
    const gpu = this.gpuReadings();
    return {
      ...buildDashboardState({
        atMs: this.now(),
        gateway: {
          version: this.ctx.gatewayVersion,
          emulated: this.ctx.emulated,
          strategy: this.ctx.strategy,
          admin: adminModeOf(this.ctx),
        },
        instances,
        defaultCapacity: DEFAULT_INSTANCE_CAPACITY,
        errorRates: rates,
        scores,
        perf,
        queue: this.ctx.router.queueStats(),
        gpuSource: gpu.kind,
        gpuReadings: gpu.readings,
        totals: this.aggregator.totals(),
        bucketMs: this.tickMs,
        series: this.aggregator.series(series === "full" ? undefined : 2),
        events: this.aggregator.recentEvents(),
      }),
      seriesKind: series,
    };
  }

  /** Stops the timer, ends every stream and unsubscribes; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.timers.clearInterval(this.timer);
    this.timer = undefined;
    for (const off of this.unsubscribe) off();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private tick(): void {
    this.sample();
    if (this.clients.size === 0) return;
    const frame = this.state("tail");
    for (const res of this.clients) send(res, "state", frame);
  }

  private sample(): void {
    // Drains come through the admin API, which knows nothing of us: spot them by their effect.
    for (const i of this.ctx.fleet.instances()) {
      const was = this.draining.get(i.id);
      if (was !== undefined && was !== i.draining) {
        this.aggregator.note("info", i.id, i.draining ? "drained: takes no new requests" : "undrained");
      }
      this.draining.set(i.id, i.draining);
    }
    const readings = this.gpuReadings().readings;
    this.aggregator.sample({
      gpuUtilization: new Map(
        readings.flatMap((r) => (r.utilizationPercent === null ? [] : [[r.gpuId, r.utilizationPercent]])),
      ),
      queueDepth: this.ctx.router.queueStats().depth,
      inFlight: new Map(this.ctx.fleet.instances().map((i) => [i.id, i.inFlight])),
    });
  }

  /** The source's readings, or the estimate when there is no source or it sees no GPU (yet). */
  private gpuReadings(): { kind: GpuReadingKind; readings: GpuReading[] } {
    const measured = this.options.gpuSource?.latest() ?? [];
    if (measured.length > 0) return { kind: "measured", readings: measured };
    const limits = new Map(this.ctx.fleet.instances().map((i) => [i.id, i.spec.memoryLimitBytes]));
    const loads = slotLoadsOf(this.ctx.fleet.stats(), limits, DEFAULT_INSTANCE_CAPACITY);
    return { kind: "estimated", readings: estimateGpuReadings(loads) };
  }
}

function adminModeOf(ctx: GatewayContext): AdminMode {
  const key = ctx.adminAuth.adminKey;
  if (key !== undefined && key !== "") return "key";
  return isLoopbackHost(ctx.adminAuth.listenHost) ? "open" : "disabled";
}

function send(res: ServerResponse, event: string, data: unknown): void {
  // A slow reader's buffer is bounded by dropping it rather than queueing frames forever.
  if (res.writableLength > 1 << 20) {
    res.destroy();
    return;
  }
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
