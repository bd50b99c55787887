/** Shapes shared by GPU detection, the capability database and the `detect` command. */

/** Which tool produced a GPU's figures. */
export type GpuSource = "nvml" | "nvidia-smi" | "amd-smi" | "rocm-smi";

/** GPU vendor. */
export type GpuVendor = "nvidia" | "amd";

/**
 * One GPU as the gateway sees it: the seed's GpuInfo (Id, Name, MemoryTotal, MemoryAvailable,
 * ComputeCapability, SupportsFloat16, SupportsBFloat16) plus what NVML / the vendor tools report.
 * Readings a tool could not give are null, never guessed.
 */
export interface GpuInfo {
  /** The seed's Id: the index NVML, nvidia-smi and rocm-smi give the device (PCI bus order). */
  id: number;
  /** Stable identity ("GPU-…"): pin instances by this, not by index, so reordering cannot move them. */
  uuid: string;
  /** Marketing name as the driver reports it, e.g. "NVIDIA GeForce RTX 4090". */
  name: string;
  /** GPU vendor. */
  vendor: GpuVendor;
  /** Which tool produced these figures. */
  source: GpuSource;
  /** PCI address as "DDDDDDDD:BB:DD.F" (NVIDIA) or "DDDD:BB:DD.F" (AMD), or null. */
  pciBusId: string | null;
  /** Device memory in bytes. */
  memoryTotalBytes: number;
  /** The seed's MemoryAvailable: free device memory in bytes at detection time. */
  memoryAvailableBytes: number;
  /** Used device memory in bytes at detection time. */
  memoryUsedBytes: number;
  /** The seed's ComputeCapability as an integer: 86 for CUDA 8.6; 0 when there is none (AMD). */
  computeCapability: number;
  /** "8.6" on NVIDIA; the gfx target (e.g. "gfx90a") on AMD; "" when unknown. */
  computeCapabilityString: string;
  /** The hardware does FP16 arithmetic. */
  supportsFloat16: boolean;
  /** The hardware does BF16 arithmetic. */
  supportsBFloat16: boolean;
  /** The hardware has FP8 matrix units. */
  supportsFp8: boolean;
  /** GPU busy percentage, or null. */
  utilizationPercent: number | null;
  /** Core temperature in °C, or null. */
  temperatureC: number | null;
  /** Board power draw in watts, or null. */
  powerDrawWatts: number | null;
  /** Kernel driver version, or null. */
  driverVersion: string | null;
  /** Highest CUDA version the driver supports ("12.4"), or null (and always null on AMD). */
  cudaVersion: string | null;
  /** Problems the tool reported for this device, e.g. "memory: GPU is lost"; empty when none. */
  errors: string[];
}

/** The machine's CPU and system memory: always reported, and all there is on a CPU-only machine. */
export interface CpuInfo {
  /** CPU model string, or "" when the OS does not say. */
  model: string;
  /** Logical cores the process may use. */
  logicalCores: number;
  /** System memory in bytes. */
  memoryTotalBytes: number;
  /** Free system memory in bytes at detection time. */
  memoryAvailableBytes: number;
}

/** What one detection backend did, so `detect` can say why a GPU was or was not found. */
export interface DetectionAttempt {
  /** The backend. */
  source: GpuSource;
  /**
   * used: it produced the GPUs; empty: it worked and found none; unavailable: the library or tool is not
   * installed; failed: it is installed but did not work (driver error, timeout); skipped: not needed.
   */
  outcome: "used" | "empty" | "unavailable" | "failed" | "skipped";
  /** One line: the error, or what was found. */
  detail: string;
}

/** A GPU that exists but is hidden by CUDA_VISIBLE_DEVICES (or the AMD equivalents). */
export interface HiddenGpu {
  /** Index as the tool numbers it. */
  id: number;
  /** Stable identity. */
  uuid: string;
  /** Marketing name. */
  name: string;
}

/** Everything detection learned about the machine; a machine without GPUs is a valid answer. */
export interface GpuInventoryResult {
  /** Visible GPUs in the order the visibility variable lists them (else by index). */
  gpus: GpuInfo[];
  /** GPUs present but hidden by the visibility variable. */
  hiddenGpus: HiddenGpu[];
  /** True when no GPU is visible: Ollama will run on the CPU. */
  cpuOnly: boolean;
  /** The CPU and system memory. */
  cpu: CpuInfo;
  /** Each backend's outcome, in the order tried. */
  attempts: DetectionAttempt[];
  /** The visibility variables that were applied, with their values (null: unset). */
  visibleDevices: { variable: string; value: string | null }[];
  /** Things the user should know (e.g. an index in CUDA_VISIBLE_DEVICES that matches no GPU). */
  warnings: string[];
}
