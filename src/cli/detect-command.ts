/** `ollama-fleet detect [--json]`: the GPUs this machine offers, as a table or as documented JSON. */
import { detectGpus, type DetectGpusOptions } from "../gpu/detect.js";
import { buildInventoryReport, formatInventoryTable } from "../gpu/inventory-report.js";

/** Flags of `detect` as commander parses them. */
export interface DetectFlags {
  /** Print the JSON document (docs/gpu-detection.md) instead of the table. */
  json?: boolean;
  /** NVML library to load instead of libnvidia-ml.so.1 (e.g. a test double). */
  nvmlLibrary?: string;
}

/** What runDetect talks to; the defaults are the real process and machine. */
export interface DetectDeps {
  /** Where output goes; default process.stdout. */
  write?: (text: string) => void;
  /** Detection options beyond env and the NVML path (tests inject runCommand here). */
  detectOptions?: Partial<DetectGpusOptions>;
}

/** Detects and prints; never fails for missing GPUs, drivers or tools (a CPU-only answer is printed). */
export async function runDetect(flags: DetectFlags, deps: DetectDeps = {}): Promise<void> {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  const inventory = await detectGpus({
    env: process.env,
    ...(flags.nvmlLibrary === undefined ? {} : { nvmlLibraryPath: flags.nvmlLibrary }),
    ...deps.detectOptions,
  });
  const report = buildInventoryReport(inventory);
  write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatInventoryTable(report));
}
