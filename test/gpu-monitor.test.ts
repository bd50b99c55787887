/**
 * The GPU health monitor: verdicts from readings (pure), and the monitor itself polling the fake
 * libnvidia-ml.so.1 through the real NVML binding, with its GPU list rewritten between polls, applying
 * routing factors and lost-GPU holds to real fleet instances, on a manual clock.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import type { InstanceSpec } from "../src/backend/instance.js";
import { RequestRouter } from "../src/backend/request-router.js";
import { GpuMonitor, type GpuMonitorEvents } from "../src/gpu/gpu-monitor.js";
import { openGpuPoller, type GpuPoller } from "../src/gpu/gpu-poller.js";
import { judgeGpu, MIN_GPU_FACTOR, type GpuMonitorThresholds } from "../src/gpu/gpu-verdict.js";
import type { GpuInfo } from "../src/gpu/types.js";
import { PerformanceTracker } from "../src/routing/performance-tracker.js";
import { createBalancer } from "../src/routing/registry.js";
import { buildFakeNvml } from "./fixtures/gpu/gpu-fixtures.js";
import { candidate } from "./helpers/candidate.js";
import { idleFleet } from "./helpers/idle-fleet.js";
import { ManualClock } from "./helpers/manual-clock.js";

const MIB = 1024 ** 2;
const THRESHOLDS: GpuMonitorThresholds = { hotTemperatureCelsius: 85, minFreeMemoryBytes: 256 * MIB };

/** A complete reading to override: a cool 24 GiB GPU with 12 GiB free. */
function reading(over: Partial<GpuInfo> = {}): GpuInfo {
  return {
    id: 0,
    uuid: "GPU-test",
    name: "NVIDIA GeForce RTX 4090",
    vendor: "nvidia",
    source: "nvml",
    pciBusId: null,
    memoryTotalBytes: 24576 * MIB,
    memoryAvailableBytes: 12288 * MIB,
    memoryUsedBytes: 12288 * MIB,
    computeCapability: 89,
    computeCapabilityString: "8.9",
    supportsFloat16: true,
    supportsBFloat16: true,
    supportsFp8: true,
    utilizationPercent: 40,
    temperatureC: 60,
    powerDrawWatts: 200,
    driverVersion: null,
    cudaVersion: null,
    errors: [],
    ...over,
  };
}

describe("judgeGpu", () => {
  it("leaves a cool GPU with free memory at full weight", () => {
    assert.deepEqual(judgeGpu(reading(), THRESHOLDS), {
      condition: "healthy",
      reasons: [],
      routingFactor: 1,
    });
  });
  it("halves the weight at the hot threshold and halves it again for every 5 °C above", () => {
    assert.equal(judgeGpu(reading({ temperatureC: 84 }), THRESHOLDS).routingFactor, 1);
    const hot = judgeGpu(reading({ temperatureC: 85 }), THRESHOLDS);
    assert.equal(hot.condition, "degraded");
    assert.equal(hot.routingFactor, 0.5);
    assert.match(hot.reasons[0] ?? "", /85 °C ≥ 85 °C/);
    assert.equal(judgeGpu(reading({ temperatureC: 90 }), THRESHOLDS).routingFactor, 0.25);
    assert.equal(judgeGpu(reading({ temperatureC: 150 }), THRESHOLDS).routingFactor, MIN_GPU_FACTOR);
  });
  it("halves the weight of a memory-starved GPU, and multiplies with heat", () => {
    const starved = judgeGpu(reading({ memoryAvailableBytes: 100 * MIB }), THRESHOLDS);
    assert.equal(starved.condition, "degraded");
    assert.equal(starved.routingFactor, 0.5);
    assert.match(starved.reasons[0] ?? "", /100 MiB free < 256 MiB/);
    const both = judgeGpu(reading({ memoryAvailableBytes: 100 * MIB, temperatureC: 85 }), THRESHOLDS);
    assert.equal(both.routingFactor, 0.25);
    assert.equal(both.reasons.length, 2);
  });
  it("calls a GPU whose driver says it is lost (or needs a reset, or reported an Xid) lost", () => {
    for (const error of ["memory: GPU is lost", "GPU requires reset", "Xid 79: fallen off the bus"]) {
      assert.equal(judgeGpu(reading({ errors: [error] }), THRESHOLDS).condition, "lost", error);
    }
    assert.equal(judgeGpu(reading({ errors: ["power: not permitted"] }), THRESHOLDS).condition, "healthy");
  });
  it("does not count a sensor the board lacks as a problem", () => {
    assert.equal(
      judgeGpu(reading({ temperatureC: null, powerDrawWatts: null }), THRESHOLDS).routingFactor,
      1,
    );
  });
});

describe("a hot GPU's factor in routing", () => {
  it("gives the instance on a GPU at the hot threshold + 5 °C a quarter of the traffic of a cool one", () => {
    const wrr = createBalancer("WeightedRoundRobin", { now: () => 0, random: () => 0 });
    const cool = candidate("cool");
    const hot = candidate("hot", {
      gpuFactor: judgeGpu(reading({ temperatureC: 90 }), THRESHOLDS).routingFactor,
    });
    const picks = { cool: 0, hot: 0 };
    for (let i = 0; i < 100; i++)
      picks[wrr.pick([cool, hot], { model: "m", priority: "normal" }) as "cool" | "hot"]++;
    assert.deepEqual(picks, { cool: 80, hot: 20 });
  });
});

describe("GpuMonitor over the fake NVML", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "gpu-monitor-"));
  const specFile = path.join(dir, "gpus.txt");
  let lib: { path: string } | { skip: string };
  before(async () => {
    lib = await buildFakeNvml(dir);
    process.env.FAKE_NVML_GPUS_FILE = specFile;
  });
  after(() => {
    delete process.env.FAKE_NVML_GPUS_FILE;
    delete process.env.FAKE_NVML_MODE;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the fake's GPU list: "name:totalMiB:cc:usedMiB:tempC:powerW:util[:flags]" per GPU. */
  const setGpus = (...gpus: string[]): void => writeFileSync(specFile, gpus.join(";"));
  const COOL_0 = "NVIDIA GeForce RTX 4090:24564:8.9:1200:51:87.5:23";
  const COOL_1 = "Tesla T4:15360:7.5:1024:48:27.5:12";

  /** A fleet (never started: no instance is called) with one instance per spec, a router, a monitor. */
  async function rig(t: TestContext, specs: Array<Partial<InstanceSpec>>, lostAfterFailedPolls?: number) {
    if ("skip" in lib) {
      t.skip(lib.skip);
      return undefined;
    }
    const clock = new ManualClock(1_000);
    const fleet = idleFleet(specs, clock.now);
    const poller = (await openGpuPoller({
      nvmlLibraryPath: lib.path,
      runCommand: async () => notInstalled,
    })) as GpuPoller;
    assert.ok(poller, "the fake NVML's GPUs were found");
    assert.equal(poller.source, "nvml");
    const monitor = new GpuMonitor({
      poller,
      instances: () => fleet.instances(),
      thresholds: THRESHOLDS,
      intervalMs: 5000,
      clock,
      ...(lostAfterFailedPolls ? { lostAfterFailedPolls } : {}),
    });
    const changes: GpuMonitorEvents["gpu-condition"][] = [];
    monitor.events.on("gpu-condition", (e) => void changes.push(e));
    const router = new RequestRouter({
      fleet,
      balancer: createBalancer("WeightedRoundRobin", { now: clock.now, random: () => 0 }),
      perf: new PerformanceTracker({ now: clock.now }),
      maxQueueSize: 8,
      queueTimeoutMs: 1000,
      agingMs: 10_000,
      now: clock.now,
    });
    t.after(async () => {
      router.close();
      await monitor.close();
      await fleet.close();
    });
    for (const i of fleet.instances()) i.healthTracker.recordSuccess("active");
    return { clock, fleet, monitor, changes, router, i0: fleet.instances()[0]!, i1: fleet.instances()[1] };
  }
  const notInstalled = { exitCode: null, stdout: "", stderr: "", failure: "not-found" as const };

  it("reads temperature, memory, utilisation and power of every GPU into stats()", async (t) => {
    setGpus(COOL_0, COOL_1);
    const r = await rig(t, [{ gpuId: 0 }, { gpuId: 1 }]);
    if (!r) return;
    await r.monitor.start();
    const s = r.monitor.stats();
    assert.equal(s.source, "nvml");
    assert.equal(s.polls, 1);
    assert.deepEqual(
      s.gpus.map((g) => [
        g.gpu.id,
        g.gpu.name,
        g.gpu.temperatureC,
        g.gpu.memoryUsedBytes,
        g.gpu.utilizationPercent,
        g.gpu.powerDrawWatts,
        g.condition,
        g.instanceIds,
      ]),
      [
        [0, "NVIDIA GeForce RTX 4090", 51, 1200 * MIB, 23, 87.5, "healthy", ["i0"]],
        [1, "Tesla T4", 48, 1024 * MIB, 12, 27.5, "healthy", ["i1"]],
      ],
    );
    assert.equal(r.changes.length, 0, "healthy GPUs are not announced");
  });

  it("lowers the routing factor of the hot GPU's instances only, and the health score carries it", async (t) => {
    setGpus(COOL_0, COOL_1);
    const r = await rig(t, [{ gpuId: 0 }, { gpuId: 1 }]);
    if (!r) return;
    await r.monitor.start();
    setGpus("NVIDIA GeForce RTX 4090:24564:8.9:1200:90:300:99", COOL_1);
    await r.monitor.pollNow();
    assert.equal(r.i0.gpuFactor, 0.25);
    assert.equal(r.i1!.gpuFactor, 1);
    const candidates = r.router.candidates("m");
    assert.deepEqual(
      candidates.map((c) => c.gpuFactor),
      [0.25, 1],
    );
    assert.deepEqual(
      r.changes.map((c) => [c.gpuId, c.from, c.to, c.instanceIds]),
      [[0, "healthy", "degraded", ["i0"]]],
    );
    setGpus(COOL_0, COOL_1);
    await r.monitor.pollNow();
    assert.equal(r.i0.gpuFactor, 1, "a cooled-down GPU gets its weight back");
  });

  it("halves the weight of instances on a GPU with almost no free memory", async (t) => {
    setGpus("NVIDIA GeForce RTX 4090:24564:8.9:24400:51:87.5:23");
    const r = await rig(t, [{ gpuId: 0 }]);
    if (!r) return;
    await r.monitor.start();
    assert.equal(r.i0.gpuFactor, 0.5);
    assert.match(r.monitor.stats().gpus[0]?.reasons[0] ?? "", /memory-starved: 164 MiB free/);
  });

  it("holds a lost GPU's instances unhealthy through successful health checks, and lets them recover after", async (t) => {
    setGpus(COOL_0, COOL_1);
    const r = await rig(t, [{ gpuId: 0 }, { gpuId: 1 }]);
    if (!r) return;
    await r.monitor.start();
    setGpus(`${COOL_0}:lost`, COOL_1);
    await r.monitor.pollNow();
    assert.equal(r.i0.health, "unhealthy");
    assert.equal(r.i1!.health, "healthy");
    assert.match(r.i0.healthTracker.stats().heldReason ?? "", /GPU 0 .* lost: memory: GPU is lost/);
    assert.equal(r.monitor.stats().gpus[0]?.condition, "lost");
    for (let n = 0; n < 5; n++) r.i0.healthTracker.recordSuccess("active");
    assert.equal(r.i0.health, "unhealthy", "Ollama answering /api/version does not bring back a lost GPU");
    assert.equal(r.router.route("m", "normal", new Set()).kind, "none", "nothing routes to it");

    setGpus(COOL_0, COOL_1);
    await r.monitor.pollNow();
    assert.equal(r.i0.health, "unhealthy", "a GPU that came back must first pass HealthyThreshold checks");
    r.i0.healthTracker.recordSuccess("active");
    r.i0.healthTracker.recordSuccess("active");
    assert.equal(r.i0.health, "healthy");
    assert.deepEqual(
      r.changes.map((c) => [c.gpuId, c.to]),
      [
        [0, "lost"],
        [0, "healthy"],
      ],
    );
  });

  it("counts a GPU that disappears from NVML's enumeration as lost", async (t) => {
    setGpus(COOL_0, COOL_1);
    const r = await rig(t, [{ gpuId: 0 }, { gpuId: 1 }]);
    if (!r) return;
    await r.monitor.start();
    setGpus(COOL_0);
    await r.monitor.pollNow();
    assert.equal(r.i1!.health, "unhealthy");
    assert.equal(r.i0.health, "healthy");
    assert.deepEqual(r.monitor.stats().gpus[1]?.reasons, ["GPU no longer reported by the driver"]);
  });

  it("marks every GPU lost only after NVML failed three polls in a row", async (t) => {
    setGpus(COOL_0);
    const r = await rig(t, [{ gpuId: 0 }]);
    if (!r) return;
    await r.monitor.start();
    process.env.FAKE_NVML_MODE = "count-fail";
    try {
      await r.monitor.pollNow();
      await r.monitor.pollNow();
      assert.equal(r.i0.health, "healthy", "two failed reads are noise");
      assert.equal(r.monitor.stats().consecutiveFailures, 2);
      assert.match(r.monitor.stats().lastError ?? "", /nvmlDeviceGetCount_v2 failed: unknown error/);
      await r.monitor.pollNow();
      assert.equal(r.i0.health, "unhealthy");
    } finally {
      delete process.env.FAKE_NVML_MODE;
    }
    await r.monitor.pollNow();
    assert.equal(r.monitor.stats().consecutiveFailures, 0);
    assert.equal(r.monitor.stats().gpus[0]?.condition, "healthy");
  });

  it("matches an instance by GPU UUID before the index, and never matches a CPU instance", async (t) => {
    setGpus(COOL_0, "Tesla T4:15360:7.5:1024:95:27.5:12");
    const r = await rig(t, [
      { gpuId: 0, gpuUuid: "GPU-00000000-0000-4000-8000-000000000002" },
      { gpuId: -1 },
    ]);
    if (!r) return;
    await r.monitor.start();
    assert.ok(r.i0.gpuFactor < 0.2, "pinned by UUID to the hot T4, whatever its index says");
    assert.equal(r.i1!.gpuFactor, 1);
    assert.deepEqual(
      r.monitor.stats().gpus.map((g) => g.instanceIds),
      [[], ["i0"]],
    );
  });

  it("polls on its interval of the injected clock and stops when closed", async (t) => {
    setGpus(COOL_0);
    const r = await rig(t, [{ gpuId: 0 }]);
    if (!r) return;
    await r.monitor.start();
    assert.equal(r.clock.pendingTimers, 1);
    setGpus("NVIDIA GeForce RTX 4090:24564:8.9:1200:88:300:99");
    r.clock.advance(4999);
    await new Promise((done) => setImmediate(done));
    assert.equal(r.monitor.stats().polls, 1);
    r.clock.advance(1);
    await new Promise((done) => setImmediate(done));
    assert.equal(r.monitor.stats().polls, 2);
    assert.equal(r.monitor.stats().lastPollAtMs, 6_000);
    assert.ok(r.i0.gpuFactor < 1);
    await r.monitor.close();
    assert.equal(r.clock.pendingTimers, 0, "no timer left behind");
  });
});
