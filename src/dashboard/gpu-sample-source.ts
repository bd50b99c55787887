/**
 * Where the dashboard's GPU figures come from: a measuring source (an NVML/SMI monitor) when one is wired,
 * else an estimate from the gateway's own slot accounting, labelled as such.
 */
import type { InstanceStats } from "../backend/instance.js";

/** One GPU's latest reading; every figure but utilisation is optional (not every source has them). */
export interface GpuReading {
  gpuId: number;
  /** Busy share of the GPU, 0..100; null when the source cannot read it. */
  utilizationPercent: number | null;
  memoryUsedBytes?: number | undefined;
  memoryTotalBytes?: number | undefined;
  temperatureC?: number | undefined;
  powerW?: number | undefined;
  /** Device name when the source knows it (e.g. "NVIDIA GeForce RTX 4070 Ti"). */
  name?: string | undefined;
  /** The monitor's verdict (healthy, degraded, lost) and its reasons, when a monitor judges GPUs. */
  condition?: string | undefined;
  reasons?: string[] | undefined;
}

/** How a GPU's figures were obtained: measured by a monitor, or estimated from busy slots. */
export type GpuReadingKind = "measured" | "estimated";

/** Role: gives the latest reading of each GPU it watches (a GPU monitor adapts itself to this). */
export interface GpuSampleSource {
  readonly kind: GpuReadingKind;
  /** Latest readings; GPUs the source does not know are simply absent. */
  latest(): GpuReading[];
}

/** One instance's share of the estimate: its GPU, busy slots and slot capacity. */
export interface SlotLoad {
  gpuId: number;
  inFlight: number;
  capacity: number;
  /** Memory its loaded models take (from /api/ps). */
  loadedBytes: number;
  memoryLimitBytes: number | undefined;
}

/**
 * Estimated utilisation per GPU: busy slots ÷ slot capacity of the instances on it, capped at 100%.
 * A slot running a request keeps the GPU busy most of the time, so this tracks real utilisation well under
 * load and reads 0 when idle; it cannot see work from outside the gateway.
 */
export function estimateGpuReadings(loads: readonly SlotLoad[]): GpuReading[] {
  const byGpu = new Map<
    number,
    { busy: number; capacity: number; used: number; total: number | undefined }
  >();
  for (const l of loads) {
    const g = byGpu.get(l.gpuId) ?? { busy: 0, capacity: 0, used: 0, total: 0 };
    g.busy += Math.max(0, l.inFlight);
    g.capacity += Math.max(1, l.capacity);
    g.used += Math.max(0, l.loadedBytes);
    // A GPU's total is known only when every instance on it has a memory limit.
    g.total =
      g.total === undefined || l.memoryLimitBytes === undefined ? undefined : g.total + l.memoryLimitBytes;
    byGpu.set(l.gpuId, g);
  }
  return [...byGpu.entries()]
    .sort(([a], [b]) => a - b)
    .map(([gpuId, g]) => ({
      gpuId,
      utilizationPercent: Math.min(100, (100 * g.busy) / g.capacity),
      memoryUsedBytes: g.used,
      memoryTotalBytes: g.total,
    }));
}

/** Slot loads of instances as the fleet reports them (capacity defaults as the router's does). */
export function slotLoadsOf(
  instances: readonly InstanceStats[],
  limits: ReadonlyMap<string, number | undefined>,
  defaultCapacity: number,
): SlotLoad[] {
  return instances.map((i) => ({
    gpuId: i.gpuId,
    inFlight: i.inFlight,
    capacity: i.maxConcurrentRequests ?? defaultCapacity,
    loadedBytes: i.loadedModels.reduce((sum, m) => sum + (m.sizeVramBytes || 0), 0),
    memoryLimitBytes: limits.get(i.id),
  }));
}
