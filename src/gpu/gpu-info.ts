/** Turns one backend's raw readings into a complete GpuInfo (the seed's fields all filled). */
import {
  formatComputeCapability,
  lookupGpuSpec,
  precisionSupport,
  specComputeCapability,
} from "./capability-db.js";
import type { GpuInfo, GpuSource, GpuVendor } from "./types.js";

/** What a backend read for one device; null where the tool had no answer. */
export interface RawGpuReading {
  /** Index as the tool numbers the device. */
  index: number;
  /** UUID as reported ("GPU-…"), or null. */
  uuid: string | null;
  /** Marketing name. */
  name: string;
  /** Vendor. */
  vendor: GpuVendor;
  /** The backend. */
  source: GpuSource;
  /** PCI address, or null. */
  pciBusId: string | null;
  /** Device memory, bytes. */
  memoryTotalBytes: number | null;
  /** Free device memory, bytes. */
  memoryFreeBytes: number | null;
  /** Used device memory, bytes. */
  memoryUsedBytes: number | null;
  /** CUDA compute capability × 10 (86 for 8.6), or null. */
  computeCapability: number | null;
  /** AMD gfx target ("gfx90a"), or null. */
  gfxTarget: string | null;
  /** GPU busy %, or null. */
  utilizationPercent: number | null;
  /** °C, or null. */
  temperatureC: number | null;
  /** Watts, or null. */
  powerDrawWatts: number | null;
  /** Driver version, or null. */
  driverVersion: string | null;
  /** CUDA version the driver supports ("12.4"), or null. */
  cudaVersion: string | null;
  /** Problems reported for this device. */
  errors: string[];
}

/** An empty reading to spread real values over, so parsers only name what they know. */
export function blankReading(
  index: number,
  name: string,
  vendor: GpuVendor,
  source: GpuSource,
): RawGpuReading {
  return {
    index,
    uuid: null,
    name,
    vendor,
    source,
    pciBusId: null,
    memoryTotalBytes: null,
    memoryFreeBytes: null,
    memoryUsedBytes: null,
    computeCapability: null,
    gfxTarget: null,
    utilizationPercent: null,
    temperatureC: null,
    powerDrawWatts: null,
    driverVersion: null,
    cudaVersion: null,
    errors: [],
  };
}

/**
 * Fills every GpuInfo field: a missing free or used figure follows from the other two, a missing
 * compute capability comes from the capability table by name, and a missing UUID falls back to the PCI
 * address (still stable across reordering) or, last, the index.
 */
export function completeGpuInfo(raw: RawGpuReading): GpuInfo {
  const errors = [...raw.errors];
  const total = raw.memoryTotalBytes ?? 0;
  if (raw.memoryTotalBytes === null) errors.push("memory: total not reported");
  const free =
    raw.memoryFreeBytes ?? (raw.memoryUsedBytes === null ? total : Math.max(0, total - raw.memoryUsedBytes));
  const used = raw.memoryUsedBytes ?? Math.max(0, total - free);

  // Older drivers and tools omit the compute capability / gfx target: the table knows it by name.
  const spec = lookupGpuSpec(raw.name, total);
  let cc = raw.computeCapability ?? 0;
  if (raw.vendor === "nvidia" && raw.computeCapability === null && spec !== undefined) {
    cc = specComputeCapability(spec);
  }
  const gfx = raw.gfxTarget ?? "";
  const precision = precisionSupport(raw.vendor, cc, gfx, spec?.architecture ?? null);
  const uuid =
    raw.uuid ??
    (raw.pciBusId !== null ? `PCI-${raw.pciBusId}` : `${raw.vendor.toUpperCase()}-INDEX-${raw.index}`);
  return {
    id: raw.index,
    uuid,
    name: raw.name,
    vendor: raw.vendor,
    source: raw.source,
    pciBusId: raw.pciBusId,
    memoryTotalBytes: total,
    memoryAvailableBytes: free,
    memoryUsedBytes: used,
    computeCapability: raw.vendor === "nvidia" ? cc : 0,
    computeCapabilityString: raw.vendor === "nvidia" ? formatComputeCapability(cc) : gfx,
    // Unknown NVIDIA hardware (cc 0) claims nothing rather than guessing.
    supportsFloat16: raw.vendor === "amd" || cc > 0 ? precision.float16 : false,
    supportsBFloat16: precision.bfloat16,
    supportsFp8: precision.fp8,
    utilizationPercent: raw.utilizationPercent,
    temperatureC: raw.temperatureC,
    powerDrawWatts: raw.powerDrawWatts,
    driverVersion: raw.driverVersion,
    cudaVersion: raw.cudaVersion,
    errors,
  };
}
