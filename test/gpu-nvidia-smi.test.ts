// nvidia-smi, the fallback when NVML cannot be loaded: parsing stored outputs and the detection path.
import assert from "node:assert/strict";
import { test } from "node:test";
import { detectGpus } from "../src/gpu/detect.js";
import { validateGpuHealth } from "../src/gpu/gpu-health.js";
import {
  nvidiaSmiArgs,
  NVIDIA_SMI_FIELDS,
  parseCudaVersionBanner,
  parseNvidiaSmiCsv,
} from "../src/gpu/nvidia-smi.js";
import { exited, fixedSystem, fixture, ok, scriptedRunner } from "./fixtures/gpu/gpu-fixtures.js";

const MIB = 1024 ** 2;

/** Detection with NVML absent and nvidia-smi scripted. */
function detectWith(script: Parameters<typeof scriptedRunner>[0], env: Record<string, string> = {}) {
  const runner = scriptedRunner(script);
  const result = detectGpus({ env, nvmlLibraryPath: null, runCommand: runner.run, system: fixedSystem() });
  return { result, calls: runner.calls };
}

test("the query asks for the documented fields in CSV without header or units", () => {
  assert.deepEqual(nvidiaSmiArgs(), [
    "--query-gpu=index,uuid,name,pci.bus_id,memory.total,memory.free,memory.used,compute_cap,utilization.gpu,temperature.gpu,power.draw,driver_version",
    "--format=csv,noheader,nounits",
  ]);
  assert.ok(!nvidiaSmiArgs(false)[0]?.includes("compute_cap"));
});

test("two consumer cards: MiB become bytes, 8.9 becomes 89", () => {
  const { readings, problems } = parseNvidiaSmiCsv(fixture("nvidia-smi/workstation-4090-3060.csv"));
  assert.deepEqual(problems, []);
  assert.equal(readings.length, 2);
  assert.deepEqual(readings[0], {
    index: 0,
    uuid: "GPU-4c3b2a19-8f7e-6d5c-4b3a-291807f6e5d4",
    name: "NVIDIA GeForce RTX 4090",
    vendor: "nvidia",
    source: "nvidia-smi",
    pciBusId: "00000000:01:00.0",
    memoryTotalBytes: 24564 * MIB,
    memoryFreeBytes: 23640 * MIB,
    memoryUsedBytes: 457 * MIB,
    computeCapability: 89,
    gfxTarget: null,
    utilizationPercent: 3,
    temperatureC: 38,
    powerDrawWatts: 27.45,
    driverVersion: "550.54.15",
    cudaVersion: null,
    errors: [],
  });
  assert.equal(readings[1]?.pciBusId, "00000000:2B:00.0");
  assert.equal(readings[1]?.computeCapability, 86);
});

test("an A100 in MIG mode reports [N/A] utilisation: null, not an error", () => {
  const { readings } = parseNvidiaSmiCsv(fixture("nvidia-smi/datacenter-a100-mig-h100.csv"));
  assert.equal(readings[0]?.name, "NVIDIA A100-SXM4-80GB");
  assert.equal(readings[0]?.utilizationPercent, null);
  assert.deepEqual(readings[0]?.errors, []);
  assert.equal(readings[1]?.computeCapability, 90);
});

test("a lost GPU's message line is a problem, a GPU needing reset carries errors and is unhealthy", async () => {
  const { readings, problems } = parseNvidiaSmiCsv(fixture("nvidia-smi/t4-one-lost.csv"));
  assert.deepEqual(
    readings.map((r) => r.index),
    [0, 2],
  );
  assert.deepEqual(problems, ["Unable to determine the device handle for GPU0000:00:1F.0: Unknown Error"]);
  assert.equal(readings[1]?.memoryFreeBytes, null);
  assert.equal(readings[1]?.errors.length, 5);
  assert.equal(readings[1]?.errors[0], "memory.free: GPU requires reset");

  const { result } = detectWith({
    "nvidia-smi --query-gpu": exited(15, fixture("nvidia-smi/t4-one-lost.csv")),
  });
  const inventory = await result;
  assert.equal(inventory.gpus.length, 2, "the GPUs that answered are kept despite the exit status");
  assert.deepEqual(inventory.warnings, [
    "nvidia-smi: Unable to determine the device handle for GPU0000:00:1F.0: Unknown Error",
  ]);
  const [healthy, reset] = inventory.gpus;
  assert.equal(healthy && validateGpuHealth(healthy).status, "healthy");
  assert.equal(reset && validateGpuHealth(reset).status, "unhealthy");
});

test("a driver older than R510 rejects compute_cap: the query is retried without it", async () => {
  const { result, calls } = detectWith({
    "nvidia-smi --query-gpu": [
      exited(2, fixture("nvidia-smi/old-driver-rejects-compute-cap.txt")),
      ok(fixture("nvidia-smi/old-driver-1080ti-p40.csv")),
    ],
    "nvidia-smi": ok(fixture("nvidia-smi/banner.txt")),
  });
  const inventory = await result;
  assert.equal(calls.filter((c) => c.startsWith("nvidia-smi --query-gpu")).length, 2);
  assert.deepEqual(
    inventory.gpus.map((g) => [g.name, g.computeCapabilityString, g.supportsFloat16, g.powerDrawWatts]),
    [
      ["GeForce GTX 1080 Ti", "6.1", true, 11.74],
      ["Tesla P40", "6.1", true, null],
    ],
  );
});

test("the CUDA version comes from nvidia-smi's banner", async () => {
  assert.equal(parseCudaVersionBanner(fixture("nvidia-smi/banner.txt")), "12.4");
  assert.equal(parseCudaVersionBanner("no banner"), null);
  const { result } = detectWith({
    "nvidia-smi --query-gpu": ok(fixture("nvidia-smi/workstation-4090-3060.csv")),
    "nvidia-smi": ok(fixture("nvidia-smi/banner.txt")),
  });
  assert.deepEqual(
    (await result).gpus.map((g) => g.cudaVersion),
    ["12.4", "12.4"],
  );
});

test("driver not loaded: CPU-only, with nvidia-smi's own message as the reason", async () => {
  const { result } = detectWith({ "nvidia-smi": exited(9, fixture("nvidia-smi/driver-not-loaded.txt")) });
  const inventory = await result;
  assert.equal(inventory.cpuOnly, true);
  assert.deepEqual(inventory.attempts[1], {
    source: "nvidia-smi",
    outcome: "failed",
    detail:
      "nvidia-smi exited with status 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
  });
});

test("no devices, nvidia-smi missing, nvidia-smi hanging: all CPU-only answers", async () => {
  const none = await detectWith({ "nvidia-smi": exited(6, fixture("nvidia-smi/no-devices.txt")) }).result;
  assert.match(none.attempts[1]?.detail ?? "", /status 6: No devices were found/);
  const missing = await detectWith({}).result;
  assert.deepEqual(missing.attempts[1], {
    source: "nvidia-smi",
    outcome: "unavailable",
    detail: "nvidia-smi not found on PATH",
  });
  const hung = await detectWith({
    "nvidia-smi": { exitCode: null, stdout: "", stderr: "", failure: "timeout" },
  }).result;
  assert.equal(hung.attempts[1]?.outcome, "failed");
  assert.match(hung.attempts[1]?.detail ?? "", /did not answer in time/);
  for (const r of [none, missing, hung]) assert.equal(r.cpuOnly, true);
});

test("CUDA_VISIBLE_DEVICES applies to GPUs found by nvidia-smi as well", async () => {
  const { result } = detectWith(
    { "nvidia-smi --query-gpu": ok(fixture("nvidia-smi/workstation-4090-3060.csv")) },
    { CUDA_VISIBLE_DEVICES: "GPU-a1b2c3d4" },
  );
  const inventory = await result;
  assert.deepEqual(
    inventory.gpus.map((g) => g.name),
    ["NVIDIA GeForce RTX 3060"],
  );
  assert.deepEqual(
    inventory.hiddenGpus.map((g) => g.id),
    [0],
  );
});

test("rows with a different column count than asked for are problems, not GPUs", () => {
  const fields = NVIDIA_SMI_FIELDS.filter((f) => f !== "compute_cap");
  const { readings, problems } = parseNvidiaSmiCsv(fixture("nvidia-smi/workstation-4090-3060.csv"), fields);
  assert.equal(readings.length, 0);
  assert.equal(problems.length, 2);
});
