// scripts/gpu-check.sh end to end: the fake libnvidia-ml.so.1 as NVML, and nvidia-smi absent or faked.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test, type TestContext } from "node:test";
import type { GpuCheckReport } from "../src/cli/gpu-check-report.js";
import { buildFakeNvml } from "./fixtures/gpu/gpu-fixtures.js";

const SCRIPT = path.join(process.cwd(), "scripts", "gpu-check.sh");
const BASH = execFileSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).trim();
const dir = mkdtempSync(path.join(tmpdir(), "gpu-check-"));
let lib: { path: string } | { skip: string };

before(async () => {
  lib = await buildFakeNvml(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const GPUS = "NVIDIA GeForce RTX 4090:24564:8.9:1200:51:87.5:23;Tesla T4:15360:7.5:0:38:16.4:0";
/** What a real nvidia-smi prints for the fake's GPUs (same UUIDs, bus ids, driver). */
const SMI_ROWS = [
  "0, GPU-00000000-0000-4000-8000-000000000001, NVIDIA GeForce RTX 4090, 00000000:01:00.0, 24564, 23364, 1200, 8.9, 23, 52, 88.10, 550.54.15",
  "1, GPU-00000000-0000-4000-8000-000000000002, Tesla T4, 00000000:02:00.0, 15360, 15360, 0, 7.5, 0, 38, 16.40, 550.54.15",
];

/** A directory holding an `nvidia-smi` shell script that prints `stdout` (and rejects compute_cap if asked). */
function fakeNvidiaSmi(name: string, rows: string[], rejectComputeCap = false): string {
  const bin = path.join(dir, name);
  mkdirSync(bin, { recursive: true });
  const reject = rejectComputeCap
    ? `case "$*" in *compute_cap*) echo 'Field "compute_cap" is not a valid field to query.'; exit 2;; esac\n`
    : "";
  const withoutCc = rows.map((r) =>
    r
      .split(", ")
      .filter((_, i) => i !== 7)
      .join(", "),
  );
  const body = rejectComputeCap ? withoutCc : rows;
  writeFileSync(path.join(bin, "nvidia-smi"), `#!${BASH}\n${reject}cat <<'CSV'\n${body.join("\n")}\nCSV\n`);
  chmodSync(path.join(bin, "nvidia-smi"), 0o755);
  return bin;
}

/** Runs the script with only node (and optionally a fake nvidia-smi) on PATH. */
async function gpuCheck(
  t: TestContext,
  extraPath: string[] = [],
): Promise<{ code: number; report: GpuCheckReport } | undefined> {
  if ("skip" in lib) {
    t.skip(lib.skip);
    return undefined;
  }
  const nvml = lib.path;
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("OLLAMA_FLEET_")),
  );
  const env = {
    ...clean,
    FAKE_NVML_GPUS: GPUS,
    PATH: [...extraPath, path.dirname(process.execPath)].join(":"),
  };
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(BASH, [SCRIPT, "--nvml-library", nvml], { env, timeout: 60_000 }, (error, out) => {
      resolve({
        code: error === null ? 0 : Number((error as { code?: number }).code ?? -1),
        stdout: String(out),
      });
    });
  });
  return { code, report: JSON.parse(stdout) as GpuCheckReport };
}

test("without nvidia-smi the report carries detect and plan and says nvidia-smi is absent", async (t) => {
  const run = await gpuCheck(t);
  if (run === undefined) return;
  assert.equal(run.code, 0);
  assert.equal(run.report.status, "no-nvidia-smi");
  assert.deepEqual(run.report.nvidiaSmi, {
    available: false,
    detail: "nvidia-smi not found on PATH",
    gpuCount: 0,
  });
  assert.deepEqual(run.report.problems, ["nvidia-smi: nvidia-smi not found on PATH"]);
  assert.equal(run.report.detect?.gpus.length, 2);
  assert.equal(run.report.plan?.instances.length, 5);
  assert.equal(run.report.comparison.gpuCountMatch, null);
});

test("an nvidia-smi that agrees with NVML gives status pass, field by field", async (t) => {
  const run = await gpuCheck(t, [fakeNvidiaSmi("agrees", SMI_ROWS)]);
  if (run === undefined) return;
  assert.equal(run.code, 0, JSON.stringify(run.report.problems));
  assert.equal(run.report.status, "pass");
  assert.equal(run.report.comparison.gpuCountMatch, true);
  assert.equal(run.report.comparison.gpus.length, 2);
  const first = run.report.comparison.gpus[0];
  assert.deepEqual(
    first?.checks.map((c) => [c.field, c.match]),
    [
      ["name", true],
      ["pciBusId", true],
      ["memoryTotalBytes", true],
      ["memoryUsedBytes", true],
      ["computeCapability", true],
      ["driverVersion", true],
      ["temperatureC", true],
      ["powerDrawWatts", true],
    ],
  );
});

test("a memory total nvidia-smi disagrees with is a mismatch, exit status 1, named in problems", async (t) => {
  const rows = [SMI_ROWS[0]?.replace(", 24564, ", ", 24000, ") ?? "", SMI_ROWS[1] ?? ""];
  const run = await gpuCheck(t, [fakeNvidiaSmi("disagrees", rows)]);
  if (run === undefined) return;
  assert.equal(run.code, 1);
  assert.equal(run.report.status, "mismatch");
  assert.deepEqual(run.report.problems, [
    `GPU-00000000-0000-4000-8000-000000000001 memoryTotalBytes: NVML ${24564 * 1024 ** 2}, nvidia-smi ${24000 * 1024 ** 2} (±1 MiB (nvidia-smi prints MiB))`,
  ]);
});

test("an old nvidia-smi that rejects compute_cap is asked again without it; that field is then not compared", async (t) => {
  const run = await gpuCheck(t, [fakeNvidiaSmi("old", SMI_ROWS, true)]);
  if (run === undefined) return;
  assert.equal(run.report.status, "pass", JSON.stringify(run.report.problems));
  const cc = run.report.comparison.gpus[0]?.checks.find((c) => c.field === "computeCapability");
  assert.deepEqual(cc, {
    field: "computeCapability",
    nvml: 89,
    nvidiaSmi: null,
    match: null,
    tolerance: "exact",
  });
});

test("a GPU nvidia-smi lists but NVML does not is reported on both counts", async (t) => {
  const extra =
    "2, GPU-ffffffff-0000-4000-8000-000000000009, NVIDIA L4, 00000000:03:00.0, 23034, 23034, 0, 8.9, 0, 30, 12.00, 550.54.15";
  const run = await gpuCheck(t, [fakeNvidiaSmi("extra", [...SMI_ROWS, extra])]);
  if (run === undefined) return;
  assert.equal(run.report.status, "mismatch");
  assert.equal(run.report.comparison.gpuCountMatch, false);
  assert.deepEqual(run.report.comparison.onlyNvidiaSmi, ["GPU-ffffffff-0000-4000-8000-000000000009"]);
});
