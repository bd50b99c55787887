/** The provisioning plan: what `ollama-fleet plan` prints and what the supervisor starts. */
import type { GpuVendor } from "../gpu/types.js";

/** The device an instance is pinned to; `cpu` runs with no GPU visible. */
export type PlannedDevice =
  | {
      kind: "gpu";
      vendor: GpuVendor;
      /** Index at plan time (informative only: pin by uuid). */
      index: number;
      /** Stable identity given to CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES. */
      uuid: string;
      /** Marketing name, e.g. "NVIDIA GeForce RTX 4090". */
      name: string;
      /** Device memory in bytes. */
      memoryTotalBytes: number;
    }
  | { kind: "cpu" };

/** One model the plan assigns to an instance, with the reason it was put there. */
export interface PlannedModel {
  /** Normalised model name ("llama3.2:3b"). */
  name: string;
  /** Expected resident size in bytes (weights + KV at the planned context), if known. */
  sizeBytes: number | undefined;
  /** Load this model at start (in this order, one at a time per GPU). */
  preload: boolean;
  /** Why the planner placed it here, one sentence. */
  reason: string;
  /**
   * Position in its device's preload sequence (1 loads first), set when `preload` is true: the loads on
   * one GPU run one at a time in this order, across all of that GPU's instances.
   */
  preloadStep?: number;
}

/** One Ollama instance the plan asks for. */
export interface PlannedInstance {
  /** Stable id, e.g. "gpu0-11500" (same rule as InstanceConfig.id). */
  id: string;
  /** What it runs on. */
  device: PlannedDevice;
  /** 127.0.0.1 port it listens on (OLLAMA_HOST). */
  port: number;
  /** Memory this instance may use for models, bytes. */
  memoryLimitBytes: number;
  /** OLLAMA_NUM_PARALLEL. */
  numParallel: number;
  /** Gateway-side cap on concurrent requests (usually numParallel). */
  maxConcurrentRequests: number;
  /** OLLAMA_MAX_LOADED_MODELS. */
  maxLoadedModels: number;
  /** Models assigned, preload order first. */
  models: PlannedModel[];
  /** Why this instance exists with these numbers, one or more sentences. */
  reasons: string[];
  /**
   * Set for a YAML entry whose `url` points at another host: the gateway attaches to it and must not
   * launch it. Absent for instances to launch locally.
   */
  externalUrl?: string;
}

/** The whole plan. */
export interface ProvisionPlan {
  /** auto: planned from the detected devices; yaml: the gpu_instances file given, reflected as is. */
  mode?: "auto" | "yaml";
  instances: PlannedInstance[];
  /** System memory kept free for the OS and the gateway, bytes. */
  systemMemoryReserveBytes: number;
  /** Configured models that could not be placed anywhere, with why. */
  unplaced: { name: string; reason: string }[];
  /** Things the user should know. */
  warnings: string[];
}
