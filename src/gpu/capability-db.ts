/**
 * The GPU capability database: what a compute capability or gfx target can do (FP16/BF16/FP8), and
 * memory bandwidth and FP16 throughput per known GPU, used to predict relative decode speed before any
 * measurement exists. Pure functions over the reviewed table in gpu-spec-table.ts.
 */
import { GPU_SPECS, type GpuArchitecture, type GpuSpec } from "./gpu-spec-table.js";
import type { GpuVendor } from "./types.js";

const GIB = 1024 ** 3;

/** Which number formats the hardware computes in. */
export interface PrecisionSupport {
  /** FP16 arithmetic exists (CUDA ≥ 5.3; every ROCm target). */
  float16: boolean;
  /** FP16 runs at least as fast as FP32 (false on CC 6.1 consumer Pascal: 1/64 rate). */
  fastFloat16: boolean;
  /** BF16 arithmetic (CUDA ≥ 8.0; CDNA, RDNA 3 and later). */
  bfloat16: boolean;
  /** FP8 matrix units (CUDA ≥ 8.9; CDNA 3, CDNA 4, RDNA 4). */
  fp8: boolean;
}

/** Turns "8.6" into 86 (the seed's integer form); undefined for anything that is not major.minor. */
export function parseComputeCapability(text: string): number | undefined {
  const m = /^\s*(\d{1,2})\.(\d)\s*$/.exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * 10 + Number(m[2]);
}

/** Turns 86 into "8.6" and 120 into "12.0"; "" for 0 (no CUDA compute capability). */
export function formatComputeCapability(value: number): string {
  if (value <= 0) return "";
  return `${Math.floor(value / 10)}.${value % 10}`;
}

/** The NVIDIA architecture of a compute capability × 10, or null when unknown. */
export function nvidiaArchitecture(cc: number): GpuArchitecture | null {
  if (cc >= 100) return "Blackwell";
  if (cc >= 90) return "Hopper";
  if (cc === 89) return "Ada Lovelace";
  if (cc >= 80) return "Ampere";
  if (cc === 75) return "Turing";
  if (cc >= 70) return "Volta";
  if (cc >= 60) return "Pascal";
  return null;
}

/** The AMD architecture of a gfx target ("gfx90a"), or null when unknown. */
export function amdArchitecture(gfx: string): GpuArchitecture | null {
  const g = gfx.toLowerCase();
  if (/^gfx12\d\d$/.test(g)) return "RDNA 4";
  if (/^gfx11\d\d$/.test(g)) return "RDNA 3"; // gfx115x (RDNA 3.5 APUs) computes like RDNA 3
  if (/^gfx103\d$/.test(g)) return "RDNA 2";
  if (g === "gfx950") return "CDNA 4";
  if (/^gfx94\d$/.test(g)) return "CDNA 3";
  if (g === "gfx90a") return "CDNA 2";
  if (g === "gfx908") return "CDNA";
  if (g === "gfx906") return "GCN 5";
  return null;
}

/** What an NVIDIA compute capability (× 10) computes in. */
export function nvidiaPrecisionSupport(cc: number): PrecisionSupport {
  return {
    float16: cc >= 53,
    // 6.1 (GeForce 10xx, P40) has FP16 at 1/64 of FP32: usable, but slower than FP32.
    fastFloat16: cc === 53 || cc === 60 || cc === 62 || cc >= 70,
    bfloat16: cc >= 80,
    fp8: cc >= 89,
  };
}

/** What an AMD architecture computes in; unknown ones get the conservative FP16-only answer. */
export function amdPrecisionSupport(arch: GpuArchitecture | null): PrecisionSupport {
  const bf16Archs: (GpuArchitecture | null)[] = ["CDNA", "CDNA 2", "CDNA 3", "CDNA 4", "RDNA 3", "RDNA 4"];
  const fp8Archs: (GpuArchitecture | null)[] = ["CDNA 3", "CDNA 4", "RDNA 4"];
  return {
    float16: true,
    fastFloat16: true,
    bfloat16: bf16Archs.includes(arch),
    fp8: fp8Archs.includes(arch),
  };
}

/**
 * The precision support of a GPU from its vendor and compute capability / gfx target; on AMD, when the
 * gfx target is unknown, from fallbackArchitecture (the capability table's row for its name).
 */
export function precisionSupport(
  vendor: GpuVendor,
  cc: number,
  gfx: string,
  fallbackArchitecture: GpuArchitecture | null = null,
): PrecisionSupport {
  if (vendor === "nvidia") return nvidiaPrecisionSupport(cc);
  return amdPrecisionSupport(amdArchitecture(gfx) ?? fallbackArchitecture);
}

/** The usual compute capability of an architecture, for rows that do not name one. */
const FAMILY_CC: Partial<Record<GpuArchitecture, number>> = {
  Pascal: 61,
  Volta: 70,
  Turing: 75,
  Ampere: 86,
  "Ada Lovelace": 89,
  Hopper: 90,
  Blackwell: 120,
};

/** The compute capability (× 10) the table implies for a row, or 0 for AMD rows. */
export function specComputeCapability(spec: GpuSpec): number {
  return spec.computeCapability ?? FAMILY_CC[spec.architecture] ?? 0;
}

/** Lower case, vendor words and punctuation dropped: "NVIDIA A100-SXM4-80GB" → "a100 sxm4 80gb". */
export function normaliseGpuName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\((tm|r)\)/g, " ")
    .replace(/[-_,]/g, " ")
    .replace(/\b(nvidia|geforce|tesla|amd|ati|radeon|instinct|corporation|inc\.?)\b/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** Laptop parts share desktop names but not their clocks or memory buses: never take desktop figures. */
function isMobilePart(normalised: string): boolean {
  return /\b(laptop|mobile|max q design)\b/.test(normalised);
}

/**
 * The table row for a detected GPU, or undefined. Among rows whose pattern matches, the first wins
 * unless the detected memory is more than 25% off its size and another matching row is closer.
 */
export function lookupGpuSpec(name: string, memoryTotalBytes?: number): GpuSpec | undefined {
  const normalised = normaliseGpuName(name);
  if (normalised === "" || isMobilePart(normalised)) return undefined;
  const gib = memoryTotalBytes === undefined ? undefined : memoryTotalBytes / GIB;
  const candidates = GPU_SPECS.filter(
    (s) => s.match.test(normalised) && (s.minMemoryGiB === undefined || (gib ?? 0) >= s.minMemoryGiB),
  );
  const first = candidates[0];
  if (first === undefined || gib === undefined || gib <= 0) return first;
  const off = (s: GpuSpec): number => Math.abs(s.memoryGiB - gib) / s.memoryGiB;
  if (off(first) <= 0.25) return first;
  return candidates.reduce((best, s) => (off(s) < off(best) ? s : best), first);
}

/** A GPU's bandwidth and FP16 throughput, from the table or estimated from a similar known GPU. */
export interface PerformanceSpec {
  /** Peak memory bandwidth, GB/s. */
  memoryBandwidthGBps: number;
  /** Peak dense FP16 matrix throughput, TFLOPS. */
  fp16Tflops: number;
  /** table: this GPU's own row; derived: estimated from a similar known GPU. */
  specSource: "table" | "derived";
  /** The row used (the GPU's own, or the one the estimate was taken from). */
  specModel: string;
  /** One line saying where the figures come from. */
  specNote: string;
}

/** What estimatePerformance needs to know about a GPU the table does not list. */
export interface DetectedTraits {
  /** Vendor. */
  vendor: GpuVendor;
  /** Architecture, when the compute capability or gfx target told it. */
  architecture: GpuArchitecture | null;
  /** Detected memory in bytes. */
  memoryTotalBytes: number;
}

/**
 * Figures for a GPU the table does not know, from the known GPUs of the same architecture (else the same
 * vendor) whose memory is within 25% of the detected size (else the single nearest): the one with the
 * median bandwidth, since within a generation memory size tracks bus width but models differ widely.
 */
export function estimatePerformance(traits: DetectedTraits): PerformanceSpec {
  const gib = traits.memoryTotalBytes / GIB;
  const sameArch = GPU_SPECS.filter(
    (s) => traits.architecture !== null && s.architecture === traits.architecture,
  );
  const pool = sameArch.length > 0 ? sameArch : GPU_SPECS.filter((s) => specVendor(s) === traits.vendor);
  const distance = (s: GpuSpec): number => (gib > 0 ? Math.abs(Math.log(s.memoryGiB / gib)) : 0);
  const near = pool.filter((s) => distance(s) <= Math.log(1.25));
  const nearest = pool.reduce((best, s) => (distance(s) < distance(best) ? s : best));
  const group = (near.length > 0 ? near : [nearest]).sort((a, b) => a.bandwidthGBps - b.bandwidthGBps);
  const median = group[Math.floor((group.length - 1) / 2)] ?? nearest;
  const scope = sameArch.length > 0 ? `${traits.architecture ?? ""} GPUs` : `${traits.vendor} GPUs`;
  return {
    memoryBandwidthGBps: median.bandwidthGBps,
    fp16Tflops: median.fp16Tflops,
    specSource: "derived",
    specModel: median.model,
    specNote:
      `not in the table: figures of ${median.model}, the median of ${group.length} known ${scope} ` +
      `with memory near ${gib.toFixed(0)} GiB`,
  };
}

/** The vendor of a table row. */
export function specVendor(spec: GpuSpec): GpuVendor {
  return spec.source.startsWith("AMD") ? "amd" : "nvidia";
}

/** Table figures for a known GPU, else an estimate from what was detected. */
export function performanceSpec(name: string, traits: DetectedTraits): PerformanceSpec {
  const spec = lookupGpuSpec(name, traits.memoryTotalBytes);
  if (spec === undefined) return estimatePerformance(traits);
  return {
    memoryBandwidthGBps: spec.bandwidthGBps,
    fp16Tflops: spec.fp16Tflops,
    specSource: "table",
    specModel: spec.model,
    specNote: `${spec.model} (source: ${spec.source})`,
  };
}

/**
 * Decode tokens per second one sequence can reach: decode streams every weight once per token, so it is
 * bandwidth-bound; efficiency is the share of peak bandwidth achieved (0.6 matches the emulator).
 */
export function estimateDecodeTokensPerSecond(
  memoryBandwidthGBps: number,
  modelBytes: number,
  efficiency = 0.6,
): number {
  if (modelBytes <= 0) return 0;
  return (memoryBandwidthGBps * 1e9 * efficiency) / modelBytes;
}

/** Each GPU's predicted decode speed relative to the fastest of the set (1 = fastest), by bandwidth. */
export function relativeDecodeSpeeds<T extends { uuid: string; memoryBandwidthGBps: number }>(
  gpus: readonly T[],
): Map<string, number> {
  const fastest = Math.max(0, ...gpus.map((g) => g.memoryBandwidthGBps));
  return new Map(gpus.map((g) => [g.uuid, fastest > 0 ? g.memoryBandwidthGBps / fastest : 0]));
}

/**
 * What a GPU known only by its name (a `gpu_instances` entry's `name`, e.g. "RTX 3060 Ti") computes in, or
 * undefined when the table does not know it (then nothing is excluded for precision).
 */
export function precisionSupportByName(name: string): PrecisionSupport | undefined {
  const spec = lookupGpuSpec(name);
  if (spec === undefined) return undefined;
  return precisionSupport(specVendor(spec), specComputeCapability(spec), "", spec.architecture);
}
