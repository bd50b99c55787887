/** Model fit: the memory rule with its overhead, precision, and residency from loaded state and free memory. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canHold,
  KV_OVERHEAD_FIXED_BYTES,
  memoryNeededBytes,
  residencyOf,
} from "../src/routing/model-fit.js";

const GB = 1e9;
const MIB = 1024 ** 2;

describe("memoryNeededBytes", () => {
  it("adds 10% and 512 MiB to the model's size by default", () => {
    assert.equal(memoryNeededBytes(4 * GB), 4.4 * GB + 512 * MIB);
    assert.equal(KV_OVERHEAD_FIXED_BYTES, 512 * MIB);
  });

  it("uses a measured overhead instead when one is given", () => {
    assert.equal(memoryNeededBytes(4 * GB, 2 * GB), 6 * GB);
  });
});

describe("canHold", () => {
  const cases: Array<{ name: string; input: Parameters<typeof canHold>[0]; expected: boolean }> = [
    {
      name: "a 4 GB model fits an 8 GB limit",
      input: { modelSizeBytes: 4 * GB, memoryLimitBytes: 8 * GB },
      expected: true,
    },
    {
      name: "a 7.5 GB model does not fit an 8 GB limit once the KV cache is allowed for",
      input: { modelSizeBytes: 7.5 * GB, memoryLimitBytes: 8 * GB },
      expected: false,
    },
    {
      name: "the exact limit still fits",
      input: { modelSizeBytes: 4 * GB, memoryLimitBytes: 4.4 * GB + 512 * MIB },
      expected: true,
    },
    {
      name: "a larger measured overhead can rule an instance out",
      input: { modelSizeBytes: 4 * GB, memoryLimitBytes: 8 * GB, overheadBytes: 4.5 * GB },
      expected: false,
    },
    {
      name: "no memory limit holds anything",
      input: { modelSizeBytes: 400 * GB, memoryLimitBytes: undefined },
      expected: true,
    },
    {
      name: "a model requiring BF16 never goes to a GPU known to lack it",
      input: {
        modelSizeBytes: 1 * GB,
        memoryLimitBytes: 80 * GB,
        requiresPrecision: "bf16",
        supportsBf16: false,
        supportsFp16: true,
      },
      expected: false,
    },
    {
      name: "a model requiring FP16 never goes to a GPU known to lack it",
      input: {
        modelSizeBytes: 1 * GB,
        memoryLimitBytes: 80 * GB,
        requiresPrecision: "fp16",
        supportsFp16: false,
      },
      expected: false,
    },
    {
      name: "a GPU with the required precision is fine",
      input: {
        modelSizeBytes: 1 * GB,
        memoryLimitBytes: 80 * GB,
        requiresPrecision: "bf16",
        supportsBf16: true,
      },
      expected: true,
    },
    {
      name: "unknown precision support does not exclude an instance",
      input: { modelSizeBytes: 1 * GB, memoryLimitBytes: 80 * GB, requiresPrecision: "bf16" },
      expected: true,
    },
    {
      name: "a GPU lacking a precision the model does not require is fine",
      input: { modelSizeBytes: 1 * GB, memoryLimitBytes: 80 * GB, supportsBf16: false, supportsFp16: false },
      expected: true,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(canHold(c.input), c.expected));
});

describe("residencyOf", () => {
  const cases: Array<{ name: string; input: Parameters<typeof residencyOf>[0]; expected: string }> = [
    {
      name: "a loaded model is hot whatever the free memory",
      input: { loaded: true, modelSizeBytes: 4 * GB, freeBytes: 0 },
      expected: "hot",
    },
    {
      name: "a model that fits the free memory is warm",
      input: { loaded: false, modelSizeBytes: 4 * GB, freeBytes: 6 * GB },
      expected: "warm",
    },
    {
      name: "a model that fits only without its KV cache is cold",
      input: { loaded: false, modelSizeBytes: 4 * GB, freeBytes: 4.2 * GB },
      expected: "cold",
    },
    {
      name: "a measured overhead decides warm against cold",
      input: { loaded: false, modelSizeBytes: 4 * GB, freeBytes: 4.2 * GB, overheadBytes: 0.1 * GB },
      expected: "warm",
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(residencyOf(c.input), c.expected));
});
