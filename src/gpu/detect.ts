/**
 * GPU detection, the seed's IGpuDetectionService: NVIDIA (NVML, else nvidia-smi) and AMD (amd-smi, else
 * rocm-smi), visibility variables applied, CPU and system memory always reported. A machine without any
 * GPU, driver or tool is a valid CPU-only answer, never an error.
 */
import { readCpuInfo, osSystemProbe, type SystemProbe } from "./cpu-info.js";
import { detectAmd } from "./detect-amd.js";
import { defaultNvmlLibraryPath, detectNvidia } from "./detect-nvidia.js";
import { completeGpuInfo } from "./gpu-info.js";
import { runCommand as realRunCommand, type RunCommand } from "./run-command.js";
import type { GpuInfo, GpuInventoryResult, HiddenGpu } from "./types.js";
import { applyVisibleDevices, deviceOrderWarning, parseVisibleDevices } from "./visible-devices.js";

/** Role: lists the machine's GPUs. The gateway depends on this, tests substitute it. */
export interface GpuInventory {
  /** Detects now; never rejects for missing hardware or tools. */
  detect(): Promise<GpuInventoryResult>;
}

/** Inputs of detection; only env is required. */
export interface DetectGpusOptions {
  /** The gateway's environment (CUDA_VISIBLE_DEVICES and friends are read from it). */
  env: Record<string, string | undefined>;
  /** NVML library to load; default libnvidia-ml.so.1 on Linux, nvml.dll on Windows; null skips NVML. */
  nvmlLibraryPath?: string | null;
  /** Runs nvidia-smi / amd-smi / rocm-smi; default spawns them. */
  runCommand?: RunCommand;
  /** CPU and memory reader; default node:os. */
  system?: SystemProbe;
  /** Platform, for the default NVML path; default process.platform. */
  platform?: NodeJS.Platform;
  /** Per-command timeout in ms (nvidia-smi can hang on a wedged driver); default 10 s. */
  commandTimeoutMs?: number;
}

/** A GpuInventory that runs detectGpus with fixed options each time. */
export function createGpuInventory(options: DetectGpusOptions): GpuInventory {
  return { detect: () => detectGpus(options) };
}

/** Detects GPUs, applies CUDA_VISIBLE_DEVICES (ROCR_/HIP_VISIBLE_DEVICES on AMD), and reports the CPU. */
export async function detectGpus(options: DetectGpusOptions): Promise<GpuInventoryResult> {
  const run = options.runCommand ?? realRunCommand;
  const timeoutMs = options.commandTimeoutMs ?? 10_000;
  const nvmlPath =
    options.nvmlLibraryPath === undefined
      ? defaultNvmlLibraryPath(options.platform ?? process.platform)
      : options.nvmlLibraryPath;
  const [nvidia, amd] = await Promise.all([
    detectNvidia(nvmlPath, run, timeoutMs),
    detectAmd(run, timeoutMs),
  ]);
  const warnings = [...nvidia.warnings, ...amd.warnings];
  const visibleDevices: GpuInventoryResult["visibleDevices"] = [];
  const visible: GpuInfo[] = [];
  const hidden: GpuInfo[] = [];

  const nvidiaGpus = nvidia.readings.map(completeGpuInfo).sort((a, b) => a.id - b.id);
  if (nvidiaGpus.length > 0) {
    const value = options.env.CUDA_VISIBLE_DEVICES;
    const spec = parseVisibleDevices(value);
    const applied = applyVisibleDevices(nvidiaGpus, spec, "CUDA_VISIBLE_DEVICES");
    visibleDevices.push({ variable: "CUDA_VISIBLE_DEVICES", value: value ?? null });
    visible.push(...applied.visible);
    hidden.push(...applied.hidden);
    warnings.push(...applied.warnings);
    const order = deviceOrderWarning(
      spec,
      options.env.CUDA_DEVICE_ORDER,
      nvidiaGpus.map((g) => g.name),
    );
    if (order !== undefined) warnings.push(order);
  }

  const amdGpus = amd.readings.map(completeGpuInfo).sort((a, b) => a.id - b.id);
  if (amdGpus.length > 0) {
    // ROCm reads ROCR_VISIBLE_DEVICES, then HIP_VISIBLE_DEVICES; HIP also honours CUDA_VISIBLE_DEVICES,
    // which on a mixed machine is meant for the NVIDIA GPUs, so it counts only when there are none.
    const names = ["ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"];
    if (nvidiaGpus.length === 0) names.push("CUDA_VISIBLE_DEVICES");
    const variable = names.find((n) => options.env[n] !== undefined) ?? "ROCR_VISIBLE_DEVICES";
    const value = options.env[variable];
    const applied = applyVisibleDevices(amdGpus, parseVisibleDevices(value), variable);
    visibleDevices.push({ variable, value: value ?? null });
    visible.push(...applied.visible);
    hidden.push(...applied.hidden);
    warnings.push(...applied.warnings);
  }

  return {
    gpus: visible,
    hiddenGpus: hidden.map((g): HiddenGpu => ({ id: g.id, uuid: g.uuid, name: g.name })),
    cpuOnly: visible.length === 0,
    cpu: readCpuInfo(options.system ?? osSystemProbe()),
    attempts: [...nvidia.attempts, ...amd.attempts],
    visibleDevices,
    warnings,
  };
}
