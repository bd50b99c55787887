// `ollama-fleet plan` as a user runs it: the real CLI process, GPUs from the fake libnvidia-ml.so.1.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import type { PlanReport } from "../src/supervisor/plan-report.js";
import { buildFakeNvml } from "./fixtures/gpu/gpu-fixtures.js";

const CLI = path.join(process.cwd(), "dist/src/cli/main.js");
const MIB = 1024 ** 2;
const dir = mkdtempSync(path.join(tmpdir(), "plan-cli-"));
let lib: { path: string } | { skip: string };

before(async () => {
  lib = await buildFakeNvml(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TWO_GPUS = "NVIDIA GeForce RTX 4090:24564:8.9:1200:51:87.5:23;Tesla T4:15360:7.5:0:38:16.4:0";

/** Runs the CLI with the fake NVML and only our variables (no OLLAMA_FLEET_* from the outer shell). */
async function cli(
  t: TestContext,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  if ("skip" in lib) {
    t.skip(lib.skip);
    return undefined;
  }
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("OLLAMA_FLEET_")),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, "plan", "--nvml-library", lib.path, "--no-probe", ...args],
      { env: { ...clean, ...env }, timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

test("plan --json plans the fake GPUs: 3 instances on the 24 GiB card, 2 on the 15 GiB one, pinned by UUID", async (t) => {
  const run = await cli(t, ["--json"], {
    FAKE_NVML_GPUS: TWO_GPUS,
    OLLAMA_FLEET_PLANNED_MODELS: "llama3.2:3b=3, qwen2.5:7b=1",
  });
  if (run === undefined) return;
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as PlanReport;
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.mode, "auto");
  assert.deepEqual(report.detected.gpuCount, 2);
  assert.deepEqual(
    report.instances.map((i) => [i.id, i.port, i.device.kind === "gpu" ? i.device.uuid : "cpu"]),
    [
      ["gpu0-11500", 11500, "GPU-00000000-0000-4000-8000-000000000001"],
      ["gpu0-11501", 11501, "GPU-00000000-0000-4000-8000-000000000001"],
      ["gpu0-11502", 11502, "GPU-00000000-0000-4000-8000-000000000001"],
      ["gpu1-11503", 11503, "GPU-00000000-0000-4000-8000-000000000002"],
      ["gpu1-11504", 11504, "GPU-00000000-0000-4000-8000-000000000002"],
    ],
  );
  assert.equal(report.instances[0]?.memoryLimitBytes, Math.floor((24564 * MIB - 1024 * MIB) / 3));
  const hot = report.instances[0]?.models[0];
  assert.equal(hot?.name, "llama3.2:3b");
  assert.equal(hot?.preloadStep, 1);
  assert.match(hot?.reason ?? "", /hot model/);
  for (const i of report.instances) {
    assert.equal(i.externalUrl, null);
    for (const m of i.models) assert.ok(m.sizeBytes !== null && m.sizeBytes > 0);
  }
  assert.deepEqual(report.unplaced, []);
});

test("plan prints a table with every instance and the reasons for its numbers and models", async (t) => {
  const run = await cli(t, [], {
    FAKE_NVML_GPUS: TWO_GPUS,
    OLLAMA_FLEET_PLANNED_MODELS: "llama3.1:70b, phi3",
  });
  if (run === undefined) return;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Plan \(automatic, from 2 GPU\(s\)\): 5 instance\(s\)/);
  assert.match(run.stdout, /INSTANCE\s+DEVICE\s+PORT\s+MEMORY/);
  assert.match(run.stdout, /gpu1-11504\s+GPU 1 Tesla T4\s+11504/);
  assert.match(run.stdout, /has 24\.0 GiB: 3 instance\(s\)/);
  assert.match(run.stdout, /Unplaced models:\n {2}llama3\.1:70b: Not placed: it needs at least/);
});

test("plan with no GPU from NVML plans one CPU instance", async (t) => {
  const run = await cli(t, ["--json"], { FAKE_NVML_GPUS: "", PATH: "/nonexistent" });
  if (run === undefined) return;
  const report = JSON.parse(run.stdout) as PlanReport;
  assert.equal(report.detected.cpuOnly, true);
  assert.deepEqual(
    report.instances.map((i) => i.device),
    [{ kind: "cpu" }],
  );
});

test("plan with a gpu_instances file reflects the file and says the file overrides the plan", async (t) => {
  const yaml = path.join(dir, "instances.yaml");
  writeFileSync(yaml, "gpu_instances:\n  - gpu_id: 1\n    port: 11434\n    models: [qwen2.5:7b]\n");
  const run = await cli(t, ["--instances", yaml], { FAKE_NVML_GPUS: TWO_GPUS });
  if (run === undefined) return;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /from the gpu_instances YAML file, which overrides the automatic plan/);
  assert.match(run.stdout, /gpu1-11434\s+GPU 1 Tesla T4\s+11434/);
});

test("an invalid [Provisioning] value stops plan with exit status 2 and the problem", async (t) => {
  const run = await cli(t, [], { FAKE_NVML_GPUS: TWO_GPUS, OLLAMA_FLEET_INSTANCE_THRESHOLDS_GIB: "20,10" });
  if (run === undefined) return;
  assert.equal(run.code, 2);
  assert.match(run.stderr, /OLLAMA_FLEET_INSTANCE_THRESHOLDS_GIB.*increasing GiB values/);
});
