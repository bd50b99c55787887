/**
 * Whether a model fits an instance: at all (its memory limit and precision), and right now (residency).
 * The memory a loaded model needs is more than its file: KV cache, compute graph and CUDA context come on
 * top. Without a measured figure we add 10% of the weights plus a fixed 512 MiB, e.g. llama3.1:8b's 4k-token
 * KV cache at one slot (128 KiB/token × 4096) with the graph in the 10%. Larger contexts or more slots need
 * more; callers who know (the size /api/ps reports for a loaded copy, or num_ctx × slots × KV bytes per
 * token) pass it as overheadBytes. The default errs small on purpose: wrongly excluding an instance that could
 * hold a model can leave it unroutable, while a slightly optimistic fit at worst makes Ollama offload a few
 * layers to the CPU.
 */
import type { Residency } from "./types.js";

/** Share of the weights added for KV cache and activations when no measured overhead is known. */
export const KV_OVERHEAD_RATIO = 0.1;

/** Fixed bytes added for the compute graph, CUDA context and a small KV cache (512 MiB). */
export const KV_OVERHEAD_FIXED_BYTES = 512 * 1024 ** 2;

/** Memory a loaded model takes: size × 1.1 + 512 MiB, or size + overheadBytes when that is known. */
export function memoryNeededBytes(modelSizeBytes: number, overheadBytes?: number): number {
  const size = Math.max(0, modelSizeBytes);
  if (overheadBytes !== undefined && overheadBytes >= 0) return size + overheadBytes;
  return size * (1 + KV_OVERHEAD_RATIO) + KV_OVERHEAD_FIXED_BYTES;
}

/** What residencyOf needs to know about a model on an instance. */
export interface ResidencyInput {
  /** Listed by the instance's /api/ps. */
  loaded: boolean;
  modelSizeBytes: number;
  /** Memory limit minus what the loaded models take. */
  freeBytes: number;
  /** Measured overhead above the weights, when known (see memoryNeededBytes). */
  overheadBytes?: number;
}

/** hot when loaded, warm when it fits in free memory (a load but no eviction), cold otherwise. */
export function residencyOf(input: ResidencyInput): Residency {
  if (input.loaded) return "hot";
  return memoryNeededBytes(input.modelSizeBytes, input.overheadBytes) <= input.freeBytes ? "warm" : "cold";
}

/** Numeric precision a model may require (config per model: `+fp16`, `+bf16`, `+fp8` in PlannedModels). */
export type Precision = "fp16" | "bf16" | "fp8";

/** What canHold needs to know about a model and an instance. */
export interface FitInput {
  modelSizeBytes: number;
  /** The instance's memory_limit; undefined when unlimited/unknown (then only precision is checked). */
  memoryLimitBytes: number | undefined;
  requiresPrecision?: Precision;
  /** false when the GPU is known to lack FP16; undefined (unknown) does not exclude the instance. */
  supportsFp16?: boolean;
  /** false when the GPU is known to lack BF16; undefined (unknown) does not exclude the instance. */
  supportsBf16?: boolean;
  /** false when the GPU is known to lack FP8; undefined (unknown) does not exclude the instance. */
  supportsFp8?: boolean;
  overheadBytes?: number;
}

/**
 * Whether the instance could ever serve the model: its memory limit holds the model with its overhead (even
 * with everything else evicted), and its GPU is not known to lack the model's required precision. Unknown
 * precision support is allowed because excluding it would leave fleets without GPU detection unroutable.
 */
export function canHold(input: FitInput): boolean {
  if (input.requiresPrecision === "fp16" && input.supportsFp16 === false) return false;
  if (input.requiresPrecision === "bf16" && input.supportsBf16 === false) return false;
  if (input.requiresPrecision === "fp8" && input.supportsFp8 === false) return false;
  if (input.memoryLimitBytes === undefined) return true;
  return memoryNeededBytes(input.modelSizeBytes, input.overheadBytes) <= input.memoryLimitBytes;
}
