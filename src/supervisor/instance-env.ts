/**
 * The environment of one supervised `ollama serve`: the device it may see, where it listens, and the
 * scheduler settings of its plan. Pure: the caller passes the base environment.
 */
import type { PlannedInstance } from "./plan-types.js";

/** Settings shared by every supervised instance. */
export interface InstanceEnvSettings {
  /** OLLAMA_MODELS: one model store for the whole fleet; undefined keeps Ollama's default (~/.ollama/models). */
  modelsDir: string | undefined;
  /** OLLAMA_KEEP_ALIVE ("5m", "-1", "0"); undefined keeps Ollama's default. */
  keepAlive: string | undefined;
}

/** Per-instance values that differ from the plan after a recovery (fewer slots after an out-of-memory). */
export interface InstanceEnvOverrides {
  numParallel?: number;
}

/** Every variable that selects devices; all are set so that no inherited value widens an instance's view. */
export const DEVICE_VARIABLES = [
  "CUDA_VISIBLE_DEVICES",
  "HIP_VISIBLE_DEVICES",
  "ROCR_VISIBLE_DEVICES",
] as const;

/**
 * The variables that pin an instance to its device. NVIDIA: CUDA_VISIBLE_DEVICES=<uuid> (the CUDA runtime
 * accepts UUIDs, so reordering cannot move the instance). AMD: ROCR_VISIBLE_DEVICES=<uuid> (the ROCm
 * runtime accepts UUIDs) and HIP_VISIBLE_DEVICES=0, the only device ROCR leaves visible. The other
 * vendor's devices and, for a CPU instance, every device are hidden with "-1", as Ollama's docs advise.
 */
export function deviceEnv(
  device: PlannedInstance["device"],
): Record<(typeof DEVICE_VARIABLES)[number], string> {
  if (device.kind === "cpu") {
    return { CUDA_VISIBLE_DEVICES: "-1", HIP_VISIBLE_DEVICES: "-1", ROCR_VISIBLE_DEVICES: "-1" };
  }
  if (device.vendor === "nvidia") {
    return { CUDA_VISIBLE_DEVICES: device.uuid, HIP_VISIBLE_DEVICES: "-1", ROCR_VISIBLE_DEVICES: "-1" };
  }
  return { CUDA_VISIBLE_DEVICES: "-1", HIP_VISIBLE_DEVICES: "0", ROCR_VISIBLE_DEVICES: device.uuid };
}

/** The full environment of an instance: the base (the gateway's own) with the instance's settings on top. */
export function instanceEnv(
  instance: PlannedInstance,
  settings: InstanceEnvSettings,
  base: NodeJS.ProcessEnv,
  overrides: InstanceEnvOverrides = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...deviceEnv(instance.device) };
  env.OLLAMA_HOST = `127.0.0.1:${instance.port}`;
  env.OLLAMA_NUM_PARALLEL = String(overrides.numParallel ?? instance.numParallel);
  env.OLLAMA_MAX_LOADED_MODELS = String(instance.maxLoadedModels);
  if (settings.modelsDir !== undefined) env.OLLAMA_MODELS = settings.modelsDir;
  if (settings.keepAlive !== undefined) env.OLLAMA_KEEP_ALIVE = settings.keepAlive;
  // One server per device: a spread setting inherited from the gateway's shell would defeat the pinning.
  delete env.OLLAMA_SCHED_SPREAD;
  return env;
}
