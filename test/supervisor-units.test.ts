/** The supervisor's small pure parts: device pinning, log lines, the device lock, keep-alive, binaries. */
import assert from "node:assert/strict";
import { mkdtemp, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DeviceLock } from "../src/supervisor/device-lock.js";
import { deviceEnv, instanceEnv } from "../src/supervisor/instance-env.js";
import { levelOfLine, LineSplitter, LogTail } from "../src/supervisor/instance-log.js";
import { keepAliveJson } from "../src/supervisor/ollama-admin.js";
import { emulatedGpuEnv, findExecutable } from "../src/supervisor/ollama-binary.js";
import type { PlannedInstance } from "../src/supervisor/plan-types.js";
import { supervisorSettings } from "../src/supervisor/supervisor-settings.js";

const GPU = {
  kind: "gpu" as const,
  vendor: "nvidia" as const,
  index: 1,
  uuid: "GPU-abc",
  name: "NVIDIA A10",
  memoryTotalBytes: 24e9,
};

function instance(over: Partial<PlannedInstance> = {}): PlannedInstance {
  return {
    id: "gpu1-11501",
    device: GPU,
    port: 11501,
    memoryLimitBytes: 11 * 1024 ** 3,
    numParallel: 3,
    maxConcurrentRequests: 3,
    maxLoadedModels: 2,
    models: [],
    reasons: [],
    ...over,
  };
}

describe("instance environment", () => {
  it("pins an NVIDIA instance by UUID and hides AMD devices", () => {
    assert.deepEqual(deviceEnv(GPU), {
      CUDA_VISIBLE_DEVICES: "GPU-abc",
      HIP_VISIBLE_DEVICES: "-1",
      ROCR_VISIBLE_DEVICES: "-1",
    });
  });

  it("pins an AMD instance through ROCR by UUID, with HIP's only device, and hides NVIDIA", () => {
    assert.deepEqual(deviceEnv({ ...GPU, vendor: "amd", uuid: "GPU-5f2c" }), {
      CUDA_VISIBLE_DEVICES: "-1",
      HIP_VISIBLE_DEVICES: "0",
      ROCR_VISIBLE_DEVICES: "GPU-5f2c",
    });
  });

  it("hides every GPU from a CPU instance", () => {
    assert.deepEqual(deviceEnv({ kind: "cpu" }), {
      CUDA_VISIBLE_DEVICES: "-1",
      HIP_VISIBLE_DEVICES: "-1",
      ROCR_VISIBLE_DEVICES: "-1",
    });
  });

  it("sets Ollama's variables over the inherited ones, and a lower slot count after a recovery", () => {
    const base = {
      PATH: "/bin",
      CUDA_VISIBLE_DEVICES: "0,1",
      OLLAMA_SCHED_SPREAD: "1",
      OLLAMA_HOST: "0.0.0.0",
    };
    const env = instanceEnv(instance(), { modelsDir: "/srv/models", keepAlive: "30m" }, base, {
      numParallel: 1,
    });
    assert.equal(env.PATH, "/bin");
    assert.equal(env.CUDA_VISIBLE_DEVICES, "GPU-abc");
    assert.equal(env.OLLAMA_HOST, "127.0.0.1:11501");
    assert.equal(env.OLLAMA_NUM_PARALLEL, "1");
    assert.equal(env.OLLAMA_MAX_LOADED_MODELS, "2");
    assert.equal(env.OLLAMA_MODELS, "/srv/models");
    assert.equal(env.OLLAMA_KEEP_ALIVE, "30m");
    assert.equal(env.OLLAMA_SCHED_SPREAD, undefined);
    const defaults = instanceEnv(instance(), { modelsDir: undefined, keepAlive: undefined }, {});
    assert.equal(defaults.OLLAMA_NUM_PARALLEL, "3");
    assert.equal("OLLAMA_MODELS" in defaults, false);
    assert.equal("OLLAMA_KEEP_ALIVE" in defaults, false);
  });

  it("tells the emulator stand-in its GPU's name and the instance's share of memory", () => {
    assert.deepEqual(emulatedGpuEnv(instance()), { OLLAMA_FLEET_EMULATE_GPU: "NVIDIA A10:11.00" });
    assert.deepEqual(emulatedGpuEnv(instance({ device: { kind: "cpu" } })), {});
  });
});

describe("instance log lines", () => {
  it("logs Ollama's slog levels at the matching level and gin access lines at debug", () => {
    assert.equal(levelOfLine('time=2025-01-01T00:00:00Z level=ERROR source=sched.go msg="x"'), "error");
    assert.equal(levelOfLine("time=… level=WARN source=gpu.go msg=y"), "warn");
    assert.equal(levelOfLine("time=… level=INFO source=routes.go msg=z"), "info");
    assert.equal(levelOfLine("time=… level=DEBUG source=server.go msg=w"), "debug");
    assert.equal(
      levelOfLine('[GIN] 2025/01/01 - 00:00:00 | 200 | 1ms | 127.0.0.1 | GET "/api/version"'),
      "debug",
    );
    assert.equal(levelOfLine("panic: runtime error"), "info");
  });

  it("keeps the last lines and finds the last error line", () => {
    const tail = new LogTail(3);
    for (const line of ["a", "level=ERROR msg=first", "b", "c", "d"])
      tail.push({ atMs: 0, stream: "stderr", line });
    assert.deepEqual(
      tail.last().map((l) => l.line),
      ["b", "c", "d"],
    );
    assert.equal(tail.lastError(), undefined);
    tail.push({ atMs: 1, stream: "stderr", line: "Error: listen tcp: bind: address already in use" });
    assert.equal(tail.lastError(), "Error: listen tcp: bind: address already in use");
  });

  it("splits chunks into lines, keeping a torn line for the next chunk and bounding a runaway one", () => {
    const s = new LineSplitter(10);
    assert.deepEqual(s.push("one\ntw"), ["one"]);
    assert.deepEqual(s.push("o\r\nthree\n"), ["two", "three"]);
    assert.deepEqual(s.push("x".repeat(25)), ["x".repeat(10)]);
    assert.deepEqual(s.flush(), []);
    assert.deepEqual(s.push("tail"), []);
    assert.deepEqual(s.flush(), ["tail"]);
  });
});

describe("DeviceLock", () => {
  it("runs one load at a time per device, lowest plan step first, other devices in parallel", async () => {
    const lock = new DeviceLock();
    const order: string[] = [];
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = (name: string, wait?: Promise<void>) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      await wait;
      running--;
    };
    const first = lock.run("GPU-a", 3, job("a3", gate));
    // Queued while a3 runs: they start by step, not by arrival.
    const later = [
      lock.run("GPU-a", 5, job("a5")),
      lock.run("GPU-a", 1, job("a1")),
      lock.run("GPU-a", 2, job("a2")),
    ];
    const other = lock.run("GPU-b", 9, job("b9"));
    await other;
    assert.deepEqual(order, ["a3", "b9"]);
    assert.equal(lock.waitingFor("GPU-a"), 3);
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(order, ["a3", "b9", "a1", "a2", "a5"]);
    assert.equal(most, 2, "only the two devices ever ran at once");
  });

  it("frees the device when a load fails", async () => {
    const lock = new DeviceLock();
    await assert.rejects(
      lock.run("cpu", 1, () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(await lock.run("cpu", 1, () => Promise.resolve(7)), 7);
  });
});

describe("small helpers", () => {
  it("sends a unit-less keep-alive as a number (the API rejects it as text) and a duration as text", () => {
    assert.equal(keepAliveJson("-1"), -1);
    assert.equal(keepAliveJson("300"), 300);
    assert.equal(keepAliveJson("30m"), "30m");
    assert.equal(keepAliveJson(0), 0);
  });

  it("finds a program on PATH or by path, only when it is an executable file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleet-bin-"));
    await writeFile(join(dir, "ollama"), "#!/bin/sh\n");
    await chmod(join(dir, "ollama"), 0o755);
    await writeFile(join(dir, "not-exec"), "");
    assert.equal(findExecutable("ollama", { PATH: `/nonexistent:${dir}` }), join(dir, "ollama"));
    assert.equal(findExecutable(join(dir, "ollama"), { PATH: "" }), join(dir, "ollama"));
    assert.equal(findExecutable("not-exec", { PATH: dir }), undefined);
    assert.equal(findExecutable("ollama", { PATH: "/nonexistent" }), undefined);
    assert.equal(findExecutable(dir, { PATH: "" }), undefined, "a directory is not a program");
  });

  it("rejects supervisor settings that would spin or never time out", () => {
    assert.throws(() => supervisorSettings({ healthIntervalMs: 0 }), /healthIntervalMs/);
    assert.throws(() => supervisorSettings({ wedgeThreshold: 0 }), /wedgeThreshold/);
    assert.throws(() => supervisorSettings({ restart: { multiplier: 0 } }), /multiplier/);
    assert.equal(supervisorSettings({ restart: { crashLoopExits: 9 } }).restart.initialBackoffMs, 1_000);
  });
});
