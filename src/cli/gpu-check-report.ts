/**
 * The real-GPU check, pure part: NVML's figures (from `detect --json`) against nvidia-smi's for the same
 * GPUs (matched by UUID), each field with its tolerance, and the one JSON report scripts/gpu-check.sh prints.
 */
import type { RawGpuReading } from "../gpu/gpu-info.js";
import type { InventoryReport } from "../gpu/inventory-report.js";
import type { PlanReport } from "../supervisor/plan-report.js";

/** Bumped when a field changes meaning or disappears. */
export const GPU_CHECK_SCHEMA_VERSION = 1;

const MIB = 1024 ** 2;

/** One field of one GPU compared. */
export interface FieldCheck {
  field: string;
  nvml: string | number | null;
  nvidiaSmi: string | number | null;
  /** null when either side had no reading (nothing to compare). */
  match: boolean | null;
  /** What counts as equal, e.g. "exact", "±1 MiB", "±5 °C". */
  tolerance: string;
}

/** One GPU compared field by field. */
export interface GpuComparison {
  uuid: string;
  name: string;
  checks: FieldCheck[];
}

/**
 * pass: every comparable field matches; mismatch: one does not; no-nvidia-smi: nothing to compare with;
 * no-nvml: NVML found no GPU (the NVML path cannot be checked); failed: detect or plan did not run.
 */
export type GpuCheckStatus = "pass" | "mismatch" | "no-nvidia-smi" | "no-nvml" | "failed";

/** What nvidia-smi gave, or why it gave nothing. */
export interface NvidiaSmiOutcome {
  available: boolean;
  /** "found 2 GPU(s)", "nvidia-smi not found on PATH", the driver's error line… */
  detail: string;
  readings: RawGpuReading[];
}

/** The report scripts/gpu-check.sh prints. */
export interface GpuCheckReport {
  schemaVersion: number;
  status: GpuCheckStatus;
  /** One line per problem that made the status what it is. */
  problems: string[];
  /** The `detect --json` document, or null when detect failed. */
  detect: InventoryReport | null;
  /** The `plan --json` document, or null when plan failed. */
  plan: PlanReport | null;
  nvidiaSmi: { available: boolean; detail: string; gpuCount: number };
  comparison: {
    /** NVML's GPU count (visible + hidden) equals nvidia-smi's, or null without nvidia-smi. */
    gpuCountMatch: boolean | null;
    gpus: GpuComparison[];
    /** UUIDs only one side reported. */
    onlyNvml: string[];
    onlyNvidiaSmi: string[];
  };
}

/** A check of two readings; `equal` decides when both are present. */
function check<T extends string | number>(
  field: string,
  nvml: T | null,
  smi: T | null,
  tolerance: string,
  equal: (a: T, b: T) => boolean,
): FieldCheck {
  const match = nvml === null || smi === null ? null : equal(nvml, smi);
  return { field, nvml, nvidiaSmi: smi, match, tolerance };
}

const within = (limit: number) => (a: number, b: number) => Math.abs(a - b) <= limit;

/** The field checks of one GPU (NVML's reading from detect, nvidia-smi's from its CSV). */
export function compareGpu(nvml: InventoryReport["gpus"][number], smi: RawGpuReading): GpuComparison {
  const usedSlack = Math.max(256 * MIB, 0.02 * nvml.memoryTotalBytes);
  const cc = smi.computeCapability;
  const power = nvml.powerDrawWatts ?? 0;
  return {
    uuid: nvml.uuid,
    name: nvml.name,
    checks: [
      check("name", nvml.name, smi.name, "exact", (a, b) => a === b),
      check(
        "pciBusId",
        nvml.pciBusId,
        smi.pciBusId,
        "exact, ignoring case",
        (a, b) => a.toLowerCase() === b.toLowerCase(),
      ),
      check(
        "memoryTotalBytes",
        nvml.memoryTotalBytes,
        smi.memoryTotalBytes,
        "±1 MiB (nvidia-smi prints MiB)",
        within(MIB),
      ),
      check(
        "memoryUsedBytes",
        nvml.memoryUsedBytes,
        smi.memoryUsedBytes,
        "±2% of total or 256 MiB (it moves)",
        within(usedSlack),
      ),
      check("computeCapability", nvml.computeCapability, cc, "exact", (a, b) => a === b),
      check("driverVersion", nvml.driverVersion, smi.driverVersion, "exact", (a, b) => a === b),
      check("temperatureC", nvml.temperatureC, smi.temperatureC, "±5 °C", within(5)),
      check(
        "powerDrawWatts",
        nvml.powerDrawWatts,
        smi.powerDrawWatts,
        "±15% or 10 W",
        within(Math.max(10, 0.15 * power)),
      ),
    ],
  };
}

/** Builds the report from what each step produced (null: that step failed, with its problem given). */
export function buildGpuCheckReport(input: {
  detect: InventoryReport | null;
  plan: PlanReport | null;
  nvidiaSmi: NvidiaSmiOutcome;
  problems: string[];
}): GpuCheckReport {
  const { detect, plan, nvidiaSmi } = input;
  const problems = [...input.problems];
  const nvmlGpus = (detect?.gpus ?? []).filter((g) => g.source === "nvml");
  const smiByUuid = new Map(nvidiaSmi.readings.map((r) => [r.uuid ?? `index ${r.index}`, r]));
  const gpus: GpuComparison[] = [];
  for (const g of nvmlGpus) {
    const smi = smiByUuid.get(g.uuid);
    if (smi !== undefined) gpus.push(compareGpu(g, smi));
  }
  const nvmlUuids = new Set([
    ...nvmlGpus.map((g) => g.uuid),
    ...(detect?.hiddenGpus ?? []).map((h) => h.uuid),
  ]);
  const onlyNvml = nvidiaSmi.available ? nvmlGpus.map((g) => g.uuid).filter((u) => !smiByUuid.has(u)) : [];
  const onlyNvidiaSmi = nvmlGpus.length > 0 ? [...smiByUuid.keys()].filter((u) => !nvmlUuids.has(u)) : [];
  const gpuCountMatch = nvidiaSmi.available ? nvmlUuids.size === nvidiaSmi.readings.length : null;
  for (const c of gpus) {
    for (const f of c.checks.filter((x) => x.match === false)) {
      problems.push(
        `${c.uuid} ${f.field}: NVML ${String(f.nvml)}, nvidia-smi ${String(f.nvidiaSmi)} (${f.tolerance})`,
      );
    }
  }
  for (const u of onlyNvml) problems.push(`${u}: NVML reports it, nvidia-smi does not`);
  for (const u of onlyNvidiaSmi) problems.push(`${u}: nvidia-smi reports it, NVML does not`);
  if (!nvidiaSmi.available) problems.push(`nvidia-smi: ${nvidiaSmi.detail}`);
  if (detect !== null && nvmlGpus.length === 0) {
    const nvml = detect.attempts.find((a) => a.source === "nvml");
    problems.push(`NVML found no GPU (${nvml?.outcome ?? "not tried"}: ${nvml?.detail ?? ""})`);
  }
  const mismatch = gpus.some((c) => c.checks.some((f) => f.match === false));
  const status: GpuCheckStatus =
    detect === null || plan === null
      ? "failed"
      : nvmlGpus.length === 0
        ? "no-nvml"
        : !nvidiaSmi.available
          ? "no-nvidia-smi"
          : mismatch || gpuCountMatch === false || onlyNvml.length > 0
            ? "mismatch"
            : "pass";
  return {
    schemaVersion: GPU_CHECK_SCHEMA_VERSION,
    status,
    problems,
    detect,
    plan,
    nvidiaSmi: {
      available: nvidiaSmi.available,
      detail: nvidiaSmi.detail,
      gpuCount: nvidiaSmi.readings.length,
    },
    comparison: { gpuCountMatch, gpus, onlyNvml, onlyNvidiaSmi },
  };
}
