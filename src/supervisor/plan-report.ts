/** What `ollama-fleet plan` prints: a stable JSON document (docs/provisioning.md) or a table with reasons. */
import type { GpuInventoryResult } from "../gpu/types.js";
import type { PlannedDevice, ProvisionPlan } from "./plan-types.js";

/** Bumped when a field changes meaning or disappears (adding fields does not bump it). */
export const PLAN_SCHEMA_VERSION = 1;

/** One planned model in the JSON document: every key always present. */
export interface PlanReportModel {
  name: string;
  sizeBytes: number | null;
  preload: boolean;
  preloadStep: number | null;
  reason: string;
}

/** One planned instance in the JSON document. */
export interface PlanReportInstance {
  id: string;
  device: PlannedDevice;
  port: number;
  memoryLimitBytes: number;
  numParallel: number;
  maxConcurrentRequests: number;
  maxLoadedModels: number;
  externalUrl: string | null;
  models: PlanReportModel[];
  reasons: string[];
}

/** The JSON document of `plan --json`. */
export interface PlanReport {
  schemaVersion: number;
  mode: "auto" | "yaml";
  /** What the plan was made from. */
  detected: { cpuOnly: boolean; gpuCount: number; systemMemoryBytes: number };
  systemMemoryReserveBytes: number;
  instances: PlanReportInstance[];
  unplaced: { name: string; reason: string }[];
  warnings: string[];
}

/** The plan as the documented JSON shape: absent values become null, so every key is always there. */
export function buildPlanReport(plan: ProvisionPlan, inventory: GpuInventoryResult): PlanReport {
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    mode: plan.mode ?? "auto",
    detected: {
      cpuOnly: inventory.cpuOnly,
      gpuCount: inventory.gpus.length,
      systemMemoryBytes: inventory.cpu.memoryTotalBytes,
    },
    systemMemoryReserveBytes: plan.systemMemoryReserveBytes,
    instances: plan.instances.map((i) => ({
      id: i.id,
      device: i.device,
      port: i.port,
      memoryLimitBytes: i.memoryLimitBytes,
      numParallel: i.numParallel,
      maxConcurrentRequests: i.maxConcurrentRequests,
      maxLoadedModels: i.maxLoadedModels,
      externalUrl: i.externalUrl ?? null,
      models: i.models.map((m) => ({
        name: m.name,
        sizeBytes: m.sizeBytes ?? null,
        preload: m.preload,
        preloadStep: m.preloadStep ?? null,
        reason: m.reason,
      })),
      reasons: i.reasons,
    })),
    unplaced: plan.unplaced,
    warnings: plan.warnings,
  };
}

/** "GPU 0 RTX 4090" or "CPU". */
function deviceText(device: PlannedDevice): string {
  return device.kind === "cpu" ? "CPU" : `GPU ${device.index} ${device.name}`;
}

/** Left-aligned columns two spaces apart. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

/** The human output: one row per instance, then each choice with its reason, unplaced models, warnings. */
export function formatPlanTable(report: PlanReport): string {
  const lines: string[] = [];
  const from =
    report.mode === "yaml"
      ? "from the gpu_instances YAML file, which overrides the automatic plan"
      : report.detected.cpuOnly
        ? "automatic, CPU only (no GPU visible)"
        : `automatic, from ${report.detected.gpuCount} GPU(s)`;
  lines.push(`Plan (${from}): ${report.instances.length} instance(s)`, "");
  const header = ["INSTANCE", "DEVICE", "PORT", "MEMORY", "PARALLEL", "MAX LOADED", "MODELS (preload step)"];
  const rows = report.instances.map((i) => [
    i.id,
    deviceText(i.device),
    i.externalUrl ?? String(i.port),
    `${(i.memoryLimitBytes / 1024 ** 3).toFixed(1)} GiB`,
    String(i.numParallel),
    String(i.maxLoadedModels),
    i.models.map((m) => `${m.name} (${m.preloadStep ?? "on demand"})`).join(", ") || "-",
  ]);
  if (rows.length > 0) lines.push(...columns([header, ...rows]));
  for (const i of report.instances) {
    lines.push("", `${i.id}:`);
    for (const r of i.reasons) lines.push(`  - ${r}`);
    for (const m of i.models) lines.push(`  * ${m.name}: ${m.reason}`);
  }
  if (report.unplaced.length > 0) {
    lines.push("", "Unplaced models:");
    for (const u of report.unplaced) lines.push(`  ${u.name}: ${u.reason}`);
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}
