// [Provisioning]: the planner's and the supervisor's keys, read from INI, environment and flags.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePlannedModel } from "../src/config/provisioning-schema.js";
import { defaultConfig } from "../src/config/schema.js";
import { loadConfig } from "../src/config/load-config.js";
import { input, loadError, loadFiles } from "./fixtures/config/temp-files.js";

test("the defaults give 1/2/3/4 instances from 14/20/40 GiB, base port 11500 and a 4 GiB system reserve", () => {
  const p = defaultConfig().provisioning;
  assert.deepEqual(p.instanceThresholdsGib, [14, 20, 40]);
  assert.equal(p.basePort, 11500);
  assert.equal(p.systemMemoryReserveBytes, 4 * 1024 ** 3);
  assert.equal(p.ollamaBin, "ollama");
  assert.equal(p.keepAlive, "30m");
  assert.equal(p.allowPull, false);
  assert.equal(p.modelsDir, undefined);
  assert.equal(p.plannedModels, undefined);
});

test("PlannedModels reads name, @size, =weight and +precision, and adds :latest to a bare name", async () => {
  const ini = "[Provisioning]\nPlannedModels = llama3.2:3b=3, qwen2.5:7b @ 4.7GB = 1.5 +BF16, phi3\n";
  const { config } = await loadFiles({ ini });
  assert.deepEqual(config.provisioning.plannedModels, [
    { name: "llama3.2:3b", weight: 3, sizeBytes: undefined, precision: undefined },
    { name: "qwen2.5:7b", weight: 1.5, sizeBytes: 4.7e9, precision: "bf16" },
    { name: "phi3:latest", weight: 1, sizeBytes: undefined, precision: undefined },
  ]);
});

test("a bad PlannedModels entry says which part is wrong", () => {
  assert.match(String(parsePlannedModel("llama3.2:3b=0")), /after = is not a demand weight > 0/);
  assert.match(String(parsePlannedModel("llama3.2:3b@huge")), /after @ is not a size/);
  assert.match(String(parsePlannedModel("llama3.2:3b+int4")), /after \+ is not one of fp16, bf16, fp8/);
  assert.match(String(parsePlannedModel("two words")), /is not name\[@size\]/);
});

test("a model listed twice in PlannedModels is a problem", async () => {
  const error = await loadError(loadFiles({ ini: "[Provisioning]\nPlannedModels = a:1, b:2=2, a:1=3\n" }));
  assert.match(error.problems[0]?.message ?? "", /a:1 is listed twice/);
});

test("thresholds come from the environment and must increase; empty means one instance per GPU", async () => {
  const { config } = await loadConfig(input({ env: { OLLAMA_FLEET_INSTANCE_THRESHOLDS_GIB: "10, 30.5" } }));
  assert.deepEqual(config.provisioning.instanceThresholdsGib, [10, 30.5]);
  const flat = await loadFiles({ ini: "[Provisioning]\nInstanceThresholdsGib =\n" });
  assert.deepEqual(flat.config.provisioning.instanceThresholdsGib, []);
  const error = await loadError(loadFiles({ ini: "[Provisioning]\nInstanceThresholdsGib = 20, 10\n" }));
  assert.match(error.problems[0]?.message ?? "", /increasing GiB values/);
});

test("KeepAlive takes Go durations and seconds, and rejects words", async () => {
  for (const ok of ["30m", "1h30m", "-1", "0", "300", "2.5s"]) {
    const { config } = await loadConfig(input({ flags: { keepAlive: ok } }));
    assert.equal(config.provisioning.keepAlive, ok);
  }
  const error = await loadError(loadConfig(input({ flags: { keepAlive: "forever" } })));
  assert.equal(error.problems[0]?.key, "--keep-alive");
});

test("sizes take units, and an empty ModelsDir means Ollama's default", async () => {
  const ini =
    "[Provisioning]\nSystemMemoryReserveBytes = 8GiB\nGpuMemoryReserveBytes = 512MiB\nModelsDir =\n";
  const { config } = await loadFiles({ ini });
  assert.equal(config.provisioning.systemMemoryReserveBytes, 8 * 1024 ** 3);
  assert.equal(config.provisioning.gpuMemoryReserveBytes, 512 * 1024 ** 2);
  assert.equal(config.provisioning.modelsDir, undefined);
});
