/** `ollama-fleet serve` as a process: config errors exit 2, configured instances, the emulated demo fleet. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawnEmulator } from "./helpers/spawn-emulator.js";
import { waitForJsonLine } from "../src/util/json-line.js";

const CLI = join(process.cwd(), "dist/src/cli/main.js");

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "" },
  });
}

function waitForListening(child: ChildProcess): Promise<string> {
  return waitForJsonLine(child, (m) => (m.msg === "gateway listening" ? String(m.url) : undefined), 20_000);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}

describe("ollama-fleet serve", () => {
  it("exits with status 2 before listening and reports every config problem at once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleet-cli-"));
    const ini = join(dir, "bad.ini");
    await writeFile(ini, "[GPU_LoadBalancing]\nMaxBatchSize = lots\nLoadBalancingStrategy = Fastest\n");
    const child = run(["serve", "--config", ini, "--port", "0"]);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    assert.equal(await exitOf(child), 2);
    assert.match(stderr, /MaxBatchSize/);
    assert.match(stderr, /LoadBalancingStrategy/);
    assert.match(stderr, /WeightedRoundRobin/);
  });

  it("attaches the instances of a gpu_instances YAML and serves through them", async () => {
    const emulator = await spawnEmulator(["--models", "llama3.2:1b:1.3:1.2", "--time-scale", "50"]);
    const dir = await mkdtemp(join(tmpdir(), "fleet-cli-"));
    const yaml = join(dir, "instances.yaml");
    await writeFile(
      yaml,
      `gpu_instances:\n  - gpu_id: 0\n    name: "Test GPU"\n    port: ${emulator.port}\n    memory_limit: 7GB\n    models:\n      - llama3.2:1b\n    max_concurrent_requests: 2\n`,
    );
    const child = run(["serve", "--instances", yaml, "--port", "0"]);
    try {
      const url = await waitForListening(child);
      const res = await fetch(`${url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({
          model: "llama3.2:1b",
          prompt: "hi",
          stream: false,
          options: { num_predict: 2 },
        }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ollama-fleet-instance"), `gpu0-${emulator.port}`);
      assert.equal(res.headers.get("x-ollama-fleet-emulated"), null);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exitOf(child), 0);
      await emulator.stop();
    }
  });

  it("runs the seed's emulated fleet when nothing is configured, says so, and stops its children", async () => {
    const child = run(["serve", "--emulate", "--port", "0"]);
    const url = await waitForListening(child);
    const version = await fetch(`${url}/api/version`);
    assert.equal(version.headers.get("x-ollama-fleet-emulated"), "true");
    assert.match(((await version.json()) as { version: string }).version, /^\d+\.\d+\.\d+/);
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: { name: string }[] };
    assert.deepEqual(tags.models.map((m) => m.name).sort(), [
      "codegemma:7b",
      "deepseek-coder:6.7b",
      "gemma2:9b",
      "mistral:7b-instruct-q4_K_M",
    ]);
    const instances = (await (await fetch(`${url}/fleet/instances`)).json()) as {
      instances: { url: string }[];
    };
    child.kill("SIGTERM");
    assert.equal(await exitOf(child), 0);
    for (const i of instances.instances) {
      await assert.rejects(fetch(`${i.url}/api/version`), "emulator child should be gone");
    }
  });
});
