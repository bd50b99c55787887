/**
 * The seed's DegradationStrategy, CPU part: instances with no GPU serve a model only when the GPUs cannot.
 * A CPU instance is a candidate for a request when fallback is on, the model is small enough to answer at a
 * useful speed on a CPU, and every GPU instance that has the model is either unavailable (unhealthy, open,
 * draining) or saturated: at least `gpuLoadPercent` of its slots busy *and* a backlog for the model at least
 * as long as the GPUs' combined capacity (a brief full moment is better waited out on a GPU than served at
 * CPU speed). Otherwise CPU instances are not candidates at all, so no strategy can pick one.
 */
import { isEligible, type Candidate } from "./types.js";

/** CPU-fallback settings ([Traffic]). */
export interface CpuFallbackSettings {
  enabled: boolean;
  maxModelBytes: number;
  /** 1–100. */
  gpuLoadPercent: number;
}

/** Whether the GPU candidates that have the model can serve it now (no fallback needed). */
export function gpusCanServe(gpus: readonly Candidate[], settings: CpuFallbackSettings): boolean {
  const available = gpus.filter((c) => c.hasModel && isEligible({ ...c, inFlight: 0 }));
  if (available.length === 0) return false;
  const saturated = available.every((c) => c.inFlight >= (c.capacity * settings.gpuLoadPercent) / 100);
  if (!saturated) return true;
  const capacity = available.reduce((sum, c) => sum + c.capacity, 0);
  const backlog = Math.max(0, ...gpus.map((c) => c.queueDepth));
  return backlog < capacity;
}

/** The candidates a request may use: CPU ones only when fallback applies (see the file comment). */
export function applyCpuFallback(
  candidates: readonly Candidate[],
  isCpu: (id: string) => boolean,
  modelBytes: number,
  settings: CpuFallbackSettings,
): { candidates: Candidate[]; fallback: boolean } {
  const gpus = candidates.filter((c) => !isCpu(c.id));
  if (gpus.length === candidates.length) return { candidates: [...candidates], fallback: false };
  const allowed = settings.enabled && modelBytes <= settings.maxModelBytes && !gpusCanServe(gpus, settings);
  return allowed ? { candidates: [...candidates], fallback: true } : { candidates: gpus, fallback: false };
}
