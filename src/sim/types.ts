/** Types shared by the Ollama emulator's parts: model and GPU descriptions, options, stats, faults. */

/** One model as the emulator knows it: what /api/tags, /api/show and the timing model need. */
export interface ModelSpec {
  /** Canonical name with tag, as /api/tags shows it ("llama3.2:1b", "all-minilm:latest"). */
  name: string;
  /** Bytes on disk (also the weights' share of VRAM). */
  sizeBytes: number;
  /** Parameter count, e.g. 8.03e9. */
  parameterCount: number;
  family: string;
  quantization: string;
  /** Context length the model was trained with (num_ctx is clamped to it). */
  contextLength: number;
  /** Width of the embedding vectors it returns. */
  embeddingLength: number;
  /** Embedding-only models answer generate/chat with "does not support generate". */
  embeddingOnly: boolean;
  /** KV-cache bytes per token of context, for the memory estimate. */
  kvBytesPerToken: number;
}

/** The emulated GPU (or the CPU when CUDA_VISIBLE_DEVICES hides every GPU). */
export interface GpuSpec {
  name: string;
  /** Memory the scheduler may fill with weights and KV cache. */
  memoryBytes: number;
  /** Memory bandwidth in bytes per second: decode speed follows from it. */
  bandwidthBytesPerSec: number;
  /** CPU-only: size_vram is 0 and prefill is relatively slower. */
  cpuOnly: boolean;
}

/** Knobs of the timing model; every field has a default (see `DEFAULT_PERF`). */
export interface PerfModel {
  /** Share of the memory bandwidth a decode step achieves. */
  decodeEfficiency: number;
  /** Per-sequence decode slowdown per extra sequence in a batch: base / (1 + penalty·(n−1)). */
  batchPenalty: number;
  /** Prefill tokens per second as a multiple of one sequence's decode speed. */
  prefillFactor: number;
  /** Fixed part of a model load, in model milliseconds. */
  loadOverheadMs: number;
  /** Disk-to-GPU load speed in bytes per second. */
  loadBytesPerSec: number;
}

/** How the scheduler picks a loaded model to unload when it needs room. */
export type EvictionPolicy = "ollama" | "lru";

/** Options of one emulator; `startEmulator` fills in the rest from defaults. */
export interface EmulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Label echoed in stats and logs. */
  id?: string;
  gpu?: GpuSpec;
  /** Models on disk at start. */
  models?: ModelSpec[];
  /** Slots per loaded model (OLLAMA_NUM_PARALLEL). */
  numParallel?: number;
  /** Most models loaded at once (OLLAMA_MAX_LOADED_MODELS); 0 means 3 per GPU. */
  maxLoadedModels?: number;
  /** Most requests waiting for the scheduler (OLLAMA_MAX_QUEUE). */
  maxQueue?: number;
  /** Default keep-alive in model milliseconds (OLLAMA_KEEP_ALIVE); Infinity keeps models forever. */
  keepAliveMs?: number;
  /** Default num_ctx (OLLAMA_CONTEXT_LENGTH); undefined picks Ollama's VRAM-based default. */
  contextLength?: number;
  /** Every modelled duration is divided by this (1 = real speed). */
  timeScale?: number;
  /** Default generation seed when a request has none. */
  seed?: number;
  /** Range of natural answer lengths in tokens. */
  outputTokens?: { min: number; max: number };
  /** Modelled download speed for /api/pull, bytes per second. */
  downloadBytesPerSec?: number;
  evictionPolicy?: EvictionPolicy;
  perf?: Partial<PerfModel>;
  /** Version /api/version reports. */
  version?: string;
  /** What the "crash" fault does: exit the process (CLI) or drop every connection and stop listening. */
  crashMode?: "exit" | "close";
  /** Where log lines go (stderr in the CLI); silent when absent. */
  log?: (line: string) => void;
}

/** Fault kinds the control endpoint accepts. */
export const FAULT_KINDS = [
  "crash",
  "hang",
  "slow",
  "error500",
  "reset",
  "health-fail",
  "malformed",
  "busy503",
] as const;

/** One fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Body of POST /__sim/fault. */
export interface FaultSpec {
  kind: FaultKind;
  /** slow: multiply every duration by this (default 10). */
  factor?: number;
  /** reset / malformed / error500 / hang / crash: act after this many streamed tokens. */
  afterTokens?: number;
  /** Only the next N affected requests (default: until DELETE /__sim/fault). */
  count?: number;
}

/** Per-model counters in the stats. */
export interface ModelCounters {
  requests: number;
  tokensGenerated: number;
  prefillTokensComputed: number;
  prefillTokensReused: number;
  loads: number;
  evictions: number;
}

/** A loaded model as the stats report it. */
export interface LoadedModelStats {
  name: string;
  state: "loading" | "ready";
  memoryBytes: number;
  numCtx: number;
  activeSequences: number;
  waitingSequences: number;
  /** Requests holding the model (running or waiting for a slot). */
  refCount: number;
}

/** What GET /__sim/stats returns. */
export interface SimStats {
  id: string;
  uptimeMs: number;
  timeScale: number;
  requests: { total: number; byEndpoint: Record<string, number> };
  /** Inference requests being answered now, and the most at once. */
  inFlight: number;
  maxConcurrency: number;
  /** Sequences on the GPU now (prefilling or decoding), and the most at once. */
  running: number;
  maxRunning: number;
  /** Requests waiting for the scheduler (counted against OLLAMA_MAX_QUEUE). */
  queued: number;
  tokensGenerated: number;
  prefillTokensComputed: number;
  prefillTokensReused: number;
  loads: number;
  unloads: number;
  evictions: number;
  cancelled: number;
  errors: number;
  /** Wall milliseconds with at least one sequence on the GPU (for utilisation = busyMs / uptimeMs). */
  busyMs: number;
  perModel: Record<string, ModelCounters>;
  loaded: LoadedModelStats[];
  faults: FaultSpec[];
}

/** An error the way an Ollama handler answers it: HTTP status and the `error` text. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "SimError";
  }
}
