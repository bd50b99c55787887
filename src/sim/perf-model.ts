/**
 * The numbers of the GPU timing model: memory needed by a loaded model, load time, and the decode
 * and prefill speeds that follow from memory bandwidth (decode streams every weight once per step).
 */
import type { GpuSpec, ModelSpec, PerfModel } from "./types.js";

/** Defaults of the timing model (decode at 60% of bandwidth, prefill 30× faster per token). */
export const DEFAULT_PERF: PerfModel = {
  decodeEfficiency: 0.6,
  batchPenalty: 0.15,
  prefillFactor: 30,
  loadOverheadMs: 300,
  loadBytesPerSec: 2.5e9,
};

/** Bandwidth of a GPU we know nothing about, in GB/s. */
export const DEFAULT_BANDWIDTH_GBPS = 448;

const GIB = 1024 ** 3;

// Memory bandwidth in GB/s; more specific names first.
const KNOWN_GPUS: [RegExp, number][] = [
  [/h200/i, 4800],
  [/h100/i, 3350],
  [/a100/i, 1935],
  [/l40s/i, 864],
  [/\bl40\b/i, 864],
  [/\bl4\b/i, 300],
  [/\ba10g?\b/i, 600],
  [/\bt4\b/i, 320],
  [/v100/i, 900],
  [/a6000/i, 768],
  [/a5000/i, 768],
  [/a4000/i, 448],
  [/5090/i, 1792],
  [/5080/i, 960],
  [/4090/i, 1008],
  [/4080/i, 717],
  [/4070\s*ti/i, 504],
  [/4070/i, 504],
  [/4060\s*ti/i, 288],
  [/4060/i, 272],
  [/3090/i, 936],
  [/3080/i, 760],
  [/3070/i, 448],
  [/3060\s*ti/i, 448],
  [/3060/i, 360],
  [/2080/i, 448],
  [/7900\s*xtx/i, 960],
];

/** Bandwidth for a GPU name from the table above, else the default. */
export function knownBandwidthGbps(name: string): number {
  return KNOWN_GPUS.find(([re]) => re.test(name))?.[1] ?? DEFAULT_BANDWIDTH_GBPS;
}

/** Parses --gpu "NAME:VRAM_GB[:BANDWIDTH_GBPS]" (VRAM in GiB, as cards are sold; bandwidth in GB/s). */
export function parseGpuSpec(spec: string): GpuSpec {
  const parts = spec.split(":").map((p) => p.trim());
  const numbers: number[] = [];
  while (parts.length > 1 && numbers.length < 2 && /^\d+(\.\d+)?$/.test(parts[parts.length - 1]!)) {
    numbers.unshift(Number(parts.pop()));
  }
  const name = parts.join(":");
  const [vramGb, bandwidth] = numbers;
  if (!name || vramGb === undefined || !(vramGb > 0)) {
    throw new Error(`--gpu wants "NAME:VRAM_GB[:BANDWIDTH_GBPS]", got "${spec}"`);
  }
  return {
    name,
    memoryBytes: Math.round(vramGb * GIB),
    bandwidthBytesPerSec: (bandwidth ?? knownBandwidthGbps(name)) * 1e9,
    cpuOnly: false,
  };
}

/** The GPU an emulator gets without --gpu: a 24 GiB card of unknown make. */
export function defaultGpu(): GpuSpec {
  return {
    name: "Emulated GPU",
    memoryBytes: 24 * GIB,
    bandwidthBytesPerSec: DEFAULT_BANDWIDTH_GBPS * 1e9,
    cpuOnly: false,
  };
}

/** CPU-only inference (CUDA_VISIBLE_DEVICES="" or "-1"): system memory, DDR-class bandwidth. */
export function cpuOnlyGpu(memoryGib = 32): GpuSpec {
  return { name: "cpu", memoryBytes: memoryGib * GIB, bandwidthBytesPerSec: 60e9, cpuOnly: true };
}

/**
 * Ollama's default num_ctx by total VRAM (routes.go Serve): 4096 below 23 GiB, 32768 below
 * 47 GiB, 262144 above; CPU-only counts as no VRAM.
 */
export function defaultNumCtx(gpu: GpuSpec): number {
  const vram = gpu.cpuOnly ? 0 : gpu.memoryBytes;
  if (vram >= 47 * GIB) return 262144;
  if (vram >= 23 * GIB) return 32768;
  return 4096;
}

/** The num_ctx a runner gets: the request's (or default), at least 4, at most the trained length. */
export function effectiveNumCtx(requested: number, model: ModelSpec): number {
  return Math.min(Math.max(4, Math.floor(requested)), model.contextLength);
}

/** VRAM a loaded model takes: weights plus a KV cache of num_ctx tokens for every parallel slot. */
export function memoryRequired(model: ModelSpec, numCtx: number, numParallel: number): number {
  return model.sizeBytes + model.kvBytesPerToken * numCtx * numParallel;
}

/** Model milliseconds to load a model: a fixed start plus its bytes over the load bandwidth. */
export function loadTimeMs(model: ModelSpec, perf: PerfModel): number {
  return perf.loadOverheadMs + (model.sizeBytes / perf.loadBytesPerSec) * 1000;
}

/** Decode tokens per model millisecond for one lone sequence: bandwidth × efficiency ÷ model bytes. */
export function decodeTokensPerMs(model: ModelSpec, gpu: GpuSpec, perf: PerfModel): number {
  return (gpu.bandwidthBytesPerSec * perf.decodeEfficiency) / model.sizeBytes / 1000;
}

/** Prefill tokens per model millisecond for one lone sequence (CPUs prefill relatively slowly). */
export function prefillTokensPerMs(model: ModelSpec, gpu: GpuSpec, perf: PerfModel): number {
  const factor = gpu.cpuOnly ? Math.min(perf.prefillFactor, 5) : perf.prefillFactor;
  return decodeTokensPerMs(model, gpu, perf) * factor;
}

/** Go's format.HumanBytes2, used in Ollama's memory errors ("5.1 GiB"). */
export function humanBytes2(bytes: number): string {
  const units: [number, string][] = [
    [GIB, "GiB"],
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ];
  for (const [size, unit] of units) if (bytes >= size) return `${(bytes / size).toFixed(1)} ${unit}`;
  return `${bytes} B`;
}
