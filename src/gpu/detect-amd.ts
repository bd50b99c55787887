/** AMD detection: amd-smi (ROCm ≥ 6) first, rocm-smi when amd-smi is missing or fails. */
import { amdSmiCommands, parseAmdSmi } from "./amd-smi.js";
import { commandFailure, found, type VendorDetection } from "./detect-nvidia.js";
import { parseRocmSmiJson, rocmSmiArgs } from "./rocm-smi.js";
import type { RunCommand } from "./run-command.js";
import type { DetectionAttempt } from "./types.js";

/** Tries amd-smi, then rocm-smi; a tool that ran and found no GPU is final. */
export async function detectAmd(run: RunCommand, timeoutMs: number): Promise<VendorDetection> {
  const attempts: DetectionAttempt[] = [];
  const commands = amdSmiCommands();
  const statics = await run("amd-smi", commands.static, { timeoutMs });
  if (statics.exitCode === 0) {
    // list (UUIDs) and metric (live figures) are extras: without them the GPUs are still known.
    const [list, metric] = await Promise.all([
      run("amd-smi", commands.list, { timeoutMs }),
      run("amd-smi", commands.metric, { timeoutMs }),
    ]);
    const parsed = parseAmdSmi({
      static: statics.stdout,
      list: list.exitCode === 0 ? list.stdout : undefined,
      metric: metric.exitCode === 0 ? metric.stdout : undefined,
    });
    if (parsed.ok) {
      attempts.push(found("amd-smi", parsed.readings.length, "amd-smi"));
      attempts.push({ source: "rocm-smi", outcome: "skipped", detail: "amd-smi answered" });
      return { readings: parsed.readings, attempts, warnings: [] };
    }
    attempts.push({ source: "amd-smi", outcome: "failed", detail: parsed.error });
  } else {
    attempts.push(commandFailure("amd-smi", statics));
  }
  const rocm = await run("rocm-smi", rocmSmiArgs(), { timeoutMs });
  const parsed = parseRocmSmiJson(rocm.stdout);
  if (parsed.ok && (rocm.exitCode === 0 || parsed.readings.length > 0)) {
    attempts.push(found("rocm-smi", parsed.readings.length, "rocm-smi"));
    return { readings: parsed.readings, attempts, warnings: [] };
  }
  attempts.push(
    rocm.exitCode === 0 && !parsed.ok
      ? { source: "rocm-smi", outcome: "failed", detail: parsed.error }
      : commandFailure("rocm-smi", rocm),
  );
  return { readings: [], attempts, warnings: [] };
}
