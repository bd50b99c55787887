/**
 * Where the GPU monitor's readings come from: an NVML session kept open between polls (cheap reads), or,
 * without NVML, the vendor tools run at each poll (nvidia-smi, amd-smi, rocm-smi).
 */
import { detectGpus } from "./detect.js";
import { defaultNvmlLibraryPath } from "./detect-nvidia.js";
import { completeGpuInfo } from "./gpu-info.js";
import { openNvml } from "./nvml-binding.js";
import type { RunCommand } from "./run-command.js";
import type { GpuInfo, GpuSource } from "./types.js";

/** Role: reads every GPU now. Throws when the backend fails as a whole (driver gone, tool hung). */
export interface GpuPoller {
  /** The backend the readings come from. */
  readonly source: GpuSource;
  /** Every GPU the backend sees, all of them (visibility variables are for the instances, not for us). */
  poll(): Promise<GpuInfo[]>;
  close(): Promise<void>;
}

/** Inputs of openGpuPoller; tests point it at a fake NVML or scripted tools. */
export interface GpuPollerOptions {
  /** NVML library; default the platform's; null skips NVML. */
  nvmlLibraryPath?: string | null;
  runCommand?: RunCommand;
  commandTimeoutMs?: number;
}

/** A poller over the backend that finds GPUs here, or null on a machine without any. */
export async function openGpuPoller(options: GpuPollerOptions = {}): Promise<GpuPoller | null> {
  const nvmlPath =
    options.nvmlLibraryPath === undefined
      ? defaultNvmlLibraryPath(process.platform)
      : options.nvmlLibraryPath;
  if (nvmlPath !== null) {
    const nvml = await nvmlPoller(nvmlPath);
    if (nvml) return nvml;
  }
  const detect = (): Promise<GpuInfo[]> =>
    detectGpus({
      env: {},
      nvmlLibraryPath: null,
      ...(options.runCommand ? { runCommand: options.runCommand } : {}),
      ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
    }).then((r) => r.gpus);
  const first = await detect();
  const source = first[0]?.source;
  if (source === undefined) return null;
  return {
    source,
    async poll() {
      const gpus = await detect();
      // A tool that printed nothing usable is a failed poll, not "every GPU is gone".
      if (gpus.length === 0) throw new Error(`${source} reported no GPU`);
      return gpus;
    },
    close: async () => {},
  };
}

/** An NVML session with at least one device, or undefined when NVML is missing or sees none. */
async function nvmlPoller(libraryPath: string): Promise<GpuPoller | undefined> {
  let session;
  try {
    session = await openNvml(libraryPath);
  } catch {
    return undefined; // not installed or driver not loaded: the tools may still work
  }
  const read = (): GpuInfo[] =>
    session
      .readDevices()
      .map((r) =>
        completeGpuInfo({ ...r, driverVersion: session.driverVersion, cudaVersion: session.cudaVersion }),
      );
  let first: GpuInfo[] = [];
  try {
    first = read();
  } catch {
    first = [];
  }
  if (first.length === 0) {
    await session.close();
    return undefined;
  }
  return { source: "nvml", poll: async () => read(), close: () => session.close() };
}
