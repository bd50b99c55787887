// The no-GPU path and the detect command's outputs, with every tool absent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runDetect } from "../src/cli/detect-command.js";
import { createGpuInventory, detectGpus } from "../src/gpu/detect.js";
import { buildInventoryReport, formatInventoryTable } from "../src/gpu/inventory-report.js";
import { fixedSystem, fixture, ok, scriptedRunner } from "./fixtures/gpu/gpu-fixtures.js";

const GIB = 1024 ** 3;
const nothing = scriptedRunner({}).run;

test("no GPU, no driver, no tool: a CPU-only inventory, never an error", async () => {
  const inventory = await createGpuInventory({
    env: { CUDA_VISIBLE_DEVICES: "0" },
    nvmlLibraryPath: "/nonexistent/libnvidia-ml.so.1",
    runCommand: nothing,
    system: fixedSystem(12, 32, 20),
  }).detect();
  assert.deepEqual(inventory, {
    gpus: [],
    hiddenGpus: [],
    cpuOnly: true,
    cpu: {
      model: "Test CPU 9000",
      logicalCores: 12,
      memoryTotalBytes: 32 * GIB,
      memoryAvailableBytes: 20 * GIB,
    },
    attempts: [
      {
        source: "nvml",
        outcome: "unavailable",
        detail: inventory.attempts[0]?.detail ?? "",
      },
      { source: "nvidia-smi", outcome: "unavailable", detail: "nvidia-smi not found on PATH" },
      { source: "amd-smi", outcome: "unavailable", detail: "amd-smi not found on PATH" },
      { source: "rocm-smi", outcome: "unavailable", detail: "rocm-smi not found on PATH" },
    ],
    visibleDevices: [],
    warnings: [],
  });
  assert.match(inventory.attempts[0]?.detail ?? "", /^cannot load \/nonexistent\/libnvidia-ml\.so\.1: /);
});

test("NVML is not tried where the platform has none (macOS)", async () => {
  const inventory = await detectGpus({
    env: {},
    platform: "darwin",
    runCommand: nothing,
    system: fixedSystem(),
  });
  assert.deepEqual(inventory.attempts[0], {
    source: "nvml",
    outcome: "skipped",
    detail: "no NVML library on this platform",
  });
});

test("the CPU-only table says where Ollama will run and why no GPU was found", async () => {
  let out = "";
  await runDetect(
    {},
    {
      write: (s) => (out += s),
      detectOptions: { nvmlLibraryPath: null, runCommand: nothing, system: fixedSystem(4, 16, 8) },
    },
  );
  assert.equal(
    out,
    [
      "No GPU visible: Ollama will run on the CPU.",
      "CPU: Test CPU 9000, 4 cores; RAM 8.0 / 16.0 GiB free",
      "Detection: nvml skipped (no NVML library on this platform); nvidia-smi unavailable (nvidia-smi not found on PATH); " +
        "amd-smi unavailable (amd-smi not found on PATH); rocm-smi unavailable (rocm-smi not found on PATH)",
      "",
    ].join("\n"),
  );
});

test("the CPU-only JSON has the same top-level shape, with an empty GPU list", async () => {
  let out = "";
  await runDetect(
    { json: true },
    {
      write: (s) => (out += s),
      detectOptions: { nvmlLibraryPath: null, runCommand: nothing, system: fixedSystem() },
    },
  );
  const report = JSON.parse(out) as Record<string, unknown>;
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.cpuOnly, true);
  assert.deepEqual(report.gpus, []);
  assert.deepEqual(report.cpu, {
    model: "Test CPU 9000",
    logicalCores: 16,
    memoryTotalBytes: 64 * GIB,
    memoryAvailableBytes: 48 * GIB,
  });
});

test("a mixed machine: hidden GPUs, each source with its driver, health problems and warnings", async () => {
  const runner = scriptedRunner({
    "nvidia-smi --query-gpu": ok(fixture("nvidia-smi/datacenter-a100-mig-h100.csv")),
    "rocm-smi": ok(fixture("rocm-smi/rx7900xtx.out")),
  });
  const inventory = await detectGpus({
    env: { CUDA_VISIBLE_DEVICES: "1,5" },
    nvmlLibraryPath: null,
    runCommand: runner.run,
    system: fixedSystem(),
  });
  const report = buildInventoryReport(inventory, {
    warnTemperatureC: 50,
    criticalTemperatureC: 90,
    minAvailableMemoryBytes: 0,
  });
  assert.deepEqual(
    report.gpus.map((g) => [g.name, g.capabilities.relativeDecodeSpeed]),
    [
      ["NVIDIA H100 80GB HBM3", 1],
      ["Radeon RX 7900 XTX", 0.287],
    ],
  );
  const table = formatInventoryTable(report);
  assert.match(table, /^Visible devices: CUDA_VISIBLE_DEVICES=1,5$/m);
  assert.match(table, /^Hidden: 0 NVIDIA A100-SXM4-80GB \(GPU-9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0\)$/m);
  assert.match(table, /^Source: nvidia-smi \(driver 535\.183\.01\), rocm-smi \(driver 6\.7\.0\)$/m);
  assert.match(
    table,
    /^GPU 0 \(Radeon RX 7900 XTX\) degraded: temperature 52 °C ≥ 50 °C \(throttling likely\)$/m,
  );
  assert.match(table, /warning: CUDA_VISIBLE_DEVICES: "5" matches no GPU/);
  assert.match(table, /0\.29x/);
});
