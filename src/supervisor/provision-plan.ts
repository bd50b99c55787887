/**
 * The provisioning plan, pure: how many Ollama instances each detected GPU carries (the seed's policy,
 * thresholds from [Provisioning]), their memory, ports and slots, and which models each preloads.
 * An explicit gpu_instances YAML file overrides all of it; the plan then reflects the file.
 */
import type {
  ModelPrecision,
  PlannedModelSetting,
  ProvisioningSettings,
} from "../config/provisioning-schema.js";
import type { InstanceConfig } from "../config/schema.js";
import { relativeDecodeSpeeds } from "../gpu/capability-db.js";
import { getGpuCapabilities } from "../gpu/gpu-capabilities.js";
import { validateGpuHealth } from "../gpu/gpu-health.js";
import type { GpuInfo, GpuInventoryResult } from "../gpu/types.js";
import { normalizeModelName } from "../util/model-name.js";
import { placeModels, type PlacementModel, type PlacementSlot } from "./model-placement.js";
import {
  formatGb,
  formatGib,
  knownModelBytes,
  modelFamily,
  residentBytes,
  tagPrecision,
} from "./model-traits.js";
import type { PlannedDevice, PlannedInstance, ProvisionPlan } from "./plan-types.js";
import { autoNumParallel, instancesForMemory, type ModelCatalog } from "./plan-policy.js";
import { assignPreloadSteps } from "./preload-steps.js";
import { planFromYaml } from "./yaml-plan.js";

/** The sizing rules and the catalog shape, for callers that import only the planner. */
export { autoNumParallel, instancesForMemory, type ModelCatalog } from "./plan-policy.js";

/** The settings the planner reads: a FleetConfig fits. */
export interface PlanSettings {
  /** [Provisioning]. */
  provisioning: ProvisioningSettings;
  /** gpu_instances from YAML; non-empty overrides the automatic plan. */
  instances: readonly InstanceConfig[];
}

/** A device the plan splits into instances. */
interface DeviceLayout {
  device: PlannedDevice;
  label: string;
  speed: number;
  usableBytes: number;
  count: number;
  precisions: ReadonlySet<ModelPrecision>;
  reasons: string[];
}

/** The size on disk and where it came from: PlannedModels' @size, the instances' tags, the shipped table. */
function resolveModels(settings: ProvisioningSettings, catalog: ModelCatalog | undefined): PlacementModel[] {
  return (settings.plannedModels ?? []).map((m: PlannedModelSetting): PlacementModel => {
    const name = normalizeModelName(m.name);
    return {
      name,
      weight: m.weight,
      fileBytes: m.sizeBytes ?? catalog?.get(name)?.sizeBytes ?? knownModelBytes(name),
      precision: m.precision ?? tagPrecision(name),
      family: modelFamily(name),
    };
  });
}

/** The per-GPU layouts (healthy GPUs only), before big models may lower an instance count. */
function gpuLayouts(
  gpus: readonly GpuInfo[],
  settings: ProvisioningSettings,
  warnings: string[],
): DeviceLayout[] {
  const caps = gpus.map(getGpuCapabilities);
  const speeds = relativeDecodeSpeeds(caps);
  const thresholds = settings.instanceThresholdsGib;
  const layouts: DeviceLayout[] = [];
  gpus.forEach((gpu, i) => {
    const label = `GPU ${gpu.id} (${gpu.name})`;
    const health = validateGpuHealth(gpu);
    if (health.status === "unhealthy") {
      warnings.push(`${label} is left out: ${health.problems.map((p) => p.message).join("; ")}.`);
      return;
    }
    if (health.status === "degraded") {
      warnings.push(`${label} is degraded: ${health.problems.map((p) => p.message).join("; ")}.`);
    }
    const usableBytes = gpu.memoryTotalBytes - settings.gpuMemoryReserveBytes;
    if (usableBytes <= 0) {
      warnings.push(`${label} is left out: its memory is not larger than GpuMemoryReserveBytes.`);
      return;
    }
    const count = instancesForMemory(gpu.memoryTotalBytes, thresholds);
    const gib = (gpu.memoryTotalBytes / 1024 ** 3).toFixed(1);
    const rule =
      thresholds.length === 0
        ? "InstanceThresholdsGib is empty: one instance per GPU"
        : `InstanceThresholdsGib ${thresholds.join(",")}: ${count - 1} threshold(s) reached`;
    const cap = caps[i];
    const speed = speeds.get(gpu.uuid) ?? 1;
    const precisions = new Set<ModelPrecision>();
    if (gpu.supportsFloat16) precisions.add("fp16");
    if (gpu.supportsBFloat16) precisions.add("bf16");
    if (gpu.supportsFp8) precisions.add("fp8");
    layouts.push({
      device: {
        kind: "gpu",
        vendor: gpu.vendor,
        index: gpu.id,
        uuid: gpu.uuid,
        name: gpu.name,
        memoryTotalBytes: gpu.memoryTotalBytes,
      },
      label,
      speed,
      usableBytes,
      count,
      precisions,
      reasons: [
        `${label} has ${gib} GiB: ${count} instance(s) (${rule}).`,
        `Speed ${speed.toFixed(2)}× the fastest GPU here, from ${cap?.memoryBandwidthGBps ?? 0} GB/s ` +
          `memory bandwidth (${cap?.specNote ?? "unknown"}).`,
      ],
    });
  });
  return layouts;
}

/** The CPU-only layout: one instance on system memory minus the reserve. */
function cpuLayout(
  inventory: GpuInventoryResult,
  settings: ProvisioningSettings,
  warnings: string[],
): DeviceLayout {
  const usableBytes = Math.max(0, inventory.cpu.memoryTotalBytes - settings.systemMemoryReserveBytes);
  if (usableBytes === 0) {
    warnings.push(
      "System memory is not larger than SystemMemoryReserveBytes: the CPU instance has no room for models.",
    );
  }
  return {
    device: { kind: "cpu" },
    label: "the CPU",
    speed: 1,
    usableBytes,
    count: 1,
    precisions: new Set<ModelPrecision>(["fp16", "bf16"]),
    reasons: [
      `No GPU is visible: one CPU instance with ${formatGib(usableBytes)}, the system memory ` +
        `(${formatGib(inventory.cpu.memoryTotalBytes)}) minus SystemMemoryReserveBytes ` +
        `(${formatGib(settings.systemMemoryReserveBytes)}).`,
    ],
  };
}

/** Slot size and parallelism of one layout at `count` instances. */
function slotShape(layout: DeviceLayout, count: number, settings: ProvisioningSettings) {
  const memoryLimitBytes = Math.floor(layout.usableBytes / count);
  const onCpu = layout.device.kind === "cpu";
  return { memoryLimitBytes, numParallel: settings.numParallel || autoNumParallel(memoryLimitBytes, onCpu) };
}

/**
 * A model no instance can hold but a whole GPU could: that GPU gets fewer instances, the fewest
 * fewer among the GPUs that would do (ties: the faster), so every model finds a home when one exists.
 */
function makeRoomForBigModels(
  layouts: DeviceLayout[],
  models: readonly PlacementModel[],
  settings: ProvisioningSettings,
): void {
  const byDemand = [...models].sort((a, b) => b.weight - a.weight);
  for (const model of byDemand) {
    const fileBytes = model.fileBytes;
    if (fileBytes === undefined) continue;
    const capable = layouts.filter((l) => model.precision === undefined || l.precisions.has(model.precision));
    const fits = (l: DeviceLayout, count: number): boolean => {
      const shape = slotShape(l, count, settings);
      return residentBytes(fileBytes, shape.numParallel) <= shape.memoryLimitBytes;
    };
    if (capable.some((l) => fits(l, l.count))) continue;
    const options = capable
      .map((l) => ({
        l,
        count: Array.from({ length: l.count }, (_, i) => l.count - i).find((c) => fits(l, c)),
      }))
      .filter((o): o is { l: DeviceLayout; count: number } => o.count !== undefined)
      .sort((a, b) => b.count - a.count || b.l.speed - a.l.speed);
    const best = options[0];
    if (best === undefined) continue;
    best.l.reasons.push(
      `${best.count} instance(s) instead of ${best.l.count}, so that one can hold ${model.name} ` +
        `(${formatGb(fileBytes)} of weights), which fits no smaller instance.`,
    );
    best.l.count = best.count;
  }
}

/** The plan: instances per device from the policy, then models placed on them. */
export function planProvisioning(
  inventory: GpuInventoryResult,
  settings: PlanSettings,
  modelCatalog?: ModelCatalog,
): ProvisionPlan {
  const p = settings.provisioning;
  if (settings.instances.length > 0) return planFromYaml(inventory, settings.instances, p, modelCatalog);
  const warnings: string[] = [];
  const models = resolveModels(p, modelCatalog);
  const layouts =
    inventory.gpus.length > 0 ? gpuLayouts(inventory.gpus, p, warnings) : [cpuLayout(inventory, p, warnings)];
  if (inventory.gpus.length > 0 && layouts.length === 0) {
    warnings.push("No usable GPU: nothing to launch (the CPU is not used when GPUs are present).");
  }
  makeRoomForBigModels(layouts, models, p);

  const slots: PlacementSlot[] = [];
  const instances: PlannedInstance[] = [];
  let port = p.basePort;
  for (const layout of layouts) {
    const shape = slotShape(layout, layout.count, p);
    for (let n = 0; n < layout.count; n += 1, port += 1) {
      const index = layout.device.kind === "gpu" ? layout.device.index : -1;
      const id = `gpu${index}-${port}`;
      slots.push({
        id,
        deviceKey: layout.device.kind === "gpu" ? layout.device.uuid : "cpu",
        deviceLabel: layout.label,
        speed: layout.speed,
        precisions: layout.precisions,
        deviceUsableBytes: layout.usableBytes,
        ...shape,
      });
      const split =
        layout.device.kind === "gpu"
          ? `(${formatGib(layout.device.memoryTotalBytes)} − ${formatGib(p.gpuMemoryReserveBytes)} GpuMemoryReserveBytes) / ${layout.count}`
          : "all the CPU instance's memory";
      const parallel =
        p.numParallel > 0
          ? "NumParallel in [Provisioning]"
          : "chosen from the instance's memory (NumParallel = 0)";
      instances.push({
        id,
        device: layout.device,
        port,
        memoryLimitBytes: shape.memoryLimitBytes,
        numParallel: shape.numParallel,
        maxConcurrentRequests: shape.numParallel,
        maxLoadedModels: 1,
        models: [],
        reasons: [
          ...layout.reasons,
          `Memory limit ${formatGib(shape.memoryLimitBytes)}: ${split}.`,
          `Port ${port}: BasePort ${p.basePort} + ${port - p.basePort}.`,
          `OLLAMA_NUM_PARALLEL ${shape.numParallel}: ${parallel}; max_concurrent_requests matches it, so ` +
            "extra requests wait in the gateway's queue (priorities, failover) rather than inside Ollama.",
        ],
      });
    }
  }
  if (port - 1 > 65535) warnings.push(`BasePort ${p.basePort} leaves no room for ${instances.length} ports.`);

  const placement = placeModels(slots, models);
  for (const instance of instances) {
    instance.models = placement.models.get(instance.id) ?? [];
    const together = instance.models.filter((m) => m.preload).length;
    instance.maxLoadedModels = p.maxLoadedModels || Math.max(1, together);
    instance.reasons.push(
      p.maxLoadedModels > 0
        ? `OLLAMA_MAX_LOADED_MODELS ${p.maxLoadedModels}: MaxLoadedModels in [Provisioning].`
        : `OLLAMA_MAX_LOADED_MODELS ${instance.maxLoadedModels}: the assigned models that fit in its memory together.`,
    );
  }
  const weights = new Map(models.map((m) => [m.name, m.weight]));
  assignPreloadSteps(instances, (name) => weights.get(name) ?? 1);
  if (models.length === 0) {
    warnings.push("No PlannedModels in [Provisioning]: instances start empty and load models on first use.");
  }
  const largest = Math.max(
    0,
    ...models.filter((m) => !placement.unplaced.some((u) => u.name === m.name)).map((m) => m.fileBytes ?? 0),
  );
  const ram = inventory.cpu.memoryTotalBytes - p.systemMemoryReserveBytes;
  if (inventory.gpus.length > 0 && largest > ram) {
    warnings.push(
      `System memory minus the reserve (${formatGib(ram)}) is smaller than the largest model (${formatGb(largest)}): loading it may push the system into swap.`,
    );
  }
  return {
    mode: "auto",
    instances,
    systemMemoryReserveBytes: p.systemMemoryReserveBytes,
    unplaced: placement.unplaced,
    warnings: [...warnings, ...placement.warnings],
  };
}
