// The capability database: precision by compute capability / gfx target, the spec table, estimates,
// relative decode speed, and the seed's GetGpuCapabilities and ValidateGpuHealth.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  estimateDecodeTokensPerSecond,
  formatComputeCapability,
  lookupGpuSpec,
  normaliseGpuName,
  nvidiaPrecisionSupport,
  amdPrecisionSupport,
  amdArchitecture,
  parseComputeCapability,
  relativeDecodeSpeeds,
  specVendor,
} from "../src/gpu/capability-db.js";
import { getGpuCapabilities } from "../src/gpu/gpu-capabilities.js";
import { defaultGpuHealthThresholds, validateGpuHealth } from "../src/gpu/gpu-health.js";
import { blankReading, completeGpuInfo } from "../src/gpu/gpu-info.js";
import { GPU_SPECS } from "../src/gpu/gpu-spec-table.js";
import type { GpuInfo } from "../src/gpu/types.js";

const GIB = 1024 ** 3;

/** A detected NVIDIA GPU as NVML would describe it. */
function nvidia(name: string, memGiB: number, cc: number | null, extra: Partial<GpuInfo> = {}): GpuInfo {
  const reading = blankReading(0, name, "nvidia", "nvml");
  return {
    ...completeGpuInfo({
      ...reading,
      uuid: `GPU-${name}`,
      memoryTotalBytes: memGiB * GIB,
      computeCapability: cc,
    }),
    ...extra,
  };
}

test("compute capability: '8.6' ⇄ 86, and 12.0 ⇄ 120", () => {
  assert.equal(parseComputeCapability("8.6"), 86);
  assert.equal(parseComputeCapability("12.0"), 120);
  assert.equal(parseComputeCapability("[N/A]"), undefined);
  assert.equal(formatComputeCapability(86), "8.6");
  assert.equal(formatComputeCapability(120), "12.0");
  assert.equal(formatComputeCapability(0), "");
});

test("NVIDIA precision: FP16 from 5.3 (slow on 6.1), BF16 from 8.0, FP8 from 8.9", () => {
  const row = (cc: number) => Object.values(nvidiaPrecisionSupport(cc));
  assert.deepEqual(row(52), [false, false, false, false]);
  assert.deepEqual(row(61), [true, false, false, false]);
  assert.deepEqual(row(60), [true, true, false, false]);
  assert.deepEqual(row(75), [true, true, false, false]);
  assert.deepEqual(row(86), [true, true, true, false]);
  assert.deepEqual(row(89), [true, true, true, true]);
  assert.deepEqual(row(90), [true, true, true, true]);
  assert.deepEqual(row(120), [true, true, true, true]);
});

test("AMD precision by gfx target: BF16 on CDNA and RDNA 3+, FP8 on CDNA 3/4 and RDNA 4", () => {
  const row = (gfx: string) => {
    const p = amdPrecisionSupport(amdArchitecture(gfx));
    return [p.bfloat16, p.fp8];
  };
  assert.deepEqual(row("gfx906"), [false, false]);
  assert.deepEqual(row("gfx90a"), [true, false]);
  assert.deepEqual(row("gfx942"), [true, true]);
  assert.deepEqual(row("gfx1030"), [false, false]);
  assert.deepEqual(row("gfx1100"), [true, false]);
  assert.deepEqual(row("gfx1201"), [true, true]);
  assert.deepEqual(row("gfx9999"), [false, false]);
});

test("names are normalised before matching: vendor words, dashes and case do not matter", () => {
  assert.equal(normaliseGpuName("NVIDIA A100-SXM4-80GB"), "a100 sxm4 80gb");
  assert.equal(normaliseGpuName("AMD Radeon RX 7900 XTX"), "rx 7900 xtx");
  assert.equal(normaliseGpuName("Tesla T4"), "t4");
});

test("the table knows consumer and data-centre GPUs from GTX 10xx to B200 and AMD Instinct/Radeon", () => {
  const model = (name: string, gib?: number) =>
    lookupGpuSpec(name, gib === undefined ? undefined : gib * GIB)?.model;
  assert.equal(model("NVIDIA GeForce GTX 1080 Ti"), "GeForce GTX 1080 Ti");
  assert.equal(model("NVIDIA GeForce RTX 2080 SUPER"), "GeForce RTX 2080 SUPER");
  assert.equal(model("NVIDIA GeForce RTX 3060", 12), "GeForce RTX 3060 12GB");
  assert.equal(model("NVIDIA GeForce RTX 3060", 8), "GeForce RTX 3060 8GB");
  assert.equal(model("NVIDIA GeForce RTX 4070 Ti SUPER"), "GeForce RTX 4070 Ti SUPER");
  assert.equal(model("NVIDIA GeForce RTX 4070 SUPER"), "GeForce RTX 4070 SUPER");
  assert.equal(model("NVIDIA GeForce RTX 4070"), "GeForce RTX 4070");
  assert.equal(model("NVIDIA GeForce RTX 5090"), "GeForce RTX 5090");
  assert.equal(model("Tesla T4"), "Tesla T4");
  assert.equal(model("NVIDIA A10"), "A10");
  assert.equal(model("NVIDIA A10G"), "A10G");
  assert.equal(model("NVIDIA A100-SXM4-80GB", 80), "A100 SXM4 80GB");
  assert.equal(model("NVIDIA A100-PCIE-40GB", 40), "A100 40GB");
  assert.equal(model("NVIDIA A100 80GB PCIe", 80), "A100 PCIe 80GB");
  assert.equal(model("NVIDIA L4"), "L4");
  assert.equal(model("NVIDIA L40S"), "L40S");
  assert.equal(model("NVIDIA H100 80GB HBM3"), "H100 SXM5");
  assert.equal(model("NVIDIA H100 PCIe"), "H100 PCIe");
  assert.equal(model("NVIDIA H200"), "H200 SXM");
  assert.equal(model("NVIDIA B200"), "B200");
  assert.equal(model("AMD Instinct MI210"), "Instinct MI210");
  assert.equal(model("AMD Instinct MI250X"), "Instinct MI250X");
  assert.equal(model("AMD Instinct MI300X"), "Instinct MI300X");
  assert.equal(model("Radeon RX 7900 XTX"), "Radeon RX 7900 XTX");
  assert.equal(model("AMD Radeon RX 7900 XT"), "Radeon RX 7900 XT");
  assert.equal(model("NVIDIA GH200 480GB"), undefined);
});

test("laptop parts never take desktop figures", () => {
  assert.equal(lookupGpuSpec("NVIDIA GeForce RTX 4090 Laptop GPU", 16 * GIB), undefined);
  assert.equal(lookupGpuSpec("NVIDIA GeForce RTX 2080 with Max-Q Design"), undefined);
});

test("every table row is well formed: positive figures, a documented source, its own name matches it", () => {
  const sources = ["NV-PASCAL", "NV-TURING", "NV-VOLTA", "NV-AMPERE", "AWS-A10G", "NV-ADA", "NV-HOPPER"];
  sources.push("NV-BLACKWELL", "AMD-CDNA", "AMD-RDNA");
  for (const spec of GPU_SPECS) {
    assert.ok(spec.bandwidthGBps > 0 && spec.fp16Tflops > 0 && spec.memoryGiB > 0, spec.model);
    assert.ok(sources.includes(spec.source), `${spec.model}: unknown source ${spec.source}`);
    const found = lookupGpuSpec(
      `${specVendor(spec) === "amd" ? "AMD" : "NVIDIA"} ${spec.model}`,
      spec.memoryGiB * GIB,
    );
    assert.equal(found?.model, spec.model, `${spec.model} is shadowed by an earlier row`);
  }
});

test("getGpuCapabilities: table figures for a known GPU", () => {
  const caps = getGpuCapabilities(nvidia("NVIDIA GeForce RTX 4090", 24, 89));
  assert.equal(caps.architecture, "Ada Lovelace");
  assert.equal(caps.memoryBandwidthGBps, 1008);
  assert.equal(caps.fp16Tflops, 330.3);
  assert.equal(caps.specSource, "table");
  assert.deepEqual(
    [caps.supportsFloat16, caps.fastFloat16, caps.supportsBFloat16, caps.supportsFp8],
    [true, true, true, true],
  );
  const pascal = getGpuCapabilities(nvidia("NVIDIA GeForce GTX 1070", 8, 61));
  assert.deepEqual([pascal.supportsFloat16, pascal.fastFloat16], [true, false]);
});

test("getGpuCapabilities: an unknown GPU gets figures derived from its architecture and memory", () => {
  const caps = getGpuCapabilities(nvidia("NVIDIA RTX 2000 Ada Generation", 16, 89));
  assert.equal(caps.specSource, "derived");
  assert.equal(caps.architecture, "Ada Lovelace");
  assert.equal(caps.specModel, "GeForce RTX 4080");
  assert.match(caps.specNote, /median of 3 known Ada Lovelace GPUs with memory near 16 GiB/);
  const mystery = getGpuCapabilities(nvidia("NVIDIA Mystery Accelerator", 40, null));
  assert.equal(mystery.architecture, null);
  assert.equal(mystery.specSource, "derived");
  assert.ok(mystery.memoryBandwidthGBps > 0);
  assert.equal(mystery.supportsFloat16, false, "nothing is claimed for hardware nobody knows");
});

test("a missing compute capability comes from the table by name", () => {
  const gpu = nvidia("NVIDIA A100-SXM4-80GB", 80, null);
  assert.equal(gpu.computeCapability, 80);
  assert.equal(gpu.computeCapabilityString, "8.0");
  assert.equal(gpu.supportsBFloat16, true);
});

test("relative decode speed follows bandwidth; tokens/s = bandwidth × efficiency ÷ model size", () => {
  const speeds = relativeDecodeSpeeds([
    { uuid: "a", memoryBandwidthGBps: 1008 },
    { uuid: "b", memoryBandwidthGBps: 504 },
  ]);
  assert.deepEqual(
    [...speeds],
    [
      ["a", 1],
      ["b", 0.5],
    ],
  );
  assert.deepEqual(relativeDecodeSpeeds([]), new Map());
  assert.equal(estimateDecodeTokensPerSecond(1000, 5e9, 0.5), 100);
  assert.equal(estimateDecodeTokensPerSecond(1000, 0), 0);
});

test("validateGpuHealth: temperature, free memory and errors, with the seed's boolean", () => {
  const base = nvidia("NVIDIA L4", 24, 89, { temperatureC: 60, memoryAvailableBytes: 20 * GIB });
  assert.deepEqual(validateGpuHealth(base), { healthy: true, status: "healthy", problems: [] });

  const hot = validateGpuHealth({ ...base, temperatureC: 85 });
  assert.equal(hot.status, "degraded");
  assert.equal(hot.healthy, false);
  assert.equal(validateGpuHealth({ ...base, temperatureC: 95 }).status, "unhealthy");

  const full = validateGpuHealth({ ...base, memoryAvailableBytes: 100 * 1024 ** 2 });
  assert.deepEqual(full.problems, [
    { kind: "memory", severity: "degraded", message: "only 100 MiB free (< 512 MiB)" },
  ]);

  assert.equal(
    validateGpuHealth({ ...base, errors: ["power: insufficient permissions (NVML 4)"] }).status,
    "degraded",
  );
  assert.equal(validateGpuHealth({ ...base, errors: ["memory: GPU is lost (NVML 15)"] }).status, "unhealthy");

  const strict = { ...defaultGpuHealthThresholds(), warnTemperatureC: 50 };
  assert.equal(validateGpuHealth(base, strict).status, "degraded");
  assert.equal(
    validateGpuHealth({ ...base, temperatureC: null }, strict).status,
    "healthy",
    "no reading is no problem",
  );
});
