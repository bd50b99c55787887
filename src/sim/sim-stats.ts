/** Counters behind GET /__sim/stats: requests, concurrency, tokens, cache reuse, loads and faults. */
import type { GpuScheduler } from "./gpu-scheduler.js";
import type { SchedulerObserver } from "./scheduler-types.js";
import type { FaultSpec, ModelCounters, SimStats } from "./types.js";

function emptyModel(): ModelCounters {
  return {
    requests: 0,
    tokensGenerated: 0,
    prefillTokensComputed: 0,
    prefillTokensReused: 0,
    loads: 0,
    evictions: 0,
  };
}

/** Collects an emulator's counters; the scheduler reports to it as its observer. */
export class StatsCollector implements SchedulerObserver {
  private startedWall = Date.now();
  private total = 0;
  private byEndpoint: Record<string, number> = {};
  inFlight = 0;
  private maxConcurrency = 0;
  private tokensGenerated = 0;
  private prefillComputed = 0;
  private prefillReused = 0;
  private loads = 0;
  private unloads = 0;
  private evictions = 0;
  private cancelled = 0;
  private errors = 0;
  private busyBaseMs = 0;
  private maxRunningBase = 0;
  private perModel: Record<string, ModelCounters> = {};

  constructor(
    /** The emulator's label (set once its port is known). */
    public id: string,
    private readonly timeScale: number,
  ) {}

  private model(name: string): ModelCounters {
    return (this.perModel[name] ??= emptyModel());
  }

  /** A request arrived (control endpoints are not counted). */
  request(endpoint: string): void {
    this.total++;
    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;
  }

  /** An inference request started being answered. */
  inferenceStarted(): void {
    this.inFlight++;
    this.maxConcurrency = Math.max(this.maxConcurrency, this.inFlight);
  }

  /** A request reached the scheduler for a model. */
  modelRequest(model: string): void {
    this.model(model).requests++;
  }

  inferenceEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  cancel(): void {
    this.cancelled++;
  }

  error(): void {
    this.errors++;
  }

  prefill(model: string, computed: number, reused: number): void {
    this.prefillComputed += computed;
    this.prefillReused += reused;
    const m = this.model(model);
    m.prefillTokensComputed += computed;
    m.prefillTokensReused += reused;
  }

  token(model: string): void {
    this.tokensGenerated++;
    this.model(model).tokensGenerated++;
  }

  load(model: string): void {
    this.loads++;
    this.model(model).loads++;
  }

  unload(model: string, evicted: boolean): void {
    this.unloads++;
    if (evicted) {
      this.evictions++;
      this.model(model).evictions++;
    }
  }

  /** Zeroes the counters (the GPU's busy time and peak restart from now). */
  reset(scheduler: GpuScheduler): void {
    const inFlight = this.inFlight;
    Object.assign(this, new StatsCollector(this.id, this.timeScale));
    this.inFlight = inFlight;
    this.maxConcurrency = inFlight;
    this.busyBaseMs = scheduler.engine.busyMs;
    this.maxRunningBase = scheduler.engine.running;
    scheduler.engine.maxRunning = scheduler.engine.running;
  }

  snapshot(scheduler: GpuScheduler, faults: FaultSpec[]): SimStats {
    const engine = scheduler.engine;
    return {
      id: this.id,
      uptimeMs: Date.now() - this.startedWall,
      timeScale: this.timeScale,
      requests: { total: this.total, byEndpoint: { ...this.byEndpoint } },
      inFlight: this.inFlight,
      maxConcurrency: this.maxConcurrency,
      running: engine.running,
      maxRunning: Math.max(engine.maxRunning, this.maxRunningBase),
      queued: scheduler.queued,
      tokensGenerated: this.tokensGenerated,
      prefillTokensComputed: this.prefillComputed,
      prefillTokensReused: this.prefillReused,
      loads: this.loads,
      unloads: this.unloads,
      evictions: this.evictions,
      cancelled: this.cancelled,
      errors: this.errors,
      busyMs: (engine.busyMs - this.busyBaseMs) / this.timeScale,
      perModel: structuredClone(this.perModel),
      loaded: scheduler.runnerInfos().map((r) => ({
        name: r.model.name,
        state: r.state,
        memoryBytes: r.memoryBytes,
        numCtx: r.numCtx,
        activeSequences: r.active,
        waitingSequences: r.waiting,
        refCount: r.refCount,
      })),
      faults,
    };
  }
}
