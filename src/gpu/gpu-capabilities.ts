/** The seed's GetGpuCapabilities: what a detected GPU can do and how fast it should be. */
import {
  amdArchitecture,
  lookupGpuSpec,
  nvidiaArchitecture,
  performanceSpec,
  precisionSupport,
  type PerformanceSpec,
} from "./capability-db.js";
import type { GpuArchitecture } from "./gpu-spec-table.js";
import type { GpuInfo } from "./types.js";

/** A GPU's capabilities: precision support, architecture, and the figures placement compares. */
export interface GpuCapabilities extends PerformanceSpec {
  /** The GPU's UUID. */
  uuid: string;
  /** Architecture family, or null when neither compute capability, gfx target nor name told it. */
  architecture: GpuArchitecture | null;
  /** Compute capability × 10 (0 on AMD). */
  computeCapability: number;
  /** "8.6", or the gfx target on AMD. */
  computeCapabilityString: string;
  /** FP16 arithmetic. */
  supportsFloat16: boolean;
  /** FP16 at least as fast as FP32. */
  fastFloat16: boolean;
  /** BF16 arithmetic. */
  supportsBFloat16: boolean;
  /** FP8 matrix units. */
  supportsFp8: boolean;
  /** Device memory in bytes. */
  memoryTotalBytes: number;
}

/** The architecture of a detected GPU: from its compute capability / gfx target, else its table row. */
export function gpuArchitecture(gpu: GpuInfo): GpuArchitecture | null {
  const fromId =
    gpu.vendor === "nvidia"
      ? nvidiaArchitecture(gpu.computeCapability)
      : amdArchitecture(gpu.computeCapabilityString);
  return fromId ?? lookupGpuSpec(gpu.name, gpu.memoryTotalBytes)?.architecture ?? null;
}

/** The capabilities of one detected GPU (pure: the capability table plus what was detected). */
export function getGpuCapabilities(gpu: GpuInfo): GpuCapabilities {
  const architecture = gpuArchitecture(gpu);
  const precision = precisionSupport(
    gpu.vendor,
    gpu.computeCapability,
    gpu.computeCapabilityString,
    architecture,
  );
  const perf = performanceSpec(gpu.name, {
    vendor: gpu.vendor,
    architecture,
    memoryTotalBytes: gpu.memoryTotalBytes,
  });
  return {
    uuid: gpu.uuid,
    architecture,
    computeCapability: gpu.computeCapability,
    computeCapabilityString: gpu.computeCapabilityString,
    supportsFloat16: gpu.supportsFloat16,
    fastFloat16: gpu.supportsFloat16 && precision.fastFloat16,
    supportsBFloat16: gpu.supportsBFloat16,
    supportsFp8: gpu.supportsFp8,
    memoryTotalBytes: gpu.memoryTotalBytes,
    ...perf,
  };
}
