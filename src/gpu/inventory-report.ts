/** The `detect` command's two outputs, built from an inventory: the documented JSON and a text table. */
import { relativeDecodeSpeeds } from "./capability-db.js";
import { getGpuCapabilities, type GpuCapabilities } from "./gpu-capabilities.js";
import { validateGpuHealth, type GpuHealth, type GpuHealthThresholds } from "./gpu-health.js";
import type { GpuInfo, GpuInventoryResult } from "./types.js";

/** Version of the JSON shape; bumped only on an incompatible change (docs/gpu-detection.md). */
export const INVENTORY_SCHEMA_VERSION = 1;

/** One GPU in the JSON report: GpuInfo's fields, its capabilities and its health. */
export interface GpuReport extends GpuInfo {
  /** Architecture, bandwidth, FP16 throughput and predicted relative decode speed. */
  capabilities: Omit<
    GpuCapabilities,
    | "uuid"
    | "computeCapability"
    | "computeCapabilityString"
    | "supportsFloat16"
    | "supportsBFloat16"
    | "supportsFp8"
    | "memoryTotalBytes"
  > & { relativeDecodeSpeed: number };
  /** Health against the default (or given) thresholds. */
  health: GpuHealth;
}

/** The `detect --json` document. */
export interface InventoryReport extends Omit<GpuInventoryResult, "gpus"> {
  /** Shape version. */
  schemaVersion: number;
  /** Visible GPUs with capabilities and health. */
  gpus: GpuReport[];
}

/** Builds the JSON document (pure; stable key order). */
export function buildInventoryReport(
  inventory: GpuInventoryResult,
  thresholds?: GpuHealthThresholds,
): InventoryReport {
  const caps = inventory.gpus.map(getGpuCapabilities);
  const speeds = relativeDecodeSpeeds(caps);
  const gpus = inventory.gpus.map((gpu, i): GpuReport => {
    const c = caps[i] ?? getGpuCapabilities(gpu);
    return {
      ...gpu,
      capabilities: {
        architecture: c.architecture,
        fastFloat16: c.fastFloat16,
        memoryBandwidthGBps: c.memoryBandwidthGBps,
        fp16Tflops: c.fp16Tflops,
        relativeDecodeSpeed: Math.round((speeds.get(gpu.uuid) ?? 0) * 1000) / 1000,
        specSource: c.specSource,
        specModel: c.specModel,
        specNote: c.specNote,
      },
      health: validateGpuHealth(gpu, thresholds),
    };
  });
  return {
    schemaVersion: INVENTORY_SCHEMA_VERSION,
    cpuOnly: inventory.cpuOnly,
    gpus,
    hiddenGpus: inventory.hiddenGpus,
    cpu: inventory.cpu,
    visibleDevices: inventory.visibleDevices,
    attempts: inventory.attempts,
    warnings: inventory.warnings,
  };
}

/** The human table: one row per GPU, then hidden GPUs, the CPU, how detection went, and warnings. */
export function formatInventoryTable(report: InventoryReport): string {
  const lines: string[] = [];
  if (report.gpus.length === 0) {
    lines.push("No GPU visible: Ollama will run on the CPU.");
  } else {
    const headers = ["ID", "NAME", "UUID", "MEMORY FREE/TOTAL", "CC", "FP16/BF16/FP8"];
    headers.push("BW GB/S", "DECODE", "TEMP", "POWER", "UTIL", "HEALTH");
    const rows = report.gpus.map((g) => [
      String(g.id),
      g.name,
      g.uuid,
      `${gib(g.memoryAvailableBytes)} / ${gib(g.memoryTotalBytes)} GiB`,
      g.computeCapabilityString || "-",
      [g.supportsFloat16, g.supportsBFloat16, g.supportsFp8].map((b) => (b ? "yes" : "no")).join("/"),
      `${g.capabilities.specSource === "derived" ? "~" : ""}${g.capabilities.memoryBandwidthGBps}`,
      `${g.capabilities.relativeDecodeSpeed.toFixed(2)}x`,
      g.temperatureC === null ? "-" : `${g.temperatureC}°C`,
      g.powerDrawWatts === null ? "-" : `${Math.round(g.powerDrawWatts)} W`,
      g.utilizationPercent === null ? "-" : `${g.utilizationPercent}%`,
      g.health.status,
    ]);
    lines.push(...formatColumns([headers, ...rows]));
    lines.push("", `Source: ${describeSources(report.gpus)}`);
    lines.push(
      "BW: memory bandwidth (~ estimated from a similar GPU); DECODE: predicted speed vs the fastest.",
    );
    for (const g of report.gpus) {
      for (const p of g.health.problems) lines.push(`GPU ${g.id} (${g.name}) ${p.severity}: ${p.message}`);
    }
  }
  const set = report.visibleDevices.filter((d) => d.value !== null);
  if (set.length > 0)
    lines.push(`Visible devices: ${set.map((v) => `${v.variable}=${v.value ?? ""}`).join(", ")}`);
  if (report.hiddenGpus.length > 0) {
    lines.push(`Hidden: ${report.hiddenGpus.map((h) => `${h.id} ${h.name} (${h.uuid})`).join("; ")}`);
  }
  const cpu = report.cpu;
  lines.push(
    `CPU: ${cpu.model || "unknown model"}, ${cpu.logicalCores} cores; RAM ${gib(cpu.memoryAvailableBytes)} / ${gib(cpu.memoryTotalBytes)} GiB free`,
  );
  lines.push(`Detection: ${report.attempts.map((a) => `${a.source} ${a.outcome} (${a.detail})`).join("; ")}`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}

/** "nvml (driver 550.54.15, CUDA 12.4), rocm-smi (driver 6.7.0)": each source with its versions. */
function describeSources(gpus: readonly GpuReport[]): string {
  const bySource = new Map<string, GpuReport>();
  for (const g of gpus) if (!bySource.has(g.source)) bySource.set(g.source, g);
  return [...bySource.values()]
    .map((g) => {
      const versions = [
        g.driverVersion ? `driver ${g.driverVersion}` : "",
        g.cudaVersion ? `CUDA ${g.cudaVersion}` : "",
      ];
      const known = versions.filter((v) => v !== "");
      return known.length > 0 ? `${g.source} (${known.join(", ")})` : g.source;
    })
    .join(", ");
}

/** Bytes as GiB with one decimal. */
function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}

/** Left-aligned columns two spaces apart. */
function formatColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}
