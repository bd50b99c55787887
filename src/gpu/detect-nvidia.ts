/** NVIDIA detection: NVML through koffi first, nvidia-smi when NVML cannot be loaded. */
import type { RawGpuReading } from "./gpu-info.js";
import { NvmlUnavailableError, openNvml } from "./nvml-binding.js";
import {
  nvidiaSmiArgs,
  NVIDIA_SMI_FIELDS,
  parseCudaVersionBanner,
  parseNvidiaSmiCsv,
  rejectedComputeCap,
} from "./nvidia-smi.js";
import { describeCommandFailure, type CommandResult, type RunCommand } from "./run-command.js";
import type { DetectionAttempt } from "./types.js";

/** What one vendor's detection found. */
export interface VendorDetection {
  /** Raw readings of every device found (before visibility filtering). */
  readings: RawGpuReading[];
  /** What each backend did. */
  attempts: DetectionAttempt[];
  /** Things worth telling the user. */
  warnings: string[];
}

/** The NVML library to load by default on this platform, or null where there is none. */
export function defaultNvmlLibraryPath(platform: NodeJS.Platform): string | null {
  if (platform === "linux") return "libnvidia-ml.so.1";
  if (platform === "win32") return "nvml.dll";
  return null;
}

/** Tries NVML, then nvidia-smi; NVML answering "no devices" is final (nvidia-smi would only agree). */
export async function detectNvidia(
  nvmlLibraryPath: string | null,
  run: RunCommand,
  timeoutMs: number,
): Promise<VendorDetection> {
  const attempts: DetectionAttempt[] = [];
  if (nvmlLibraryPath === null) {
    attempts.push({ source: "nvml", outcome: "skipped", detail: "no NVML library on this platform" });
  } else {
    try {
      const readings = await readNvml(nvmlLibraryPath);
      attempts.push(found("nvml", readings.length, nvmlLibraryPath));
      attempts.push({ source: "nvidia-smi", outcome: "skipped", detail: "NVML answered" });
      return { readings, attempts, warnings: [] };
    } catch (err) {
      if (!(err instanceof NvmlUnavailableError)) throw err;
      attempts.push({ source: "nvml", outcome: err.missing ? "unavailable" : "failed", detail: err.message });
    }
  }
  const smi = await readNvidiaSmi(run, timeoutMs);
  attempts.push(smi.attempt);
  return { readings: smi.readings, attempts, warnings: smi.warnings };
}

/** Opens NVML, reads every device, and always shuts NVML down again. */
async function readNvml(libraryPath: string): Promise<RawGpuReading[]> {
  const session = await openNvml(libraryPath);
  try {
    return session
      .readDevices()
      .map((r) => ({ ...r, driverVersion: session.driverVersion, cudaVersion: session.cudaVersion }));
  } finally {
    await session.close();
  }
}

/** nvidia-smi's CSV query, retried without compute_cap for drivers older than R510. */
async function readNvidiaSmi(
  run: RunCommand,
  timeoutMs: number,
): Promise<{ readings: RawGpuReading[]; attempt: DetectionAttempt; warnings: string[] }> {
  let fields: readonly string[] = NVIDIA_SMI_FIELDS;
  let result = await run("nvidia-smi", nvidiaSmiArgs(true), { timeoutMs });
  if (result.exitCode !== 0 && rejectedComputeCap(`${result.stdout}\n${result.stderr}`)) {
    fields = NVIDIA_SMI_FIELDS.filter((f) => f !== "compute_cap");
    result = await run("nvidia-smi", nvidiaSmiArgs(false), { timeoutMs });
  }
  const parsed = parseNvidiaSmiCsv(result.stdout, fields);
  // nvidia-smi exits non-zero when one GPU is lost yet still lists the others: keep those.
  if (parsed.readings.length === 0) {
    const attempt: DetectionAttempt =
      result.exitCode === 0
        ? { source: "nvidia-smi", outcome: "empty", detail: "no NVIDIA GPU found" }
        : commandFailure("nvidia-smi", result);
    return { readings: [], attempt, warnings: [] };
  }
  const warnings = [...parsed.problems, ...result.stderr.split(/\r?\n/)]
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((l) => `nvidia-smi: ${l}`);
  // The CSV query has no CUDA version field; the default report's banner has it.
  const banner = await run("nvidia-smi", [], { timeoutMs });
  const cudaVersion = banner.exitCode === 0 ? parseCudaVersionBanner(banner.stdout) : null;
  const readings = parsed.readings.map((r) => ({ ...r, cudaVersion }));
  return { readings, attempt: found("nvidia-smi", readings.length, "nvidia-smi"), warnings };
}

/** The attempt record of a backend that ran. */
export function found(source: DetectionAttempt["source"], count: number, what: string): DetectionAttempt {
  return count === 0
    ? { source, outcome: "empty", detail: `${what}: no GPU found` }
    : { source, outcome: "used", detail: `${what}: ${count} GPU${count === 1 ? "" : "s"}` };
}

/** The attempt record of a command that gave nothing usable: unavailable when not installed. */
export function commandFailure(source: DetectionAttempt["source"], result: CommandResult): DetectionAttempt {
  const outcome = result.failure === "not-found" ? "unavailable" : "failed";
  return { source, outcome, detail: describeCommandFailure(source, result) };
}
