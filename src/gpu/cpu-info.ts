/** The CPU and system memory, for the CPU-only inventory and the planner's system-memory reserve. */
import os from "node:os";
import type { CpuInfo } from "./types.js";

/** The parts of node:os we read; injected by tests. */
export interface SystemProbe {
  /** As os.cpus(). */
  cpus(): { model: string }[];
  /** As os.availableParallelism(): the cores this process may use (respects affinity). */
  availableParallelism(): number;
  /** As os.totalmem(). */
  totalmem(): number;
  /** As os.freemem(). */
  freemem(): number;
}

/** The real machine. */
export function osSystemProbe(): SystemProbe {
  return {
    cpus: () => os.cpus(),
    availableParallelism: () => os.availableParallelism(),
    totalmem: () => os.totalmem(),
    freemem: () => os.freemem(),
  };
}

/** CPU model, usable cores and system memory. */
export function readCpuInfo(probe: SystemProbe): CpuInfo {
  const cpus = probe.cpus();
  return {
    model: cpus[0]?.model.trim() ?? "",
    logicalCores: Math.max(1, probe.availableParallelism()),
    memoryTotalBytes: probe.totalmem(),
    memoryAvailableBytes: probe.freemem(),
  };
}
