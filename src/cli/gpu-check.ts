/**
 * The real-GPU check run by scripts/gpu-check.sh: `detect --json` and `plan --json` through the real CLI,
 * nvidia-smi's figures for the same GPUs, and one JSON report comparing them (gpu-check-report.ts).
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import type { InventoryReport } from "../gpu/inventory-report.js";
import {
  nvidiaSmiArgs,
  NVIDIA_SMI_FIELDS,
  parseNvidiaSmiCsv,
  rejectedComputeCap,
} from "../gpu/nvidia-smi.js";
import { describeCommandFailure, runCommand as realRunCommand, type RunCommand } from "../gpu/run-command.js";
import type { PlanReport } from "../supervisor/plan-report.js";
import { buildGpuCheckReport, type GpuCheckReport, type NvidiaSmiOutcome } from "./gpu-check-report.js";

/** What the check runs and with what. */
export interface GpuCheckOptions {
  /** NVML library for detect and plan (default: the system's). */
  nvmlLibrary?: string;
  /** nvidia-smi to run; default "nvidia-smi" from PATH. */
  nvidiaSmi?: string;
  /** Runs the commands; default spawns them. */
  runCommand?: RunCommand;
  /** Per-command timeout; default 60 s (a first NVML init on a big machine can be slow). */
  timeoutMs?: number;
}

const CLI = fileURLToPath(new URL("./main.js", import.meta.url));

/** Runs `ollama-fleet <args>` and parses its JSON, or returns the problem. */
async function cliJson<T>(args: string[], run: RunCommand, timeoutMs: number): Promise<T | string> {
  const result = await run(process.execPath, [CLI, ...args], { timeoutMs });
  if (result.exitCode !== 0) return describeCommandFailure(`ollama-fleet ${args[0] ?? ""}`, result);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    return `ollama-fleet ${args[0] ?? ""} printed something that is not JSON`;
  }
}

/** nvidia-smi's readings, retrying without compute_cap for drivers older than 510. */
async function askNvidiaSmi(file: string, run: RunCommand, timeoutMs: number): Promise<NvidiaSmiOutcome> {
  let fields: readonly string[] = NVIDIA_SMI_FIELDS;
  let result = await run(file, nvidiaSmiArgs(true), { timeoutMs });
  if (result.exitCode !== 0 && rejectedComputeCap(`${result.stdout}\n${result.stderr}`)) {
    fields = NVIDIA_SMI_FIELDS.filter((f) => f !== "compute_cap");
    result = await run(file, nvidiaSmiArgs(false), { timeoutMs });
  }
  if (result.exitCode !== 0)
    return { available: false, detail: describeCommandFailure(file, result), readings: [] };
  const parsed = parseNvidiaSmiCsv(result.stdout, fields);
  const problems = parsed.problems.length > 0 ? `; unreadable lines: ${parsed.problems.join(" | ")}` : "";
  return {
    available: true,
    detail: `found ${parsed.readings.length} GPU(s)${problems}`,
    readings: parsed.readings,
  };
}

/** Runs detect, plan and nvidia-smi and compares them. */
export async function runGpuCheck(options: GpuCheckOptions = {}): Promise<GpuCheckReport> {
  const run = options.runCommand ?? realRunCommand;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nvml = options.nvmlLibrary === undefined ? [] : ["--nvml-library", options.nvmlLibrary];
  const [detect, plan, nvidiaSmi] = await Promise.all([
    cliJson<InventoryReport>(["detect", "--json", ...nvml], run, timeoutMs),
    cliJson<PlanReport>(["plan", "--json", "--no-probe", ...nvml], run, timeoutMs),
    askNvidiaSmi(options.nvidiaSmi ?? "nvidia-smi", run, timeoutMs),
  ]);
  const problems = [detect, plan].filter((r): r is string => typeof r === "string");
  return buildGpuCheckReport({
    detect: typeof detect === "string" ? null : detect,
    plan: typeof plan === "string" ? null : plan,
    nvidiaSmi,
    problems,
  });
}

/** Exit status: 0 pass (or nothing to compare), 1 mismatch, 2 detect or plan failed. */
export function exitStatus(report: GpuCheckReport): number {
  return report.status === "failed" ? 2 : report.status === "mismatch" ? 1 : 0;
}

/** `node dist/src/cli/gpu-check.js [--nvml-library PATH] [--nvidia-smi PATH]`. */
async function main(argv: string[]): Promise<void> {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const nvmlLibrary = value("--nvml-library");
  const nvidiaSmi = value("--nvidia-smi");
  const report = await runGpuCheck({
    ...(nvmlLibrary === undefined ? {} : { nvmlLibrary }),
    ...(nvidiaSmi === undefined ? {} : { nvidiaSmi }),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = exitStatus(report);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
