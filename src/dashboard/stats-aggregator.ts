/**
 * The dashboard's memory: a ring of fixed time buckets (1 s by default, 5 minutes kept) filled from the
 * gateway's own events and gauge samples, plus a short list of notable events. Pure state on an injected
 * clock; every map is bounded so hostile model names or a flapping fleet cannot grow it.
 */

/** Tuning of a StatsAggregator; only `now` is required. */
export interface StatsAggregatorOptions {
  now: () => number;
  /** Width of one bucket, ms (1000). */
  bucketMs?: number;
  /** Buckets kept (300: five minutes of 1 s buckets). */
  historyBuckets?: number;
  /** Most distinct keys (instances, GPUs, failure kinds) one bucket keeps; the rest fold into "other" (64). */
  maxKeys?: number;
  /** Notable events kept (50). */
  maxEvents?: number;
}

/** A finished request as the aggregator needs it (a subset of the gateway's request-completed event). */
export interface CompletedRequest {
  instanceId: string | undefined;
  /** True when the client saw a gateway-side failure (upstream error, no instance, broken stream). */
  failed: boolean;
  ttftMs: number | undefined;
  outputTokens: number | undefined;
}

/** Gauges read once per bucket. */
export interface GaugeSample {
  /** Utilisation per GPU id, 0..100. */
  gpuUtilization: ReadonlyMap<number, number>;
  queueDepth: number;
  /** Requests in flight per instance id. */
  inFlight: ReadonlyMap<string, number>;
}

/** One bucket as the dashboard draws it; counters are per bucket, gauges the last value sampled. */
export interface SeriesPoint {
  /** Start of the bucket, epoch ms. */
  t: number;
  /** Finished requests per instance id ("none" for requests no instance took). */
  requests: Record<string, number>;
  /** Finished requests that failed, fleet-wide. */
  failed: number;
  /** Failed upstream attempts by kind (connect, timeout, http_5xx...), retried or not. */
  failures: Record<string, number>;
  outputTokens: number;
  /** Mean time to first token of the bucket's requests; null when none measured. */
  ttftMeanMs: number | null;
  /** Utilisation per GPU id; absent until sampled. */
  gpuUtilization: Record<string, number>;
  /** null when no sample fell in the bucket. */
  queueDepth: number | null;
  inFlight: Record<string, number>;
}

/** Severity of a notable event, for the page's colouring. */
export type EventLevel = "info" | "warn" | "error";

/** A notable event: health or breaker change, drain, failed attempt. */
export interface NotableEvent {
  atMs: number;
  level: EventLevel;
  instanceId: string | undefined;
  message: string;
  /** Times it happened in a row (repeats within the merge window fold into one line). */
  count: number;
}

/** Repeats of the same event closer than this fold into one line, ms. */
const MERGE_WINDOW_MS = 30_000;

/** Totals over the kept history. */
export interface WindowTotals {
  windowMs: number;
  requests: number;
  failed: number;
  outputTokens: number;
  failures: Record<string, number>;
}

interface Bucket {
  index: number;
  requests: Map<string, number>;
  failed: number;
  failures: Map<string, number>;
  outputTokens: number;
  ttftSumMs: number;
  ttftCount: number;
  gpuUtilization: Map<string, number>;
  queueDepth: number | null;
  inFlight: Map<string, number>;
}

const OTHER = "other";

/** Time-bucketed history of the gateway's requests, failures and gauges; see StatsAggregatorOptions. */
export class StatsAggregator {
  private readonly now: () => number;
  readonly bucketMs: number;
  readonly historyBuckets: number;
  private readonly maxKeys: number;
  private readonly maxEvents: number;
  private readonly ring: (Bucket | undefined)[];
  private readonly events: NotableEvent[] = [];

  constructor(options: StatsAggregatorOptions) {
    this.now = options.now;
    this.bucketMs = Math.max(1, options.bucketMs ?? 1000);
    this.historyBuckets = Math.max(1, options.historyBuckets ?? 300);
    this.maxKeys = Math.max(1, options.maxKeys ?? 64);
    this.maxEvents = Math.max(1, options.maxEvents ?? 50);
    this.ring = new Array<Bucket | undefined>(this.historyBuckets).fill(undefined);
  }

  /** Counts one finished request in the current bucket. */
  recordRequest(r: CompletedRequest): void {
    const b = this.current();
    this.add(b.requests, r.instanceId ?? "none", 1);
    if (r.failed) b.failed++;
    if (r.outputTokens !== undefined && r.outputTokens > 0) b.outputTokens += r.outputTokens;
    if (r.ttftMs !== undefined && Number.isFinite(r.ttftMs) && r.ttftMs >= 0) {
      b.ttftSumMs += r.ttftMs;
      b.ttftCount++;
    }
  }

  /** Counts one failed upstream attempt by its kind. */
  recordFailure(kind: string): void {
    this.add(this.current().failures, kind, 1);
  }

  /** Stores the gauges in the current bucket (a later sample in the same bucket replaces it). */
  sample(s: GaugeSample): void {
    const b = this.current();
    b.gpuUtilization.clear();
    for (const [gpu, pct] of s.gpuUtilization) this.set(b.gpuUtilization, String(gpu), clampPercent(pct));
    b.queueDepth = Math.max(0, s.queueDepth);
    b.inFlight.clear();
    for (const [id, n] of s.inFlight) this.set(b.inFlight, id, Math.max(0, n));
  }

  /** Remembers a notable event; the oldest is dropped past the cap. */
  note(level: EventLevel, instanceId: string | undefined, message: string): void {
    const atMs = this.now();
    const last = this.events[this.events.length - 1];
    if (
      last &&
      last.level === level &&
      last.instanceId === instanceId &&
      last.message === message &&
      atMs - last.atMs <= MERGE_WINDOW_MS
    ) {
      last.count++;
      last.atMs = atMs;
      return;
    }
    this.events.push({ atMs, level, instanceId, message, count: 1 });
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
  }

  /** Notable events, newest first (copies: the caller may keep them). */
  recentEvents(): NotableEvent[] {
    return this.events.map((e) => ({ ...e })).reverse();
  }

  /** The last `count` buckets (all kept by default), oldest first, ending with the current one; gaps are zeros. */
  series(count = this.historyBuckets): SeriesPoint[] {
    const n = Math.min(Math.max(1, count), this.historyBuckets);
    const last = this.indexOf(this.now());
    const out: SeriesPoint[] = [];
    for (let index = last - n + 1; index <= last; index++) {
      const b = this.ring[this.slot(index)];
      out.push(b && b.index === index ? pointOf(b, this.bucketMs) : emptyPoint(index * this.bucketMs));
    }
    return out;
  }

  /** Sums over every kept bucket. */
  totals(): WindowTotals {
    const t: WindowTotals = {
      windowMs: this.historyBuckets * this.bucketMs,
      requests: 0,
      failed: 0,
      outputTokens: 0,
      failures: {},
    };
    for (const p of this.series()) {
      for (const n of Object.values(p.requests)) t.requests += n;
      t.failed += p.failed;
      t.outputTokens += p.outputTokens;
      for (const [k, n] of Object.entries(p.failures)) t.failures[k] = (t.failures[k] ?? 0) + n;
    }
    return t;
  }

  private indexOf(ms: number): number {
    return Math.floor(ms / this.bucketMs);
  }

  private slot(index: number): number {
    return ((index % this.historyBuckets) + this.historyBuckets) % this.historyBuckets;
  }

  /** The bucket of the current time, recycling the slot of a bucket that fell out of the window. */
  private current(): Bucket {
    const index = this.indexOf(this.now());
    const slot = this.slot(index);
    const existing = this.ring[slot];
    if (existing && existing.index === index) return existing;
    const fresh: Bucket = {
      index,
      requests: new Map(),
      failed: 0,
      failures: new Map(),
      outputTokens: 0,
      ttftSumMs: 0,
      ttftCount: 0,
      gpuUtilization: new Map(),
      queueDepth: null,
      inFlight: new Map(),
    };
    this.ring[slot] = fresh;
    return fresh;
  }

  private add(map: Map<string, number>, key: string, n: number): void {
    const k = map.has(key) || map.size < this.maxKeys - 1 ? key : OTHER;
    map.set(k, (map.get(k) ?? 0) + n);
  }

  private set(map: Map<string, number>, key: string, value: number): void {
    if (map.has(key) || map.size < this.maxKeys) map.set(key, value);
  }
}

function pointOf(b: Bucket, bucketMs: number): SeriesPoint {
  return {
    t: b.index * bucketMs,
    requests: Object.fromEntries(b.requests),
    failed: b.failed,
    failures: Object.fromEntries(b.failures),
    outputTokens: b.outputTokens,
    ttftMeanMs: b.ttftCount === 0 ? null : b.ttftSumMs / b.ttftCount,
    gpuUtilization: Object.fromEntries(b.gpuUtilization),
    queueDepth: b.queueDepth,
    inFlight: Object.fromEntries(b.inFlight),
  };
}

function emptyPoint(t: number): SeriesPoint {
  return {
    t,
    requests: {},
    failed: 0,
    failures: {},
    outputTokens: 0,
    ttftMeanMs: null,
    gpuUtilization: {},
    queueDepth: null,
    inFlight: {},
  };
}

function clampPercent(x: number): number {
  return Number.isFinite(x) ? Math.min(100, Math.max(0, x)) : 0;
}
