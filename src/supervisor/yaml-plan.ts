/**
 * The plan when gpu_instances is given in YAML: the file overrides the automatic policy, so the plan
 * reflects it entry by entry, filling only what the file leaves out (memory split, slots, preload order).
 */
import type { ProvisioningSettings } from "../config/provisioning-schema.js";
import type { InstanceConfig } from "../config/schema.js";
import type { GpuInventoryResult } from "../gpu/types.js";
import { normalizeModelName } from "../util/model-name.js";
import { assignPreloadSteps } from "./preload-steps.js";
import { formatGib, knownModelBytes, residentBytes } from "./model-traits.js";
import type { PlannedDevice, PlannedInstance, PlannedModel, ProvisionPlan } from "./plan-types.js";
import { autoNumParallel, type ModelCatalog } from "./plan-policy.js";

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** The device of one entry: the detected GPU with that index, else the index itself as its identity. */
function deviceOf(entry: InstanceConfig, inventory: GpuInventoryResult, warnings: string[]): PlannedDevice {
  if (entry.gpuId < 0) return { kind: "cpu" };
  const gpu = inventory.gpus.find((g) => g.id === entry.gpuId);
  if (gpu !== undefined) {
    const { vendor, id: index, uuid, name, memoryTotalBytes } = gpu;
    return { kind: "gpu", vendor, index, uuid, name, memoryTotalBytes };
  }
  warnings.push(
    `${entry.id}: gpu_id ${entry.gpuId} is not among the detected GPUs; it is pinned by index ` +
      `(CUDA_VISIBLE_DEVICES=${entry.gpuId}) and its memory is unknown.`,
  );
  const name = entry.name;
  return {
    kind: "gpu",
    vendor: "nvidia",
    index: entry.gpuId,
    uuid: String(entry.gpuId),
    name,
    memoryTotalBytes: 0,
  };
}

/** Memory of an entry: memory_limit, else its device's memory minus the reserve, split among its entries. */
function memoryOf(
  entry: InstanceConfig,
  device: PlannedDevice,
  sharing: number,
  inventory: GpuInventoryResult,
  p: ProvisioningSettings,
): { bytes: number; why: string } {
  if (entry.memoryLimitBytes !== undefined) {
    return { bytes: entry.memoryLimitBytes, why: "memory_limit in the YAML entry" };
  }
  if (device.kind === "cpu") {
    const bytes = Math.max(0, inventory.cpu.memoryTotalBytes - p.systemMemoryReserveBytes);
    return { bytes, why: "system memory minus SystemMemoryReserveBytes (no memory_limit given)" };
  }
  const bytes = Math.max(0, Math.floor((device.memoryTotalBytes - p.gpuMemoryReserveBytes) / sharing));
  return {
    bytes,
    why: `the GPU's memory minus GpuMemoryReserveBytes, split ${sharing} way(s) (no memory_limit given)`,
  };
}

/** Reflects the YAML entries as a plan; PlannedModels absent from every entry are listed as unplaced. */
export function planFromYaml(
  inventory: GpuInventoryResult,
  entries: readonly InstanceConfig[],
  p: ProvisioningSettings,
  catalog: ModelCatalog | undefined,
): ProvisionPlan {
  const warnings: string[] = [];
  const weights = new Map((p.plannedModels ?? []).map((m) => [normalizeModelName(m.name), m]));
  const instances = entries.map((entry): PlannedInstance => {
    const device = deviceOf(entry, inventory, warnings);
    const sharing = entries.filter((e) => e.gpuId === entry.gpuId).length;
    const memory = memoryOf(entry, device, sharing, inventory, p);
    const numParallel =
      p.numParallel || entry.maxConcurrentRequests || autoNumParallel(memory.bytes, device.kind === "cpu");
    let used = 0;
    const models = entry.models.map((raw): PlannedModel => {
      const name = normalizeModelName(raw);
      const fileBytes =
        weights.get(name)?.sizeBytes ?? catalog?.get(name)?.sizeBytes ?? knownModelBytes(name);
      const sizeBytes = fileBytes === undefined ? undefined : residentBytes(fileBytes, numParallel);
      const preload = used + (sizeBytes ?? 0) <= memory.bytes;
      if (preload) used += sizeBytes ?? 0;
      if (sizeBytes !== undefined && sizeBytes > memory.bytes) {
        warnings.push(
          `${entry.id}: ${name} needs ${formatGib(sizeBytes)} loaded, more than its ${formatGib(memory.bytes)}.`,
        );
      }
      const reason = preload
        ? "Listed under this instance in gpu_instances (the YAML file overrides the automatic plan)."
        : "Listed under this instance in gpu_instances; not preloaded, since it does not fit beside the models listed before it.";
      return { name, sizeBytes, preload, reason };
    });
    const url = new URL(entry.url);
    const external = LOCAL_HOSTS.has(url.hostname) ? {} : { externalUrl: entry.url };
    const loaded = models.filter((m) => m.preload).length;
    return {
      id: entry.id,
      device,
      port: entry.port,
      memoryLimitBytes: memory.bytes,
      numParallel,
      maxConcurrentRequests: entry.maxConcurrentRequests ?? numParallel,
      maxLoadedModels: p.maxLoadedModels || Math.max(1, loaded),
      models,
      reasons: [
        `From gpu_instances in the YAML file, which overrides the automatic plan.`,
        `Memory limit ${formatGib(memory.bytes)}: ${memory.why}.`,
        entry.maxConcurrentRequests === undefined
          ? `OLLAMA_NUM_PARALLEL ${numParallel} and max_concurrent_requests the same (not given in the entry).`
          : `OLLAMA_NUM_PARALLEL ${numParallel}: max_concurrent_requests of the entry.`,
        ...(external.externalUrl === undefined ? [] : [`Runs at ${entry.url}: attached, not launched.`]),
      ],
      ...external,
    };
  });
  const listed = new Set(instances.flatMap((i) => i.models.map((m) => m.name)));
  const unplaced = [...weights.keys()]
    .filter((name) => !listed.has(name))
    .map((name) => ({
      name,
      reason: "Not placed: no gpu_instances entry lists it, and the YAML file overrides the plan.",
    }));
  assignPreloadSteps(instances, (name) => weights.get(name)?.weight ?? 1);
  return {
    mode: "yaml",
    instances,
    systemMemoryReserveBytes: p.systemMemoryReserveBytes,
    unplaced,
    warnings,
  };
}
