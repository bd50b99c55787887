/** The seed's ValidateGpuHealth: temperature, free memory and reported errors against thresholds. */
import type { GpuInfo } from "./types.js";

/** Limits a GPU is judged against. */
export interface GpuHealthThresholds {
  /** At or above this core temperature (°C) the GPU is degraded (clocks start to throttle). */
  warnTemperatureC: number;
  /** At or above this temperature (°C) the GPU is unhealthy. */
  criticalTemperatureC: number;
  /** Below this much free memory (bytes) the GPU is degraded: a new model load would fail or evict. */
  minAvailableMemoryBytes: number;
}

/** Defaults: NVIDIA consumer cards start throttling in the mid-80s °C; 512 MiB is a small KV cache. */
export function defaultGpuHealthThresholds(): GpuHealthThresholds {
  return { warnTemperatureC: 83, criticalTemperatureC: 92, minAvailableMemoryBytes: 512 * 1024 * 1024 };
}

/** One reason a GPU is not fully healthy. */
export interface GpuHealthProblem {
  /** What was checked. */
  kind: "temperature" | "memory" | "error";
  /** degraded: usable with lower weight; unhealthy: do not route to it. */
  severity: "degraded" | "unhealthy";
  /** One line for logs and `detect`. */
  message: string;
}

/** The verdict on one GPU. */
export interface GpuHealth {
  /** The seed's boolean answer: true only when there is no problem at all. */
  healthy: boolean;
  /** The worst severity found, or "healthy". */
  status: "healthy" | "degraded" | "unhealthy";
  /** Every problem found. */
  problems: GpuHealthProblem[];
}

// Errors after which the device answers nothing useful until a reset or reboot.
const FATAL_ERROR = /lost|reset|fallen off|unknown error|xid/i;

/** Judges one GPU; missing readings (null) are not problems, since many boards do not report them. */
export function validateGpuHealth(
  gpu: GpuInfo,
  thresholds: GpuHealthThresholds = defaultGpuHealthThresholds(),
): GpuHealth {
  const problems: GpuHealthProblem[] = [];
  const t = gpu.temperatureC;
  if (t !== null && t >= thresholds.criticalTemperatureC) {
    problems.push({
      kind: "temperature",
      severity: "unhealthy",
      message: `temperature ${t} °C ≥ critical ${thresholds.criticalTemperatureC} °C`,
    });
  } else if (t !== null && t >= thresholds.warnTemperatureC) {
    problems.push({
      kind: "temperature",
      severity: "degraded",
      message: `temperature ${t} °C ≥ ${thresholds.warnTemperatureC} °C (throttling likely)`,
    });
  }
  if (gpu.memoryTotalBytes <= 0) {
    problems.push({ kind: "memory", severity: "unhealthy", message: "no device memory reported" });
  } else if (gpu.memoryAvailableBytes < thresholds.minAvailableMemoryBytes) {
    const freeMiB = Math.round(gpu.memoryAvailableBytes / 2 ** 20);
    const minMiB = Math.round(thresholds.minAvailableMemoryBytes / 2 ** 20);
    problems.push({
      kind: "memory",
      severity: "degraded",
      message: `only ${freeMiB} MiB free (< ${minMiB} MiB)`,
    });
  }
  for (const error of gpu.errors) {
    problems.push({
      kind: "error",
      severity: FATAL_ERROR.test(error) ? "unhealthy" : "degraded",
      message: error,
    });
  }
  const status = problems.some((p) => p.severity === "unhealthy")
    ? "unhealthy"
    : problems.length > 0
      ? "degraded"
      : "healthy";
  return { healthy: problems.length === 0, status, problems };
}
