// The provisioning planner, pure: instances per GPU, memory, ports, slots, and model placement with reasons.
import assert from "node:assert/strict";
import { test } from "node:test";
import { instancesSchema } from "../src/config/instance-schema.js";
import { provisioningSchema } from "../src/config/provisioning-schema.js";
import type { InstanceConfig } from "../src/config/schema.js";
import type { GpuInventoryResult } from "../src/gpu/types.js";
import { residentBytes } from "../src/supervisor/model-traits.js";
import type { PlannedInstance, ProvisionPlan } from "../src/supervisor/plan-types.js";
import { planProvisioning, type ModelCatalog } from "../src/supervisor/provision-plan.js";
import { machine, nvidiaGpu } from "./helpers/gpu-inventory.js";

const GIB = 1024 ** 3;

/** Plans with [Provisioning] written as the INI would give it (text values), and optional YAML entries. */
function plan(
  inventory: GpuInventoryResult,
  provisioning: Record<string, string> = {},
  options: { yaml?: unknown[]; catalog?: ModelCatalog } = {},
): ProvisionPlan {
  const instances = instancesSchema.parse(options.yaml ?? []) as InstanceConfig[];
  return planProvisioning(
    inventory,
    { provisioning: provisioningSchema.parse(provisioning), instances },
    options.catalog,
  );
}

/** Instance ids holding the model. */
function holders(p: ProvisionPlan, model: string): string[] {
  return p.instances.filter((i) => i.models.some((m) => m.name === model)).map((i) => i.id);
}

/** The planned model on an instance. */
function modelOn(instance: PlannedInstance | undefined, model: string) {
  return instance?.models.find((m) => m.name === model);
}

const RTX_3060_TI = (id: number) => nvidiaGpu(id, "NVIDIA GeForce RTX 3060 Ti", 8, 86);
const RTX_3060 = (id: number) => nvidiaGpu(id, "NVIDIA GeForce RTX 3060", 12, 86);
const RTX_4080 = (id: number) => nvidiaGpu(id, "NVIDIA GeForce RTX 4080", 16, 89);
const TESLA_T4 = (id: number) => nvidiaGpu(id, "Tesla T4", 15, 75);
const RTX_4090 = (id: number) => nvidiaGpu(id, "NVIDIA GeForce RTX 4090", 24, 89);
const A10 = (id: number) => nvidiaGpu(id, "NVIDIA A10", 22.49, 86);
const H100 = (id: number) => nvidiaGpu(id, "NVIDIA H100 80GB HBM3", 80, 90);

const SIZES = [
  { gpu: RTX_3060_TI, memGiB: 8, instances: 1, numParallel: 1 },
  { gpu: RTX_3060, memGiB: 12, instances: 1, numParallel: 2 },
  { gpu: TESLA_T4, memGiB: 15, instances: 2, numParallel: 1 },
  { gpu: RTX_4080, memGiB: 16, instances: 2, numParallel: 1 },
  { gpu: A10, memGiB: 22.49, instances: 3, numParallel: 1 },
  { gpu: RTX_4090, memGiB: 24, instances: 3, numParallel: 1 },
  { gpu: H100, memGiB: 80, instances: 4, numParallel: 4 },
];

for (const size of SIZES) {
  test(`a ${size.memGiB} GiB GPU gets ${size.instances} instance(s) of equal memory, ${size.numParallel} slot(s) each`, () => {
    const p = plan(machine([size.gpu(0)]));
    assert.equal(p.mode, "auto");
    assert.equal(p.instances.length, size.instances);
    const each = Math.floor((Math.round(size.memGiB * GIB) - GIB) / size.instances);
    p.instances.forEach((instance, n) => {
      assert.equal(instance.id, `gpu0-${11500 + n}`);
      assert.equal(instance.port, 11500 + n);
      assert.equal(instance.memoryLimitBytes, each);
      assert.equal(instance.numParallel, size.numParallel);
      assert.equal(instance.maxConcurrentRequests, size.numParallel);
      assert.deepEqual(instance.device, {
        kind: "gpu",
        vendor: "nvidia",
        index: 0,
        uuid: "GPU-test-0",
        name: size.gpu(0).name,
        memoryTotalBytes: Math.round(size.memGiB * GIB),
      });
      assert.match(instance.reasons[0] ?? "", new RegExp(`${size.instances} instance\\(s\\)`));
    });
  });
}

test("a mixed fleet numbers ports across GPUs in order and ids carry each GPU's index", () => {
  const p = plan(machine([RTX_4090(0), TESLA_T4(1), RTX_3060_TI(2)]), { basePort: "12000" });
  assert.deepEqual(
    p.instances.map((i) => [i.id, i.port]),
    [
      ["gpu0-12000", 12000],
      ["gpu0-12001", 12001],
      ["gpu0-12002", 12002],
      ["gpu1-12003", 12003],
      ["gpu1-12004", 12004],
      ["gpu2-12005", 12005],
    ],
  );
});

test("thresholds from config change the split: [10] gives a 12 GiB GPU two instances, [] gives an 80 GiB one", () => {
  assert.equal(plan(machine([RTX_3060(0)]), { instanceThresholdsGib: "10" }).instances.length, 2);
  assert.equal(plan(machine([H100(0)]), { instanceThresholdsGib: "" }).instances.length, 1);
  const reasons = plan(machine([H100(0)]), { instanceThresholdsGib: "" }).instances[0]?.reasons ?? [];
  assert.match(reasons[0] ?? "", /InstanceThresholdsGib is empty/);
});

test("a CPU-only machine gets one CPU instance sized from RAM minus the system reserve", () => {
  const p = plan(machine([], 32), { systemMemoryReserveBytes: "6GiB", plannedModels: "llama3.2:3b" });
  assert.equal(p.instances.length, 1);
  const cpu = p.instances[0];
  assert.deepEqual(cpu?.device, { kind: "cpu" });
  assert.equal(cpu?.id, "gpu-1-11500");
  assert.equal(cpu?.memoryLimitBytes, 26 * GIB);
  assert.equal(cpu?.numParallel, 1);
  assert.equal(p.systemMemoryReserveBytes, 6 * GIB);
  assert.deepEqual(holders(p, "llama3.2:3b"), ["gpu-1-11500"]);
});

test("a CPU-only machine with less RAM than the reserve places nothing and says why", () => {
  const p = plan(machine([], 4), { systemMemoryReserveBytes: "8GiB", plannedModels: "llama3.2:3b" });
  assert.equal(p.instances[0]?.memoryLimitBytes, 0);
  assert.equal(p.unplaced[0]?.name, "llama3.2:3b");
  assert.ok(p.warnings.some((w) => /not larger than SystemMemoryReserveBytes/.test(w)));
});

test("a model too big for every GPU is unplaced, with its need and the largest instance in the reason", () => {
  const p = plan(machine([RTX_4090(0), RTX_3060(1)]), { plannedModels: "llama3.1:70b, llama3.2:3b" });
  assert.deepEqual(holders(p, "llama3.1:70b"), []);
  assert.equal(p.unplaced.length, 1);
  assert.match(
    p.unplaced[0]?.reason ?? "",
    /needs at least 4\d\.\d GiB loaded \(42\.5 GB of weights.*the most is 23\.0 GiB on GPU 0 \(NVIDIA GeForce RTX 4090\)/,
  );
});

test("a model that fits a whole GPU but no instance slice lowers that GPU's instance count", () => {
  const p = plan(machine([RTX_4090(0), RTX_3060(1)]), { plannedModels: "gemma2:27b, llama3.2:3b" });
  const gpu0 = p.instances.filter((i) => i.device.kind === "gpu" && i.device.index === 0);
  assert.equal(gpu0.length, 1);
  assert.ok(
    gpu0[0]?.reasons.some((r) => /1 instance\(s\) instead of 3, so that one can hold gemma2:27b/.test(r)),
  );
  assert.deepEqual(holders(p, "gemma2:27b"), ["gpu0-11500"]);
  assert.deepEqual(p.unplaced, []);
});

test("the most requested model goes to the fastest GPU even when a slower one has more room", () => {
  const p = plan(
    machine([nvidiaGpu(0, "Tesla P40", 24, 61), nvidiaGpu(1, "NVIDIA GeForce RTX 4070", 12, 89)]),
    {
      instanceThresholdsGib: "",
      plannedModels: "qwen2.5:7b=1, llama3.1:8b=9",
    },
  );
  const hot = modelOn(
    p.instances.find((i) => i.id === "gpu1-11501"),
    "llama3.1:8b",
  );
  assert.match(hot?.reason ?? "", /hot model \(90% of the demand\): on the fastest device.*RTX 4070/);
  assert.deepEqual(holders(p, "qwen2.5:7b"), ["gpu0-11500"]);
  assert.match(modelOn(p.instances[0], "qwen2.5:7b")?.reason ?? "", /^Balances memory/);
});

test("hot models are copied in proportion to demand where room allows; cold ones stay single", () => {
  const p = plan(machine([RTX_4090(0), RTX_4090(1), RTX_4090(2), RTX_4090(3)]), {
    instanceThresholdsGib: "",
    plannedModels: "llama3.2:3b=3, qwen2.5:7b=1",
  });
  assert.equal(holders(p, "llama3.2:3b").length, 3);
  assert.equal(holders(p, "qwen2.5:7b").length, 1);
  const copies = p.instances.flatMap((i) => i.models).filter((m) => /^Copy \d of 3/.test(m.reason));
  assert.equal(copies.length, 2);
});

test("one model on three GPUs is on all three, and memory short of a copy is a warning", () => {
  const one = plan(machine([RTX_4090(0), RTX_3060(1), RTX_3060_TI(2)]), {
    instanceThresholdsGib: "",
    plannedModels: "llama3.1:8b",
  });
  assert.equal(holders(one, "llama3.1:8b").length, 3);
  const tight = plan(machine([RTX_4090(0), RTX_4090(1)]), {
    instanceThresholdsGib: "",
    plannedModels: "qwen2.5:32b=5, gemma2:9b=1",
  });
  assert.deepEqual(holders(tight, "qwen2.5:32b"), ["gpu0-11500"]);
  assert.ok(
    tight.warnings.some((w) => /qwen2.5:32b would deserve 2 copies for its demand; memory allows 1/.test(w)),
  );
});

test("models of one vocabulary family share an instance when that costs no balance", () => {
  const p = plan(machine([RTX_4090(0), RTX_4090(1)]), {
    instanceThresholdsGib: "",
    plannedModels: "llama3.1:8b, qwen2.5:7b, llama3.2:3b",
  });
  assert.deepEqual(holders(p, "llama3.2:3b"), holders(p, "llama3.1:8b"));
  assert.notDeepEqual(holders(p, "qwen2.5:7b"), holders(p, "llama3.1:8b"));
  const kin = modelOn(
    p.instances.find((i) => i.id === holders(p, "llama3.2:3b")[0]),
    "llama3.2:3b",
  );
  assert.match(kin?.reason ?? "", /Co-located with llama3.1:8b \(vocabulary family llama3\)/);
});

test("family does not win when it would unbalance the GPUs", () => {
  const p = plan(machine([RTX_4090(0), RTX_4090(1)]), {
    instanceThresholdsGib: "",
    plannedModels: "llama3.1:8b@12GB, qwen2.5:7b, llama3.2:3b@3GB",
  });
  assert.notDeepEqual(holders(p, "llama3.2:3b"), holders(p, "llama3.1:8b"));
  assert.deepEqual(holders(p, "llama3.2:3b"), holders(p, "qwen2.5:7b"));
});

test("a model that requires bf16 goes only where the GPU computes bf16", () => {
  const p = plan(machine([TESLA_T4(0), nvidiaGpu(1, "NVIDIA GeForce RTX 3090", 24, 86)]), {
    instanceThresholdsGib: "",
    plannedModels: "llama3.2:3b-instruct-bf16@6.4GB, qwen2.5:7b+bf16",
  });
  assert.deepEqual(holders(p, "llama3.2:3b-instruct-bf16"), ["gpu1-11501"]);
  assert.deepEqual(holders(p, "qwen2.5:7b"), ["gpu1-11501"]);
  const t4only = plan(machine([TESLA_T4(0)]), { plannedModels: "qwen2.5:7b+bf16" });
  assert.match(t4only.unplaced[0]?.reason ?? "", /needs bf16/);
});

test("sizes come from @size first, then running instances' tags, then the shipped table", () => {
  const catalog: ModelCatalog = new Map([
    ["custom:1b", { sizeBytes: 1.5e9 }],
    ["qwen2.5:7b", { sizeBytes: 5e9 }],
  ]);
  const p = plan(
    machine([RTX_4090(0)]),
    { instanceThresholdsGib: "", plannedModels: "custom:1b, qwen2.5:7b, llama3.2:3b@3GB" },
    { catalog },
  );
  const only = p.instances[0];
  const np = only?.numParallel ?? 0;
  assert.equal(modelOn(only, "custom:1b")?.sizeBytes, residentBytes(1.5e9, np));
  assert.equal(modelOn(only, "qwen2.5:7b")?.sizeBytes, residentBytes(5e9, np));
  assert.equal(modelOn(only, "llama3.2:3b")?.sizeBytes, residentBytes(3e9, np));
  const unknown = plan(machine([RTX_4090(0)]), { plannedModels: "mystery:9b" });
  assert.equal(modelOn(unknown.instances[0], "mystery:9b")?.sizeBytes, undefined);
  assert.ok(unknown.warnings.some((w) => /size of mystery:9b is unknown/.test(w)));
});

test("preloads run one at a time per GPU, hottest first, and what does not fit together loads on demand", () => {
  const p = plan(machine([RTX_4090(0)]), {
    instanceThresholdsGib: "20",
    plannedModels: "llama3.2:3b=5, qwen2.5:7b=2, gemma2:9b=1, mistral:7b=1",
  });
  const steps = p.instances.flatMap((i) => i.models.filter((m) => m.preload).map((m) => m.preloadStep));
  assert.deepEqual(
    [...steps].sort((a, b) => (a ?? 0) - (b ?? 0)),
    steps.map((_, i) => i + 1),
  );
  const first = p.instances.flatMap((i) => i.models).find((m) => m.preloadStep === 1);
  assert.equal(first?.name, "llama3.2:3b");
  for (const instance of p.instances) {
    const preloaded = instance.models.filter((m) => m.preload);
    const bytes = preloaded.reduce((sum, m) => sum + (m.sizeBytes ?? 0), 0);
    assert.ok(bytes <= instance.memoryLimitBytes, `${instance.id} preloads more than it holds`);
    assert.equal(instance.maxLoadedModels, Math.max(1, preloaded.length));
  }
});

test("a model beside which nothing else fits is assigned but not preloaded", () => {
  const p = plan(machine([RTX_3060_TI(0)]), { plannedModels: "llama3.1:8b=2, qwen2.5:7b=1" });
  const instance = p.instances[0];
  assert.equal(modelOn(instance, "llama3.1:8b")?.preload, true);
  const second = modelOn(instance, "qwen2.5:7b");
  assert.equal(second?.preload, false);
  assert.equal(second?.preloadStep, undefined);
  assert.match(second?.reason ?? "", /Ollama will swap them on demand.*loads on first use/);
});

test("NumParallel and MaxLoadedModels from config replace the automatic choices", () => {
  const p = plan(machine([RTX_4090(0)]), {
    numParallel: "3",
    maxLoadedModels: "2",
    plannedModels: "llama3.2:3b",
  });
  for (const instance of p.instances) {
    assert.equal(instance.numParallel, 3);
    assert.equal(instance.maxConcurrentRequests, 3);
    assert.equal(instance.maxLoadedModels, 2);
    assert.ok(instance.reasons.some((r) => /NumParallel in \[Provisioning\]/.test(r)));
  }
});

test("every instance and every placed model says why", () => {
  const p = plan(machine([RTX_4090(0), TESLA_T4(1)]), {
    plannedModels: "llama3.2:3b=4, qwen2.5:7b=2, gemma2:2b",
  });
  for (const instance of p.instances) {
    assert.ok(instance.reasons.length >= 4);
    for (const m of instance.models) assert.match(m.reason, /^[A-Z].*\.$/);
  }
});

test("an unhealthy GPU is left out of the plan with a warning", () => {
  const lost = RTX_4090(1);
  lost.errors = ["memory: GPU is lost"];
  const p = plan(machine([RTX_3060(0), lost]));
  assert.deepEqual(
    p.instances.map((i) => i.id),
    ["gpu0-11500"],
  );
  assert.ok(p.warnings.some((w) => /GPU 1 .* is left out: .*lost/.test(w)));
});

test("gpu_instances YAML overrides the plan: the plan reflects each entry, pinned by the detected UUID", () => {
  const yaml = [
    {
      gpu_id: 0,
      name: "RTX 4090",
      port: 11434,
      memory_limit: "20GB",
      models: ["llama3.2:3b", "qwen2.5:7b"],
      max_concurrent_requests: 3,
    },
    { gpu_id: 1, port: 11435, models: ["gemma2:9b"] },
    { gpu_id: 0, id: "remote-a", url: "http://10.0.0.5:11434", models: [] },
  ];
  const p = plan(machine([RTX_4090(0), RTX_3060(1)]), { plannedModels: "llama3.2:3b=2, phi3" }, { yaml });
  assert.equal(p.mode, "yaml");
  assert.deepEqual(
    p.instances.map((i) => [i.id, i.port]),
    [
      ["gpu0-11434", 11434],
      ["gpu1-11435", 11435],
      ["remote-a", 11434],
    ],
  );
  const first = p.instances[0];
  assert.equal(first?.memoryLimitBytes, 20e9);
  assert.equal(first?.numParallel, 3);
  assert.equal(first?.maxConcurrentRequests, 3);
  assert.equal(first?.device.kind === "gpu" ? first.device.uuid : "", "GPU-test-0");
  assert.deepEqual(
    first?.models.map((m) => m.name),
    ["llama3.2:3b", "qwen2.5:7b"],
  );
  assert.match(first?.reasons[0] ?? "", /overrides the automatic plan/);
  const second = p.instances[1];
  assert.equal(second?.memoryLimitBytes, 12 * GIB - GIB);
  assert.equal(p.instances[2]?.externalUrl, "http://10.0.0.5:11434");
  assert.deepEqual(
    p.unplaced.map((u) => u.name),
    ["phi3:latest"],
  );
});

test("a YAML gpu_id that was not detected is pinned by index, with a warning", () => {
  const p = plan(machine([RTX_3060(0)]), {}, { yaml: [{ gpu_id: 3, port: 11440 }] });
  const device = p.instances[0]?.device;
  assert.equal(device?.kind === "gpu" ? device.uuid : "", "3");
  assert.ok(p.warnings.some((w) => /gpu_id 3 is not among the detected GPUs/.test(w)));
});
