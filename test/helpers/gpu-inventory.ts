// Inventories for planner tests: GPUs as NVML would describe them, on a machine with a given RAM.
import { blankReading, completeGpuInfo } from "../../src/gpu/gpu-info.js";
import type { GpuInfo, GpuInventoryResult } from "../../src/gpu/types.js";

const GIB = 1024 ** 3;

/** A detected NVIDIA GPU with index `id`, a UUID derived from it, `memGiB` of memory and compute capability `cc`. */
export function nvidiaGpu(
  id: number,
  name: string,
  memGiB: number,
  cc: number,
  extra: Partial<GpuInfo> = {},
): GpuInfo {
  const reading = blankReading(id, name, "nvidia", "nvml");
  return {
    ...completeGpuInfo({
      ...reading,
      uuid: `GPU-test-${id}`,
      memoryTotalBytes: Math.round(memGiB * GIB),
      memoryUsedBytes: 0,
      memoryFreeBytes: Math.round(memGiB * GIB),
      computeCapability: cc,
    }),
    ...extra,
  };
}

/** A machine with these GPUs (none: CPU-only) and `ramGiB` of system memory on 16 cores. */
export function machine(gpus: GpuInfo[], ramGiB = 64): GpuInventoryResult {
  return {
    gpus,
    hiddenGpus: [],
    cpuOnly: gpus.length === 0,
    cpu: {
      model: "Test CPU",
      logicalCores: 16,
      memoryTotalBytes: ramGiB * GIB,
      memoryAvailableBytes: ramGiB * GIB,
    },
    attempts: [],
    visibleDevices: [],
    warnings: [],
  };
}
