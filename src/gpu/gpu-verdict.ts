/**
 * What the GPU monitor concludes from one reading: healthy, degraded (hot or short of memory: its instances
 * keep serving with less routing weight) or lost (its instances are taken out of rotation). Pure.
 */
import type { GpuInfo } from "./types.js";

/** Thresholds of the monitor ([Observability] GpuHotTemperatureCelsius, GpuMinFreeMemoryBytes). */
export interface GpuMonitorThresholds {
  hotTemperatureCelsius: number;
  minFreeMemoryBytes: number;
}

/** The monitor's verdict on a GPU. */
export type GpuCondition = "healthy" | "degraded" | "lost";

/** A verdict, its reasons, and the routing factor the GPU's instances get. */
export interface GpuVerdict {
  condition: GpuCondition;
  /** One line per problem, for logs and the admin API; empty when healthy. */
  reasons: string[];
  /** Multiplies the health score of the GPU's instances: 1 when healthy, lower when hot or short of memory. */
  routingFactor: number;
}

/** Each this many °C above the hot threshold halves the factor again. */
export const HOT_HALVING_CELSIUS = 5;

/** Factor of a memory-starved GPU. */
export const MEMORY_STARVED_FACTOR = 0.5;

/** The lowest factor: a hot GPU keeps a trickle of traffic, like every health-score factor. */
export const MIN_GPU_FACTOR = 0.01;

// NVML's GPU_IS_LOST, nvidia-smi's "GPU is lost" / "requires reset" / "fallen off the bus", Xid reports.
const LOST_ERROR = /lost|reset|fallen off|unknown error|xid/i;

/** The verdict on one reading; null readings (sensors a board lacks) are never problems. */
export function judgeGpu(gpu: GpuInfo, t: GpuMonitorThresholds): GpuVerdict {
  const fatal = gpu.errors.filter((e) => LOST_ERROR.test(e));
  if (fatal.length > 0) return { condition: "lost", reasons: fatal, routingFactor: MIN_GPU_FACTOR };
  const reasons: string[] = [];
  let factor = 1;
  const temp = gpu.temperatureC;
  if (temp !== null && temp >= t.hotTemperatureCelsius) {
    factor *= 0.5 ** (1 + (temp - t.hotTemperatureCelsius) / HOT_HALVING_CELSIUS);
    reasons.push(`temperature ${temp} °C ≥ ${t.hotTemperatureCelsius} °C`);
  }
  if (gpu.memoryTotalBytes > 0 && gpu.memoryAvailableBytes < t.minFreeMemoryBytes) {
    factor *= MEMORY_STARVED_FACTOR;
    const free = Math.round(gpu.memoryAvailableBytes / 2 ** 20);
    const min = Math.round(t.minFreeMemoryBytes / 2 ** 20);
    reasons.push(`memory-starved: ${free} MiB free < ${min} MiB`);
  }
  return {
    condition: reasons.length > 0 ? "degraded" : "healthy",
    reasons,
    routingFactor: Math.max(MIN_GPU_FACTOR, factor),
  };
}

/** The verdict on a GPU that vanished from the readings, or whose tool keeps failing. */
export function lostVerdict(reason: string): GpuVerdict {
  return { condition: "lost", reasons: [reason], routingFactor: MIN_GPU_FACTOR };
}
