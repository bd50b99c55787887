/**
 * The prefix indexes of every instance × model, sized from each instance's KV capacity, plus the two hit
 * measures: what the index predicted, and what Ollama's own figures say. Ollama reports prompt_eval_count as
 * cached + new tokens but prompt_eval_duration for the new ones only, so with a calibrated prefill rate
 * (learned from requests the index predicted to miss) cached ≈ count − duration × rate.
 */
import { PrefixIndex, type PrefixIndexLimits } from "./prefix-index.js";
import { CHARS_PER_TOKEN, CHUNK_CHARS, chunksToTokens } from "./prompt-fingerprint.js";

/** KV bytes per token assumed when sizing an index (an 8B model at f16 KV: 128 KiB). */
export const KV_BYTES_PER_TOKEN = 128 * 1024;

/** Context per slot assumed when /api/ps does not say (Ollama's default num_ctx). */
export const DEFAULT_CONTEXT_TOKENS = 4096;

/** What sizing an instance's indexes needs. */
export interface AffinityInstanceInfo {
  /** Parallel slots (the gateway's capacity for it). */
  slots: number;
  /** memory_limit, if known. */
  memoryLimitBytes: number | undefined;
  /** Context per slot the model runs with (`context_length` of /api/ps), if known. */
  contextTokens?: number | undefined;
}

/** Hit counters, for metrics and the admin API. */
export interface AffinityCounters {
  /** Requests looked up with a non-empty prompt. */
  lookups: number;
  /** Lookups whose chosen instance held some prefix. */
  hits: number;
  /** Prompt tokens (estimated from characters) of the lookups. */
  promptTokens: number;
  /** Tokens the chosen instance's index predicted cached. */
  predictedCachedTokens: number;
  /** Prompt tokens Ollama reported (prompt_eval_count) on answers with timing. */
  measuredPromptTokens: number;
  /** Of those, tokens estimated cached from prompt_eval_duration and the calibrated prefill rate. */
  measuredCachedTokens: number;
}

/** Per instance: counters and index sizes. */
export interface AffinityInstanceStats extends AffinityCounters {
  id: string;
  sequences: number;
  /** Of those, sequences whose conversation is live (session admission keeps openers off them). */
  liveConversations: number;
  chunks: number;
  /** Calibrated prefill speed per model, tokens/s. */
  prefillTokensPerSecond: Record<string, number>;
}

const zero = (): AffinityCounters => ({
  lookups: 0,
  hits: 0,
  promptTokens: 0,
  predictedCachedTokens: 0,
  measuredPromptTokens: 0,
  measuredCachedTokens: 0,
});

/** Prefill speed assumed before any is measured, tokens per ms (2,000 tokens/s: a mid-range GPU, 8B model). */
export const DEFAULT_PREFILL_TOKENS_PER_MS = 2;

/** Weight of the newest sample in the prefill-rate EWMA. */
const RATE_ALPHA = 0.3;

/** Think times (a follow-up's arrival − the previous answer's end) seen before sessions count as live by time. */
export const MIN_THINK_SAMPLES = 4;

/** The most recent think times kept; their 95th percentile sets the liveness window. */
const THINK_WINDOW = 256;

/** Liveness window ÷ the 95th percentile of recent think times: a margin for the tail. */
export const LIVENESS_MARGIN = 1.25;

/** Bounds of the liveness window, ms. */
const LIVENESS_MIN_MS = 100;
const LIVENESS_MAX_MS = 600_000;

/** Index limits from slots, context and the share of memory the cache may take. */
export function indexLimits(info: AffinityInstanceInfo, maxCacheMemoryPercent: number): PrefixIndexLimits {
  const tokensPerChunk = CHUNK_CHARS / CHARS_PER_TOKEN;
  const bySlots = info.slots * (info.contextTokens ?? DEFAULT_CONTEXT_TOKENS);
  const byMemory =
    info.memoryLimitBytes === undefined
      ? bySlots
      : (info.memoryLimitBytes * maxCacheMemoryPercent) / 100 / KV_BYTES_PER_TOKEN;
  return {
    maxSequences: Math.max(1, info.slots),
    maxChunks: Math.max(1, Math.floor(Math.min(bySlots, byMemory) / tokensPerChunk)),
  };
}

/** Every instance's prefix indexes and hit measurements. */
export class AffinityStore {
  private readonly indexes = new Map<string, Map<string, PrefixIndex>>();
  private readonly counters = new Map<string, AffinityCounters>();
  private readonly prefillRate = new Map<string, Map<string, number>>();
  /** Recent think times, a ring of THINK_WINDOW; `thinkCount` counts every sample ever seen. */
  private readonly thinkMs: number[] = [];
  private thinkCount = 0;
  /** livenessMs() as of `thinkCount` samples (sorting the window once per sample, not per lookup). */
  private liveness: { count: number; ms: number | undefined } = { count: 0, ms: undefined };

  constructor(private readonly maxCacheMemoryPercent: number) {}

  private index(id: string, model: string, info: AffinityInstanceInfo): PrefixIndex {
    let byModel = this.indexes.get(id);
    if (!byModel) this.indexes.set(id, (byModel = new Map()));
    let index = byModel.get(model);
    const limits = indexLimits(info, this.maxCacheMemoryPercent);
    if (!index) byModel.set(model, (index = new PrefixIndex(limits)));
    else index.resize(limits);
    return index;
  }

  /** What one instance × model holds of a prompt, its live conversations and what a new one would evict. */
  view(id: string, model: string, info: AffinityInstanceInfo, hashes: readonly number[], nowMs: number) {
    const index = this.index(id, model, info);
    return {
      matchChunks: index.match(hashes),
      extendsSequence: index.extends(hashes),
      liveSequences: index.liveCount(nowMs, this.livenessMs()),
      victimChunks: index.liveVictimChunks(nowMs, this.livenessMs()),
      nextStaleInMs: index.nextStaleInMs(nowMs, this.livenessMs()),
    };
  }

  /** A request that continues a held conversation has arrived (or still waits): that conversation is live. */
  touch(id: string, model: string, hashes: readonly number[], nowMs: number): void {
    const thinkMs = this.indexes.get(id)?.get(model)?.touch(hashes, nowMs);
    if (thinkMs === undefined) return;
    this.thinkMs[this.thinkCount % THINK_WINDOW] = thinkMs;
    this.thinkCount++;
  }

  /** The answer to a routed prompt has ended. */
  finish(id: string, model: string, hashes: readonly number[], nowMs: number): void {
    this.indexes.get(id)?.get(model)?.finish(hashes, nowMs);
  }

  /**
   * How long after its last answer a conversation still counts as live: the 95th percentile of the
   * clients' recent think times, with a margin, once enough follow-ups were seen; undefined before (then no
   * conversation counts as live). A percentile, not a multiple of the mean: think times are heavy-tailed
   * (people), or nearly constant (agents), and a mean's noise would declare thinking clients gone.
   */
  livenessMs(): number | undefined {
    if (this.thinkCount < MIN_THINK_SAMPLES) return undefined;
    if (this.liveness.count !== this.thinkCount) {
      const sorted = [...this.thinkMs].sort((a, b) => a - b);
      const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1] ?? 0;
      const ms = Math.min(LIVENESS_MAX_MS, Math.max(LIVENESS_MIN_MS, LIVENESS_MARGIN * p95));
      this.liveness = { count: this.thinkCount, ms };
    }
    return this.liveness.ms;
  }

  /** Records a routed prompt and counts the lookup. */
  record(
    id: string,
    model: string,
    info: AffinityInstanceInfo,
    hashes: readonly number[],
    matchChunks: number,
    chars: number,
    nowMs: number,
  ): void {
    if (hashes.length === 0) return;
    this.index(id, model, info).record(hashes, nowMs, this.livenessMs());
    const c = this.countersOf(id);
    c.lookups++;
    if (matchChunks > 0) c.hits++;
    c.promptTokens += Math.round(chars / CHARS_PER_TOKEN);
    c.predictedCachedTokens += chunksToTokens(matchChunks);
  }

  /**
   * Learns from Ollama's figures of one answer: calibrates the prefill rate on predicted misses and
   * estimates the cached tokens of every answer. Returns the estimate (undefined before calibration).
   */
  measure(
    id: string,
    model: string,
    promptEvalCount: number,
    promptEvalMs: number,
    predictedMiss: boolean,
  ): number | undefined {
    if (!(promptEvalCount > 0) || !(promptEvalMs > 0)) return undefined;
    let rates = this.prefillRate.get(id);
    if (!rates) this.prefillRate.set(id, (rates = new Map()));
    const observed = promptEvalCount / promptEvalMs;
    const known = rates.get(model);
    if (predictedMiss)
      rates.set(model, known === undefined ? observed : known + RATE_ALPHA * (observed - known));
    const rate = rates.get(model);
    if (rate === undefined) return undefined;
    const cached = Math.min(promptEvalCount, Math.max(0, Math.round(promptEvalCount - promptEvalMs * rate)));
    const c = this.countersOf(id);
    c.measuredPromptTokens += promptEvalCount;
    c.measuredCachedTokens += cached;
    return cached;
  }

  /** Time a cache hit of `tokens` saves on this instance × model: their prefill at the calibrated speed, ms. */
  prefillMs(id: string, model: string, tokens: number): number {
    const rate = this.prefillRate.get(id)?.get(model) ?? DEFAULT_PREFILL_TOKENS_PER_MS;
    return tokens / rate;
  }

  /** Forgets what an instance holds for models no longer loaded there (or everything when it restarted). */
  retain(id: string, loadedModels: ReadonlySet<string> | undefined): void {
    const byModel = this.indexes.get(id);
    if (!byModel) return;
    for (const [model, index] of byModel) if (!loadedModels || !loadedModels.has(model)) index.clear();
  }

  /** Drops instances that left the fleet. */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const map of [this.indexes, this.counters, this.prefillRate]) {
      for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
    }
  }

  /** Fleet-wide counters. */
  totals(): AffinityCounters {
    const t = zero();
    for (const c of this.counters.values()) {
      for (const k of Object.keys(t) as (keyof AffinityCounters)[]) t[k] += c[k];
    }
    return t;
  }

  /** Per-instance counters and index sizes, with the conversations live at `nowMs`. */
  stats(nowMs: number): AffinityInstanceStats[] {
    const ids = new Set([...this.indexes.keys(), ...this.counters.keys()]);
    const livenessMs = this.livenessMs();
    return [...ids].map((id) => {
      let sequences = 0;
      let liveConversations = 0;
      let chunks = 0;
      for (const index of this.indexes.get(id)?.values() ?? []) {
        sequences += index.sequenceCount;
        liveConversations += index.liveCount(nowMs, livenessMs);
        chunks += index.chunkCount;
      }
      const rates = Object.fromEntries(
        [...(this.prefillRate.get(id) ?? new Map<string, number>())].map(([m, r]) => [
          m,
          Math.round(r * 1000),
        ]),
      );
      return {
        id,
        ...this.countersOf(id),
        sequences,
        liveConversations,
        chunks,
        prefillTokensPerSecond: rates,
      };
    });
  }

  private countersOf(id: string): AffinityCounters {
    let c = this.counters.get(id);
    if (!c) this.counters.set(id, (c = zero()));
    return c;
  }
}
