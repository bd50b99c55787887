// AMD detection: amd-smi and rocm-smi stored outputs, the fallback between them, ROCR/HIP visibility.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAmdSmi } from "../src/gpu/amd-smi.js";
import { detectGpus } from "../src/gpu/detect.js";
import { amdUuid, parseRocmSmiJson } from "../src/gpu/rocm-smi.js";
import { exited, fixedSystem, fixture, ok, scriptedRunner } from "./fixtures/gpu/gpu-fixtures.js";

const MIB = 1024 ** 2;

const AMD_SMI = {
  "amd-smi static": ok(fixture("amd-smi/mi300x-static.out")),
  "amd-smi list": ok(fixture("amd-smi/mi300x-list.out")),
  "amd-smi metric": ok(fixture("amd-smi/mi300x-metric.out")),
};

/** Detection with no NVIDIA and the given AMD tools. */
function detectAmdWith(script: Parameters<typeof scriptedRunner>[0], env: Record<string, string> = {}) {
  const runner = scriptedRunner(script);
  return detectGpus({ env, nvmlLibraryPath: null, runCommand: runner.run, system: fixedSystem() });
}

test("amd-smi (gpu_data, value/unit numbers): static, list and metric merge per GPU", () => {
  const parsed = parseAmdSmi({
    static: fixture("amd-smi/mi300x-static.out"),
    list: fixture("amd-smi/mi300x-list.out"),
    metric: fixture("amd-smi/mi300x-metric.out"),
  });
  assert.ok(parsed.ok);
  const [first, second] = parsed.readings;
  assert.deepEqual(first, {
    index: 0,
    uuid: "GPU-5f1c0d7a3b2e4961",
    name: "AMD Instinct MI300X",
    vendor: "amd",
    source: "amd-smi",
    pciBusId: "0000:0c:00.0",
    memoryTotalBytes: 196592 * MIB,
    memoryFreeBytes: 196309 * MIB,
    memoryUsedBytes: 283 * MIB,
    computeCapability: null,
    gfxTarget: "gfx942",
    utilizationPercent: 0,
    temperatureC: 35,
    powerDrawWatts: 131,
    driverVersion: "6.10.5",
    cudaVersion: null,
    errors: [],
  });
  assert.equal(second?.utilizationPercent, 100);
  assert.equal(second?.temperatureC, 81);
  assert.equal(second?.memoryFreeBytes, 16180 * MIB);
});

test("older amd-smi: a warning line before a bare array, sizes as '65520 MB' strings", () => {
  const parsed = parseAmdSmi({ static: fixture("amd-smi/older-bare-array-with-warning.out") });
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.readings.map((r) => [r.name, r.memoryTotalBytes, r.memoryFreeBytes, r.driverVersion, r.uuid]),
    [["AMD Instinct MI210", 65520 * MIB, null, "6.3.6", "GPU-2d62c4a1e3f5b709"]],
  );
  assert.deepEqual(parseAmdSmi({ static: "amd-smi: command failed" }), {
    ok: false,
    error: "amd-smi static printed no JSON GPU list",
  });
});

test("rocm-smi, older key names: MI210s without a gfx version still get CDNA 2 precision", async () => {
  const parsed = parseRocmSmiJson(fixture("rocm-smi/mi210-x2.out"));
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.readings.map((r) => [r.index, r.uuid, r.temperatureC, r.powerDrawWatts, r.driverVersion]),
    [
      [0, "GPU-2d62c4a1e3f5b709", 38, 42, "6.2.4"],
      [1, "GPU-8e4fa27c91d05b36", 41, 188, "6.2.4"],
    ],
  );
  assert.equal(parsed.readings[1]?.memoryFreeBytes, 68702699520 - 51539607552);

  const inventory = await detectAmdWith({ "rocm-smi": ok(fixture("rocm-smi/mi210-x2.out")) });
  const gpu = inventory.gpus[0];
  assert.equal(gpu?.memoryTotalBytes, 65520 * MIB);
  assert.equal(gpu?.memoryAvailableBytes, 68702699520 - 11071488);
  assert.deepEqual([gpu?.supportsFloat16, gpu?.supportsBFloat16, gpu?.supportsFp8], [true, true, false]);
  assert.equal(gpu?.computeCapability, 0);
});

test("rocm-smi, newer key names: socket power, gfx target, and a PCI-based id when Unique ID is N/A", async () => {
  const inventory = await detectAmdWith({ "rocm-smi": ok(fixture("rocm-smi/rx7900xtx.out")) });
  const [gpu] = inventory.gpus;
  assert.equal(gpu?.name, "Radeon RX 7900 XTX");
  assert.equal(gpu?.uuid, "PCI-0000:03:00.0");
  assert.equal(gpu?.computeCapabilityString, "gfx1100");
  assert.equal(gpu?.powerDrawWatts, 62);
  assert.equal(gpu?.temperatureC, 52, "junction, not edge");
  assert.deepEqual([gpu?.supportsBFloat16, gpu?.supportsFp8], [true, false]);
  assert.deepEqual(
    inventory.attempts.map((a) => [a.source, a.outcome]),
    [
      ["nvml", "skipped"],
      ["nvidia-smi", "unavailable"],
      ["amd-smi", "unavailable"],
      ["rocm-smi", "used"],
    ],
  );
});

test("amd-smi is preferred, and rocm-smi is not asked once it answered", async () => {
  const runner = scriptedRunner({ ...AMD_SMI, "rocm-smi": ok(fixture("rocm-smi/mi210-x2.out")) });
  const inventory = await detectGpus({
    env: {},
    nvmlLibraryPath: null,
    runCommand: runner.run,
    system: fixedSystem(),
  });
  assert.deepEqual(
    inventory.gpus.map((g) => [g.source, g.name]),
    [
      ["amd-smi", "AMD Instinct MI300X"],
      ["amd-smi", "AMD Instinct MI300X"],
    ],
  );
  assert.ok(!runner.calls.some((c) => c.startsWith("rocm-smi")));
});

test("amd-smi failing falls back to rocm-smi; without metric the GPUs are still known", async () => {
  const fallback = await detectAmdWith({
    "amd-smi static": exited(1, "", "ERROR: Driver not initialized (amdgpu not found in modules)"),
    "rocm-smi": ok(fixture("rocm-smi/mi210-x2.out")),
  });
  assert.equal(fallback.gpus.length, 2);
  assert.match(fallback.attempts[2]?.detail ?? "", /amdgpu not found in modules/);

  const staticOnly = await detectAmdWith({ "amd-smi static": ok(fixture("amd-smi/mi300x-static.out")) });
  assert.equal(staticOnly.gpus[0]?.memoryTotalBytes, 196592 * MIB);
  assert.equal(staticOnly.gpus[0]?.temperatureC, null);
});

test("ROCR_VISIBLE_DEVICES, else HIP_VISIBLE_DEVICES, selects AMD GPUs; '-1' hides them all", async () => {
  const byRocr = await detectAmdWith(AMD_SMI, { ROCR_VISIBLE_DEVICES: "1", HIP_VISIBLE_DEVICES: "0" });
  assert.deepEqual(
    byRocr.gpus.map((g) => g.id),
    [1],
  );
  assert.deepEqual(byRocr.visibleDevices, [{ variable: "ROCR_VISIBLE_DEVICES", value: "1" }]);
  const byUuid = await detectAmdWith(AMD_SMI, { HIP_VISIBLE_DEVICES: "GPU-8b6e2f4d1c0a3957" });
  assert.deepEqual(
    byUuid.gpus.map((g) => g.id),
    [1],
  );
  const none = await detectAmdWith(AMD_SMI, { CUDA_VISIBLE_DEVICES: "-1" });
  assert.equal(none.cpuOnly, true);
  assert.equal(none.hiddenGpus.length, 2);
});

test("unique ids become GPU-<16 hex digits>; N/A and zero are no id", () => {
  assert.equal(amdUuid("0x2D62C4A1E3F5B709"), "GPU-2d62c4a1e3f5b709");
  assert.equal(amdUuid("0xabc"), "GPU-0000000000000abc");
  assert.equal(amdUuid("N/A"), null);
  assert.equal(amdUuid("0x0"), null);
  assert.equal(amdUuid(null), null);
});

test("rocm-smi garbage is a failed attempt, not a crash", async () => {
  const inventory = await detectAmdWith({ "rocm-smi": ok("ERROR: GPU[0]: some error\n") });
  assert.deepEqual(inventory.attempts[3], {
    source: "rocm-smi",
    outcome: "failed",
    detail: "rocm-smi printed no JSON object",
  });
  assert.equal(inventory.cpuOnly, true);
});
