/** Adapts the GPU health monitor's readings to the dashboard's GpuSampleSource. */
import type { GpuMonitor } from "../gpu/gpu-monitor.js";
import type { GpuReading, GpuSampleSource } from "./gpu-sample-source.js";

/** A measuring source over the monitor's last poll (NVML or the vendor tools). */
export function gpuMonitorSource(monitor: Pick<GpuMonitor, "stats">): GpuSampleSource {
  return {
    kind: "measured",
    latest(): GpuReading[] {
      return monitor.stats().gpus.map((s): GpuReading => ({
        gpuId: s.gpu.id,
        name: s.gpu.name,
        utilizationPercent: s.condition === "lost" ? null : s.gpu.utilizationPercent,
        memoryUsedBytes: s.gpu.memoryUsedBytes,
        memoryTotalBytes: s.gpu.memoryTotalBytes,
        temperatureC: s.gpu.temperatureC ?? undefined,
        powerW: s.gpu.powerDrawWatts ?? undefined,
        condition: s.condition,
        reasons: s.reasons,
      }));
    },
  };
}
