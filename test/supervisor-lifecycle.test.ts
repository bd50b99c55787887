/**
 * The supervisor against real emulator processes playing `ollama serve`: pinned environment, readiness
 * and preloading, restart after kill -9, crash loop → failed, wedge → restart, and no process left after
 * close.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { emulatedGpuEnv } from "../src/supervisor/ollama-binary.js";
import { Supervisor } from "../src/supervisor/supervisor.js";
import type { SupervisorEvents } from "../src/supervisor/supervisor-types.js";
import {
  alive,
  allGone,
  EMULATOR,
  emulatorOllama,
  failingOllama,
  fastSettings,
  gpuPlan,
  nextEvent,
  preload,
  script,
  tempDir,
} from "./helpers/supervisor-fixture.js";

const silent = pino({ level: "silent" });
const open: Supervisor[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});

function track(s: Supervisor): Supervisor {
  open.push(s);
  return s;
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  return (await res.json()) as Record<string, unknown>;
}

describe("Supervisor lifecycle", () => {
  it("starts one pinned ollama serve per planned instance, preloads its models, then calls it ready", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir, { envDump: dir });
    const plan = await gpuPlan([
      { numParallel: 2, maxLoadedModels: 2, models: [preload("llama3.2:1b"), preload("qwen2.5:1.5b")] },
      { device: { kind: "cpu" }, memoryLimitBytes: 8 * 1024 ** 3 },
    ]);
    const sup = track(
      new Supervisor({
        plan,
        logger: silent,
        settings: fastSettings(bin, {
          modelsDir: join(dir, "models"),
          keepAlive: "-1",
          extraEnv: emulatedGpuEnv,
        }),
      }),
    );
    const preloads: SupervisorEvents["preload"][] = [];
    sup.events.on("preload", (e) => preloads.push(e));
    sup.start();
    const stats = await sup.settled(20_000);
    assert.deepEqual(
      stats.instances.map((i) => i.state),
      ["ready", "ready"],
    );
    const [gpu, cpu] = plan.instances;
    const gpuEnv = parseEnv(await readFile(join(dir, `${gpu!.port}.env`), "utf8"));
    assert.equal(gpuEnv.CUDA_VISIBLE_DEVICES, "GPU-00000000-0000-4000-8000-000000000001");
    assert.equal(gpuEnv.HIP_VISIBLE_DEVICES, "-1");
    assert.equal(gpuEnv.OLLAMA_HOST, `127.0.0.1:${gpu!.port}`);
    assert.equal(gpuEnv.OLLAMA_NUM_PARALLEL, "2");
    assert.equal(gpuEnv.OLLAMA_MAX_LOADED_MODELS, "2");
    assert.equal(gpuEnv.OLLAMA_MODELS, join(dir, "models"));
    assert.equal(gpuEnv.OLLAMA_KEEP_ALIVE, "-1");
    assert.equal(gpuEnv.OLLAMA_FLEET_EMULATE_GPU, "NVIDIA GeForce RTX 4090:20.00");
    const cpuEnv = parseEnv(await readFile(join(dir, `${cpu!.port}.env`), "utf8"));
    assert.equal(cpuEnv.CUDA_VISIBLE_DEVICES, "-1");
    assert.equal(cpuEnv.HIP_VISIBLE_DEVICES, "-1");
    assert.equal(cpuEnv.ROCR_VISIBLE_DEVICES, "-1");
    assert.equal(cpuEnv.OLLAMA_FLEET_EMULATE_GPU, undefined);

    // The assigned model on disk is loaded; the one missing is reported (pulling is off by default).
    const ps = await json(`http://127.0.0.1:${gpu!.port}/api/ps`);
    assert.deepEqual(
      (ps.models as { name: string }[]).map((m) => m.name),
      ["llama3.2:1b"],
    );
    assert.deepEqual(
      preloads.map((p) => [p.id, p.model, p.outcome]),
      [
        [gpu!.id, "llama3.2:1b", "loaded"],
        [gpu!.id, "qwen2.5:1.5b", "missing"],
      ],
    );
    // The instance's own output is captured with the emulated GPU's name.
    const gpuStats = stats.instances[0]!;
    assert.ok(
      gpuStats.recentLogs.some((l) => l.line.includes("NVIDIA GeForce RTX 4090")),
      JSON.stringify(gpuStats.recentLogs),
    );
    const pids = stats.instances.map((i) => i.pid!);
    const guard = sup.guardPid!;
    assert.ok(pids.every(alive) && alive(guard));
    await sup.close();
    assert.deepEqual(
      sup.stats().instances.map((i) => i.state),
      ["stopped", "stopped"],
    );
    await allGone([...pids, guard], 3_000);
  });

  it("pulls a missing assigned model before loading it when pulling is allowed", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    const plan = await gpuPlan([{ models: [preload("qwen2.5:1.5b")] }]);
    const sup = track(
      new Supervisor({ plan, logger: silent, settings: fastSettings(bin, { allowPull: true }) }),
    );
    const pulled = nextEvent(sup.events, "preload", () => true);
    sup.start();
    await sup.settled(20_000);
    assert.equal((await pulled).outcome, "pulled");
    const ps = await json(`http://127.0.0.1:${plan.instances[0]!.port}/api/ps`);
    assert.deepEqual(
      (ps.models as { name: string }[]).map((m) => m.name),
      ["qwen2.5:1.5b"],
    );
    await sup.close();
  });

  it("restarts an instance killed with SIGKILL after the backoff, as a new process", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    const plan = await gpuPlan([{}]);
    const sup = track(new Supervisor({ plan, logger: silent, settings: fastSettings(bin) }));
    sup.start();
    const first = (await sup.settled(20_000)).instances[0]!;
    const scheduled = nextEvent(sup.events, "restart-scheduled", () => true);
    const readyAgain = nextEvent(sup.events, "state-change", (e) => e.to === "ready");
    process.kill(first.pid!, "SIGKILL");
    const s = await scheduled;
    assert.equal(s.delayMs, 200);
    assert.equal(s.attempt, 1);
    assert.match(s.reason, /killed by SIGKILL/);
    await readyAgain;
    const now = sup.instance(first.id)!;
    assert.notEqual(now.pid, first.pid);
    assert.equal(now.exitsTotal, 1);
    assert.equal(now.restartsTotal, 1);
    const res = await fetch(`${now.url}/api/version`);
    assert.equal(res.status, 200);
    await sup.close();
  });

  it("marks an instance failed after a crash loop, with the reason it printed", async () => {
    const dir = await tempDir();
    const bin = await failingOllama(dir);
    const plan = await gpuPlan([{}]);
    const sup = track(new Supervisor({ plan, logger: silent, settings: fastSettings(bin) }));
    const delays: number[] = [];
    sup.events.on("restart-scheduled", (e) => delays.push(e.delayMs));
    const failed = nextEvent(sup.events, "state-change", (e) => e.to === "failed");
    sup.start();
    const f = await failed;
    assert.match(f.reason, /^crash loop: 3 exits within 30 s/);
    assert.match(f.reason, /exited with code 1/);
    assert.match(f.reason, /bind: address already in use/);
    assert.deepEqual(delays, [200, 400]);
    const stats = sup.instance(plan.instances[0]!.id)!;
    assert.equal(stats.state, "failed");
    assert.equal(stats.exitsTotal, 3);
    await sup.close();
  });

  it("restarts a wedged instance whose liveness checks time out", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    const plan = await gpuPlan([{}]);
    const sup = track(new Supervisor({ plan, logger: silent, settings: fastSettings(bin) }));
    sup.start();
    const first = (await sup.settled(20_000)).instances[0]!;
    const exit = nextEvent(sup.events, "process-exit", () => true);
    const readyAgain = nextEvent(sup.events, "state-change", (e) => e.to === "ready");
    // An open-ended hang: every request, /api/version included, is accepted and never answered.
    await fetch(`${first.url}/__sim/fault`, { method: "POST", body: JSON.stringify({ kind: "hang" }) });
    const e = await exit;
    assert.match(e.reason, /^wedged: 2 liveness checks failed \(last: timed out after 300 ms\)/);
    assert.equal(e.expected, true);
    await readyAgain;
    const now = sup.instance(first.id)!;
    assert.notEqual(now.pid, first.pid);
    assert.equal((await fetch(`${now.url}/api/version`)).status, 200);
    assert.equal(alive(first.pid!), false);
    await sup.close();
  });

  it("counts out-of-memory lines in an instance's log without acting on them", async () => {
    const dir = await tempDir();
    // A runner's allocation failure as Ollama logs it, then the server carries on.
    const bin = await script(
      dir,
      "ollama",
      `echo 'time=2025-01-01T00:00:00Z level=ERROR source=server.go msg="llama runner terminated" error="cudaMalloc failed: out of memory"' >&2\n` +
        `exec "${process.execPath}" "${EMULATOR}" "$@" --time-scale 50`,
    );
    const plan = await gpuPlan([{}]);
    const sup = track(new Supervisor({ plan, logger: silent, settings: fastSettings(bin) }));
    const detected = nextEvent(sup.events, "oom-detected", () => true);
    const recoveries: unknown[] = [];
    sup.events.on("oom-recovery", (e) => recoveries.push(e));
    sup.start();
    const e = await detected;
    assert.equal(e.source, "log");
    assert.equal(e.kind, "gpu_memory");
    assert.equal(e.model, undefined);
    await sup.settled(20_000);
    const s = sup.stats();
    assert.equal(s.oom.detectedTotal, 1);
    assert.deepEqual(s.oom.bySource, { response: 0, log: 1, preload: 0 });
    assert.equal(s.instances[0]!.oomTotal, 1);
    assert.deepEqual(recoveries, []);
    await sup.close();
  });

  it("recovers from an out-of-memory preload by restarting with fewer slots until the model fits", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    // llama3.1:8b needs 6.6 GiB with 4 slots, 5.6 with 2, 5.1 with 1; the card has 5.57.
    const plan = await gpuPlan([
      {
        memoryLimitBytes: 5.57 * 1024 ** 3,
        numParallel: 4,
        maxConcurrentRequests: 4,
        models: [preload("llama3.1:8b")],
      },
    ]);
    const sup = track(
      new Supervisor({ plan, logger: silent, settings: fastSettings(bin, { extraEnv: emulatedGpuEnv }) }),
    );
    const outcomes: string[] = [];
    sup.events.on("preload", (e) => outcomes.push(e.outcome));
    const loaded = nextEvent(sup.events, "preload", (e) => e.outcome === "loaded", 30_000);
    sup.start();
    await loaded;
    await sup.settled(20_000);
    assert.deepEqual(outcomes, ["failed", "failed", "loaded"]);
    const s = sup.stats();
    assert.equal(s.instances[0]!.state, "ready");
    assert.equal(s.instances[0]!.numParallel, 1);
    assert.deepEqual(s.oom.bySource, { response: 0, log: 0, preload: 2 });
    assert.equal(s.oom.recoveries["reduce-parallel"], 2);
    const ps = await json(`http://127.0.0.1:${plan.instances[0]!.port}/api/ps`);
    assert.deepEqual(
      (ps.models as { name: string }[]).map((m) => m.name),
      ["llama3.1:8b"],
    );
    await sup.close();
  });
});
