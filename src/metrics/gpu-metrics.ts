/** Per-GPU metrics from the GPU monitor's latest readings, read at scrape time. */
import { Counter, Gauge, type Registry } from "prom-client";
import type { GpuMonitorStats } from "../gpu/gpu-monitor.js";

/** Conditions of `ollama_fleet_gpu_condition`, one of which is 1 per GPU. */
const CONDITIONS = ["healthy", "degraded", "lost"] as const;

/** Registers the GPU gauges over a source of monitor stats (undefined: no monitor, no samples). */
export function registerGpuMetrics(registry: Registry, stats: () => GpuMonitorStats | undefined): void {
  const r = [registry];
  const gauge = (name: string, help: string, value: (s: GpuMonitorStats["gpus"][number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ["gpu"] as const,
      registers: r,
      collect() {
        this.reset();
        for (const s of stats()?.gpus ?? []) {
          const v = value(s);
          // A sensor the board lacks (or a lost GPU) gives no sample rather than a made-up one.
          if (v !== null && s.condition !== "lost") this.set({ gpu: String(s.gpu.id) }, v);
        }
      },
    });
  new Gauge({
    name: "ollama_fleet_gpu_info",
    help: "Always 1: each GPU's index, UUID, name, vendor and the tool that reads it.",
    labelNames: ["gpu", "uuid", "name", "vendor", "source"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const { gpu } of stats()?.gpus ?? []) {
        this.set(
          { gpu: String(gpu.id), uuid: gpu.uuid, name: gpu.name, vendor: gpu.vendor, source: gpu.source },
          1,
        );
      }
    },
  });
  gauge(
    "ollama_fleet_gpu_memory_used_bytes",
    "Device memory in use on each GPU.",
    (s) => s.gpu.memoryUsedBytes,
  );
  gauge("ollama_fleet_gpu_memory_total_bytes", "Device memory of each GPU.", (s) => s.gpu.memoryTotalBytes);
  gauge(
    "ollama_fleet_gpu_utilization_ratio",
    "Share of time each GPU was busy over the driver's last sample period, 0..1.",
    (s) => (s.gpu.utilizationPercent === null ? null : s.gpu.utilizationPercent / 100),
  );
  gauge("ollama_fleet_gpu_temperature_celsius", "Core temperature of each GPU.", (s) => s.gpu.temperatureC);
  gauge("ollama_fleet_gpu_power_watts", "Board power draw of each GPU.", (s) => s.gpu.powerDrawWatts);
  new Gauge({
    name: "ollama_fleet_gpu_routing_factor",
    help: "Factor the GPU monitor applies to the routing weight of each GPU's instances (1 normal, lower when hot or memory-starved).",
    labelNames: ["gpu"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const s of stats()?.gpus ?? []) this.set({ gpu: String(s.gpu.id) }, s.routingFactor);
    },
  });
  new Gauge({
    name: "ollama_fleet_gpu_condition",
    help: "1 for each GPU's current condition (healthy, degraded: hot or memory-starved, lost), else 0.",
    labelNames: ["gpu", "condition"] as const,
    registers: r,
    collect() {
      this.reset();
      for (const s of stats()?.gpus ?? []) {
        for (const c of CONDITIONS)
          this.set({ gpu: String(s.gpu.id), condition: c }, s.condition === c ? 1 : 0);
      }
    },
  });
  new Counter({
    name: "ollama_fleet_gpu_polls_total",
    help: "GPU monitor polls by result (ok, failed).",
    labelNames: ["result"] as const,
    registers: r,
    collect() {
      this.reset();
      const s = stats();
      if (!s) return;
      this.inc({ result: "ok" }, s.polls - s.failedPolls);
      this.inc({ result: "failed" }, s.failedPolls);
    },
  });
}
