// The NVML path against a fake libnvidia-ml.so.1 built from test/fixtures/gpu/fake-nvml.c with gcc,
// loaded through the same code as the real library (only the path differs).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test, type TestContext } from "node:test";
import koffi from "koffi";
import { runDetect } from "../src/cli/detect-command.js";
import { detectGpus } from "../src/gpu/detect.js";
import { validateGpuHealth } from "../src/gpu/gpu-health.js";
import {
  buildFakeNvml,
  exited,
  fixedSystem,
  fixture,
  ok,
  scriptedRunner,
} from "./fixtures/gpu/gpu-fixtures.js";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const dir = mkdtempSync(path.join(tmpdir(), "fake-nvml-"));
let lib: { path: string } | { skip: string };
let oldLib: { path: string } | { skip: string };
const noTools = scriptedRunner({}).run;

before(async () => {
  [lib, oldLib] = await Promise.all([buildFakeNvml(dir), buildFakeNvml(dir, ["FAKE_NVML_OLD_DRIVER"])]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fake library's path, or skips the test with the reason (gcc missing). */
function libraryPath(t: TestContext, built: { path: string } | { skip: string } = lib): string | undefined {
  if ("skip" in built) {
    t.skip(built.skip);
    return undefined;
  }
  return built.path;
}

/** Runs with the fake's environment variables set, restoring them afterwards. */
async function withFakeEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const TWO_GPUS = "NVIDIA GeForce RTX 4090:24564:8.9:1200:51:87.5:23;Tesla T4:15360:7.5:0:38:16.4:0";

test("NVML: every GpuInfo field comes from the library, and NVML is shut down again", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const result = await withFakeEnv({ FAKE_NVML_GPUS: TWO_GPUS }, () =>
    detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: noTools, system: fixedSystem() }),
  );
  assert.equal(result.cpuOnly, false);
  assert.deepEqual(
    result.attempts.map((a) => [a.source, a.outcome]),
    [
      ["nvml", "used"],
      ["nvidia-smi", "skipped"],
      ["amd-smi", "unavailable"],
      ["rocm-smi", "unavailable"],
    ],
  );
  assert.deepEqual(result.gpus[0], {
    id: 0,
    uuid: "GPU-00000000-0000-4000-8000-000000000001",
    name: "NVIDIA GeForce RTX 4090",
    vendor: "nvidia",
    source: "nvml",
    pciBusId: "00000000:01:00.0",
    memoryTotalBytes: 24564 * MIB,
    memoryAvailableBytes: (24564 - 1200) * MIB,
    memoryUsedBytes: 1200 * MIB,
    computeCapability: 89,
    computeCapabilityString: "8.9",
    supportsFloat16: true,
    supportsBFloat16: true,
    supportsFp8: true,
    utilizationPercent: 23,
    temperatureC: 51,
    powerDrawWatts: 87.5,
    driverVersion: "550.54.15",
    cudaVersion: "12.4",
    errors: [],
  });
  const t4 = result.gpus[1];
  assert.equal(t4?.name, "Tesla T4");
  assert.equal(t4?.computeCapability, 75);
  assert.equal(t4?.supportsBFloat16, false);
  assert.equal(t4?.memoryTotalBytes, 15 * GIB);

  const probe = koffi.load(nvml).func("int fake_nvml_open_sessions()");
  assert.equal(probe(), 0, "every nvmlInit_v2 was matched by nvmlShutdown");
});

test("NVML: a machine whose NVML reports no GPU is CPU-only, and nvidia-smi is not asked", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const { run, calls } = scriptedRunner({});
  const result = await withFakeEnv({ FAKE_NVML_GPUS: "" }, () =>
    detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: run, system: fixedSystem(8, 32, 30) }),
  );
  assert.equal(result.cpuOnly, true);
  assert.deepEqual(result.gpus, []);
  assert.deepEqual(result.cpu, {
    model: "Test CPU 9000",
    logicalCores: 8,
    memoryTotalBytes: 32 * GIB,
    memoryAvailableBytes: 30 * GIB,
  });
  assert.equal(result.attempts[0]?.outcome, "empty");
  assert.ok(!calls.some((c) => c.startsWith("nvidia-smi")));
});

test("NVML: nvmlInit failing (driver not loaded) falls back to nvidia-smi", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const { run } = scriptedRunner({
    "nvidia-smi --query-gpu": ok(fixture("nvidia-smi/workstation-4090-3060.csv")),
    "nvidia-smi": ok(fixture("nvidia-smi/banner.txt")),
  });
  const result = await withFakeEnv({ FAKE_NVML_GPUS: TWO_GPUS, FAKE_NVML_MODE: "init-fail" }, () =>
    detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: run, system: fixedSystem() }),
  );
  assert.deepEqual(result.attempts[0], {
    source: "nvml",
    outcome: "failed",
    detail: "nvmlInit_v2 failed: driver not loaded (NVML 9)",
  });
  assert.equal(result.attempts[1]?.outcome, "used");
  assert.deepEqual(
    result.gpus.map((g) => [g.source, g.name, g.cudaVersion]),
    [
      ["nvidia-smi", "NVIDIA GeForce RTX 4090", "12.4"],
      ["nvidia-smi", "NVIDIA GeForce RTX 3060", "12.4"],
    ],
  );
});

test("NVML: init failing and nvidia-smi failing too gives the CPU-only answer with both reasons", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const { run } = scriptedRunner({ "nvidia-smi": exited(9, fixture("nvidia-smi/driver-not-loaded.txt")) });
  const result = await withFakeEnv({ FAKE_NVML_MODE: "init-fail" }, () =>
    detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: run, system: fixedSystem() }),
  );
  assert.equal(result.cpuOnly, true);
  assert.equal(result.attempts[0]?.outcome, "failed");
  assert.equal(result.attempts[1]?.outcome, "failed");
  assert.match(result.attempts[1]?.detail ?? "", /couldn't communicate with the NVIDIA driver/);
});

test("NVML: a missing library is 'unavailable', not an error", async () => {
  const result = await detectGpus({
    env: {},
    nvmlLibraryPath: path.join(dir, "absent", "libnvidia-ml.so.1"),
    runCommand: noTools,
    system: fixedSystem(),
  });
  assert.equal(result.cpuOnly, true);
  assert.equal(result.attempts[0]?.outcome, "unavailable");
  assert.match(result.attempts[0]?.detail ?? "", /cannot load/);
});

test("NVML: a lost GPU is listed with its errors and judged unhealthy; absent sensors are just null", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const gpus = "NVIDIA L4:23034:8.9:0:40:30:0:notemp+nopower;NVIDIA L4:23034:8.9:0:40:30:0:lost";
  const result = await withFakeEnv({ FAKE_NVML_GPUS: gpus }, () =>
    detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: noTools, system: fixedSystem() }),
  );
  const [quiet, lost] = result.gpus;
  assert.equal(quiet?.temperatureC, null);
  assert.equal(quiet?.powerDrawWatts, null);
  assert.deepEqual(quiet?.errors, []);
  assert.equal(quiet && validateGpuHealth(quiet).status, "healthy");
  assert.deepEqual(lost?.errors, [
    "memory: GPU is lost (NVML 15)",
    "temperature: GPU is lost (NVML 15)",
    "memory: total not reported",
  ]);
  assert.equal(lost && validateGpuHealth(lost).status, "unhealthy");
});

test("NVML: a driver without the compute-capability call gets it from the capability table", async (t) => {
  const nvml = libraryPath(t, oldLib);
  if (nvml === undefined) return;
  const result = await withFakeEnv(
    { FAKE_NVML_GPUS: "NVIDIA A100-SXM4-80GB:81920:8.0;Tesla P40:22919:6.1" },
    () => detectGpus({ env: {}, nvmlLibraryPath: nvml, runCommand: noTools, system: fixedSystem() }),
  );
  assert.deepEqual(
    result.gpus.map((g) => [g.computeCapabilityString, g.supportsBFloat16, g.cudaVersion]),
    [
      ["8.0", true, null],
      ["6.1", false, null],
    ],
  );
});

test("NVML: CUDA_VISIBLE_DEVICES by UUID and index selects and orders the GPUs", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  const three = `${TWO_GPUS};NVIDIA GeForce RTX 4090:24564:8.9`;
  const result = await withFakeEnv({ FAKE_NVML_GPUS: three }, () =>
    detectGpus({
      env: {
        CUDA_VISIBLE_DEVICES: "GPU-00000000-0000-4000-8000-000000000003,0",
        CUDA_DEVICE_ORDER: "PCI_BUS_ID",
      },
      nvmlLibraryPath: nvml,
      runCommand: noTools,
      system: fixedSystem(),
    }),
  );
  assert.deepEqual(
    result.gpus.map((g) => g.id),
    [2, 0],
  );
  assert.deepEqual(result.hiddenGpus, [
    { id: 1, uuid: "GPU-00000000-0000-4000-8000-000000000002", name: "Tesla T4" },
  ]);
  assert.deepEqual(result.visibleDevices, [
    { variable: "CUDA_VISIBLE_DEVICES", value: "GPU-00000000-0000-4000-8000-000000000003,0" },
  ]);
  assert.deepEqual(result.warnings, []);
});

test("detect command: --json through the fake library has the documented shape", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  let out = "";
  await withFakeEnv({ FAKE_NVML_GPUS: TWO_GPUS }, () =>
    runDetect(
      { json: true, nvmlLibrary: nvml },
      { write: (s) => (out += s), detectOptions: { runCommand: noTools, system: fixedSystem() } },
    ),
  );
  const report = JSON.parse(out) as Record<string, unknown> & { gpus: Record<string, unknown>[] };
  assert.deepEqual(Object.keys(report), [
    "schemaVersion",
    "cpuOnly",
    "gpus",
    "hiddenGpus",
    "cpu",
    "visibleDevices",
    "attempts",
    "warnings",
  ]);
  assert.equal(report.schemaVersion, 1);
  const gpu = report.gpus[0] ?? {};
  assert.equal(gpu.uuid, "GPU-00000000-0000-4000-8000-000000000001");
  assert.deepEqual(gpu.capabilities, {
    architecture: "Ada Lovelace",
    fastFloat16: true,
    memoryBandwidthGBps: 1008,
    fp16Tflops: 330.3,
    relativeDecodeSpeed: 1,
    specSource: "table",
    specModel: "GeForce RTX 4090",
    specNote: "GeForce RTX 4090 (source: NV-ADA)",
  });
  assert.deepEqual(gpu.health, { healthy: true, status: "healthy", problems: [] });
  assert.equal((report.gpus[1]?.capabilities as { relativeDecodeSpeed: number }).relativeDecodeSpeed, 0.317);
});

test("detect command: the table names each GPU with its UUID, memory and health", async (t) => {
  const nvml = libraryPath(t);
  if (nvml === undefined) return;
  let out = "";
  await withFakeEnv({ FAKE_NVML_GPUS: TWO_GPUS }, () =>
    runDetect(
      { nvmlLibrary: nvml },
      { write: (s) => (out += s), detectOptions: { runCommand: noTools, system: fixedSystem() } },
    ),
  );
  const lines = out.split("\n");
  assert.match(
    lines[0] ?? "",
    /^ID\s+NAME\s+UUID\s+MEMORY FREE\/TOTAL\s+CC\s+FP16\/BF16\/FP8\s+BW GB\/S\s+DECODE/,
  );
  assert.match(
    lines[1] ?? "",
    /^0\s+NVIDIA GeForce RTX 4090\s+GPU-0+-0000-4000-8000-0+1\s+22\.8 \/ 24\.0 GiB\s+8\.9\s+yes\/yes\/yes\s+1008\s+1\.00x\s+51°C\s+88 W\s+23%\s+healthy$/,
  );
  assert.match(lines[2] ?? "", /^1\s+Tesla T4\s+.*\s+7\.5\s+yes\/no\/no\s+320\s+0\.32x/);
  assert.match(out, /Source: nvml \(driver 550\.54\.15, CUDA 12\.4\)/);
  assert.match(out, /CPU: Test CPU 9000, 16 cores; RAM 48\.0 \/ 64\.0 GiB free/);
});
