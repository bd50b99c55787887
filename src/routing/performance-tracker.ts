/**
 * Measurements the health score feeds on, learned from real requests: EWMA time to first token and decode
 * speed per instance × model, error rate per instance over a sliding window, and model load speed. Pure
 * state on an injected clock; memory is bounded (LRU caps on instances and instance × model entries).
 */
import { ErrorWindow, type WindowCounts } from "./error-window.js";

/** Tuning of a PerformanceTracker; only `now` is required. */
export interface PerformanceTrackerOptions {
  now: () => number;
  /** Weight of the newest sample in every EWMA (0.3: about the last 5–6 samples matter). */
  ewmaAlpha?: number;
  /** Length of the error-rate window, ms (60 s). */
  errorWindowMs?: number;
  /** Buckets the error window is kept in (12: the window slides in 5 s steps by default). */
  errorBuckets?: number;
  /** Most instance × model entries kept; the least recently recorded go first (1024). */
  maxEntries?: number;
  /** Most instances kept (256). */
  maxInstances?: number;
  /** A load_duration below this is a hot model's bookkeeping, not a load, and is not learned from (100 ms). */
  minLoadSampleMs?: number;
  /** Answers shorter than this many tokens give too noisy a speed to learn from (4). */
  minSpeedTokens?: number;
  /** Fixed start-up cost of a model load, ms (300); learning covers the per-byte part. */
  loadOverheadMs?: number;
  /** Load speed assumed before any load is measured, bytes/s (2 GB/s). */
  defaultLoadBytesPerSecond?: number;
}

/** What the proxy reports after each attempt on an instance; times in ms, all optional but `ok`. */
export interface PerformanceSample {
  /** false for a failed attempt (connect error, 5xx, timeout, stall), counted in the error rate. */
  ok: boolean;
  /** Time from sending to the first token, including any model load. */
  ttftMs?: number;
  /** Tokens generated (eval_count). */
  outputTokens?: number;
  /** Time spent generating them (eval_duration). */
  decodeMs?: number;
  /** Model load time the instance reported (load_duration). */
  loadDurationMs?: number;
  /** Size of the model, needed to learn load speed. */
  modelSizeBytes?: number;
  /**
   * The gateway sent this request to an instance that did not have the model loaded: its load_duration
   * is a real load however short (an emulator runs time-scaled), not a hot model's bookkeeping.
   */
  startedLoad?: boolean;
}

/** Learned figures of one instance × model, as the admin API shows them. */
export interface ModelPerformance {
  model: string;
  ttftMs: number | undefined;
  tokensPerSecond: number | undefined;
  samples: number;
}

/** Learned figures of one instance, as the admin API shows them. */
export interface InstancePerformance extends WindowCounts {
  id: string;
  errorRate: number;
  /** Learned load time per GB beyond the fixed overhead; undefined until a load is measured. */
  loadMsPerGB: number | undefined;
  models: ModelPerformance[];
}

/** Everything the tracker knows, for the admin API. */
export interface PerformanceSnapshot {
  atMs: number;
  fleetLoadMsPerGB: number | undefined;
  instances: InstancePerformance[];
}

interface ModelStats {
  ttftMs: number | undefined;
  tokensPerSecond: number | undefined;
  samples: number;
}

interface InstanceStats {
  errors: ErrorWindow;
  loadMsPerByte: number | undefined;
  loadOverheadMs: number | undefined;
  models: Map<string, ModelStats>;
}

const GB = 1e9;

/** Learns per-instance, per-model performance from the proxy's reports; see PerformanceSample. */
export class PerformanceTracker {
  private readonly now: () => number;
  private readonly alpha: number;
  private readonly errorWindowMs: number;
  private readonly errorBuckets: number;
  private readonly maxEntries: number;
  private readonly maxInstances: number;
  private readonly minLoadSampleMs: number;
  private readonly minSpeedTokens: number;
  private readonly loadOverheadMs: number;
  private readonly defaultLoadMsPerByte: number;
  // Insertion order is recency order: a touched key is deleted and re-set, so the first key is the oldest.
  private readonly instances = new Map<string, InstanceStats>();
  private readonly entryOrder = new Map<string, { id: string; model: string }>();
  private fleetLoadMsPerByte: number | undefined;
  private fleetLoadOverheadMs: number | undefined;

  constructor(options: PerformanceTrackerOptions) {
    this.now = options.now;
    this.alpha = options.ewmaAlpha ?? 0.3;
    this.errorWindowMs = options.errorWindowMs ?? 60_000;
    this.errorBuckets = options.errorBuckets ?? 12;
    this.maxEntries = Math.max(1, options.maxEntries ?? 1024);
    this.maxInstances = Math.max(1, options.maxInstances ?? 256);
    this.minLoadSampleMs = options.minLoadSampleMs ?? 100;
    this.minSpeedTokens = options.minSpeedTokens ?? 4;
    this.loadOverheadMs = options.loadOverheadMs ?? 300;
    this.defaultLoadMsPerByte = 1000 / (options.defaultLoadBytesPerSecond ?? 2 * GB);
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new Error("ewmaAlpha must be in (0, 1]");
  }

  /** Learns from one attempt of a request for `model` on `instanceId` (call once per attempt, failed or not). */
  record(instanceId: string, model: string, sample: PerformanceSample): void {
    const instance = this.touchInstance(instanceId);
    instance.errors.record(this.now(), sample.ok);
    const load = sample.loadDurationMs ?? 0;
    const stats = this.touchModel(instanceId, instance, model);
    stats.samples++;
    // TTFT minus the load: residency prices loads separately, so a cold start must not mark a GPU as slow.
    if (isFiniteNonNegative(sample.ttftMs)) {
      stats.ttftMs = this.ewma(stats.ttftMs, Math.max(0, sample.ttftMs - Math.max(0, load)));
    }
    const tokens = sample.outputTokens ?? 0;
    if (tokens >= this.minSpeedTokens && sample.decodeMs !== undefined && sample.decodeMs > 0) {
      stats.tokensPerSecond = this.ewma(stats.tokensPerSecond, (tokens * 1000) / sample.decodeMs);
    }
    const size = sample.modelSizeBytes ?? 0;
    if ((load >= this.minLoadSampleMs || (sample.startedLoad === true && load > 0)) && size > 0) {
      // A fixed start cost plus a per-byte rate, so one figure predicts loads of any size. The start cost
      // is at most half the load: a backend that loads far faster than the default (a time-scaled emulator,
      // a page-cached file) must not be priced at the default's fixed 300 ms.
      const overheadMs = Math.min(this.loadOverheadMs, load / 2);
      const msPerByte = (load - overheadMs) / size;
      instance.loadMsPerByte = this.ewma(instance.loadMsPerByte, msPerByte);
      instance.loadOverheadMs = this.ewma(instance.loadOverheadMs, overheadMs);
      this.fleetLoadMsPerByte = this.ewma(this.fleetLoadMsPerByte, msPerByte);
      this.fleetLoadOverheadMs = this.ewma(this.fleetLoadOverheadMs, overheadMs);
    }
  }

  /** EWMA time to first token (load excluded) of `model` here, else the instance's mean over models, else undefined. */
  ttftMs(instanceId: string, model: string): number | undefined {
    return this.perModel(instanceId, model, (s) => s.ttftMs);
  }

  /** EWMA decode tokens/s of `model` here, else the instance's mean over models, else undefined. */
  tokensPerSecond(instanceId: string, model: string): number | undefined {
    return this.perModel(instanceId, model, (s) => s.tokensPerSecond);
  }

  /** Failed share of the instance's attempts in the sliding window; 0 with no attempts. */
  errorRate(instanceId: string): number {
    return this.instances.get(instanceId)?.errors.rate(this.now()) ?? 0;
  }

  /** Expected load time of a model of this size here: learned here, else fleet-wide, else the default rate. */
  estimateLoadMs(instanceId: string, modelSizeBytes: number): number {
    const instance = this.instances.get(instanceId);
    const msPerByte = instance?.loadMsPerByte ?? this.fleetLoadMsPerByte ?? this.defaultLoadMsPerByte;
    const overheadMs = instance?.loadOverheadMs ?? this.fleetLoadOverheadMs ?? this.loadOverheadMs;
    return overheadMs + Math.max(0, modelSizeBytes) * msPerByte;
  }

  /** Forgets an instance that left the fleet. */
  forget(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) return;
    for (const model of instance.models.keys()) this.entryOrder.delete(entryKey(instanceId, model));
    this.instances.delete(instanceId);
  }

  /** Everything learned, for the admin API (instances and models in least-recently-recorded-first order). */
  snapshot(): PerformanceSnapshot {
    const atMs = this.now();
    const instances = [...this.instances].map(([id, s]): InstancePerformance => {
      const counts = s.errors.counts(atMs);
      return {
        id,
        ...counts,
        errorRate: counts.requests === 0 ? 0 : counts.failures / counts.requests,
        loadMsPerGB: s.loadMsPerByte === undefined ? undefined : s.loadMsPerByte * GB,
        models: [...s.models].map(([model, m]) => ({ model, ...m })),
      };
    });
    const fleet = this.fleetLoadMsPerByte;
    return { atMs, fleetLoadMsPerGB: fleet === undefined ? undefined : fleet * GB, instances };
  }

  private ewma(previous: number | undefined, sample: number): number {
    return previous === undefined ? sample : previous + this.alpha * (sample - previous);
  }

  private perModel(
    instanceId: string,
    model: string,
    field: (s: ModelStats) => number | undefined,
  ): number | undefined {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) return undefined;
    const own = instance.models.get(model);
    const value = own === undefined ? undefined : field(own);
    if (value !== undefined) return value;
    let sum = 0;
    let n = 0;
    for (const s of instance.models.values()) {
      const v = field(s);
      if (v !== undefined) {
        sum += v;
        n++;
      }
    }
    return n === 0 ? undefined : sum / n;
  }

  private touchInstance(id: string): InstanceStats {
    const existing = this.instances.get(id);
    if (existing !== undefined) {
      this.instances.delete(id);
      this.instances.set(id, existing);
      return existing;
    }
    const created: InstanceStats = {
      errors: new ErrorWindow(this.errorWindowMs, this.errorBuckets),
      loadMsPerByte: undefined,
      loadOverheadMs: undefined,
      models: new Map(),
    };
    this.instances.set(id, created);
    for (const oldest of this.instances.keys()) {
      if (this.instances.size <= this.maxInstances) break;
      this.forget(oldest);
    }
    return created;
  }

  private touchModel(id: string, instance: InstanceStats, model: string): ModelStats {
    const key = entryKey(id, model);
    this.entryOrder.delete(key);
    this.entryOrder.set(key, { id, model });
    let stats = instance.models.get(model);
    if (stats === undefined) {
      stats = { ttftMs: undefined, tokensPerSecond: undefined, samples: 0 };
      instance.models.set(model, stats);
    }
    for (const [oldestKey, oldest] of this.entryOrder) {
      if (this.entryOrder.size <= this.maxEntries) break;
      this.entryOrder.delete(oldestKey);
      this.instances.get(oldest.id)?.models.delete(oldest.model);
    }
    return stats;
  }
}

// NUL cannot occur in instance ids or model names, so the pair maps to one key unambiguously.
function entryKey(id: string, model: string): string {
  return `${id}\u0000${model}`;
}

function isFiniteNonNegative(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x >= 0;
}
