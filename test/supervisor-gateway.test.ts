/**
 * The supervisor behind a real gateway: no traffic before an instance is ready, requests reach supervised
 * instances, out-of-memory errors seen in responses drive the recovery (unload others, fewer slots,
 * move the model) and the gateway's close stops every child.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { defaultConfig } from "../src/config/load-config.js";
import { startGateway, type Gateway } from "../src/main.js";
import { emulatedGpuEnv } from "../src/supervisor/ollama-binary.js";
import { Supervisor } from "../src/supervisor/supervisor.js";
import type { SupervisorEvents } from "../src/supervisor/supervisor-types.js";
import { eventually } from "./helpers/gateway-fixture.js";
import {
  allGone,
  emulatorOllama,
  failingOllama,
  fastSettings,
  gpuPlan,
  nextEvent,
  preload,
  tempDir,
} from "./helpers/supervisor-fixture.js";

const silent = pino({ level: process.env.TEST_LOG ?? "silent" });
const GIB = 1024 ** 3;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function gatewayFor(sup: Supervisor): Promise<Gateway> {
  const config = defaultConfig();
  config.gateway.listenPort = 0;
  config.gateway.logLevel = "silent";
  const gateway = await startGateway({ config, logger: silent, specs: sup.specs(), supervisor: sup });
  cleanups.push(() => gateway.close());
  return gateway;
}

async function generate(
  url: string,
  model: string,
  prompt: string,
  options: Record<string, unknown> = {},
): Promise<{ status: number; instance: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/generate`, {
    method: "POST",
    body: JSON.stringify({ model, prompt, stream: false, options: { num_predict: 2, ...options } }),
  });
  return {
    status: res.status,
    instance: res.headers.get("x-ollama-fleet-instance"),
    body: (await res.json()) as Record<string, unknown>,
  };
}

async function simStats(url: string): Promise<{ requests: { byEndpoint: Record<string, number> } }> {
  return (await (await fetch(`${url}/__sim/stats`)).json()) as {
    requests: { byEndpoint: Record<string, number> };
  };
}

describe("Supervisor behind the gateway", () => {
  it("routes nothing to an instance until its preload is done, then routes to it", async () => {
    const dir = await tempDir();
    // b pulls its model first: about 6 s at 170 MB/s, a window in which it must get no request.
    const bin = await emulatorOllama(dir, { timeScale: 1, args: ["--download-mbps", "170"] });
    const plan = await gpuPlan([{ models: [] }, { models: [preload("qwen2.5:1.5b")] }]);
    const [a, b] = plan.instances.map((i) => i.id) as [string, string];
    const settings = fastSettings(bin, { extraEnv: emulatedGpuEnv, allowPull: true });
    const sup = new Supervisor({ plan, logger: silent, settings });
    cleanups.push(() => sup.close());
    const aReady = nextEvent(sup.events, "state-change", (e) => e.id === a && e.to === "ready");
    const bPreloading = nextEvent(sup.events, "state-change", (e) => e.id === b && e.to === "preloading");
    const bReady = nextEvent(sup.events, "state-change", (e) => e.id === b && e.to === "ready");
    let bReadyAt = Infinity;
    void bReady.then(() => (bReadyAt = Date.now()));
    sup.start();
    const gateway = await gatewayFor(sup);
    await Promise.all([aReady, bPreloading]);
    const during = await generate(gateway.url, "llama3.2:1b", "while b preloads");
    const answeredAt = Date.now();
    assert.equal(during.status, 200, JSON.stringify(during.body));
    assert.equal(during.instance, a);
    assert.ok(answeredAt < bReadyAt, "the request was answered while b was still preloading");
    await bReady;
    // b saw only its own preload, never a routed request.
    const bStats = await simStats(`http://127.0.0.1:${plan.instances[1]!.port}`);
    assert.equal(bStats.requests.byEndpoint["/api/generate"], 1);
    // Once ready, the model it preloaded is hot there and goes there.
    await eventually(() => gateway.fleet.get(b)!.supervisorHold === undefined, 5_000);
    const afterReady = await generate(gateway.url, "qwen2.5:1.5b", "after b is ready");
    assert.equal(afterReady.status, 200, JSON.stringify(afterReady.body));
    assert.equal(afterReady.instance, b);
    const pids = sup.stats().instances.map((i) => i.pid!);
    await gateway.close();
    assert.deepEqual(
      sup.stats().instances.map((i) => i.state),
      ["stopped", "stopped"],
    );
    await allGone(pids, 3_000);
  });

  it("recovers from out-of-memory answers: unloads the other models, then halves the slots until it fits", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    // llama3.1:8b needs 6.6 GiB with 4 slots, 5.6 with 2 and 5.1 with 1 (weights + KV at num_ctx 4096);
    // 5.57 GiB is also just enough for the router's own estimate (weights × 1.1 + 512 MiB) to send it here.
    const plan = await gpuPlan([
      {
        memoryLimitBytes: 5.57 * GIB,
        numParallel: 4,
        maxConcurrentRequests: 4,
        models: [preload("qwen2.5:0.5b")],
      },
    ]);
    const id = plan.instances[0]!.id;
    // No cooldown: the requests here come one after another, each after the previous step settled.
    const sup = new Supervisor({
      plan,
      logger: silent,
      settings: fastSettings(bin, { extraEnv: emulatedGpuEnv, oom: { cooldownMs: 0 } }),
    });
    cleanups.push(() => sup.close());
    const recoveries: SupervisorEvents["oom-recovery"][] = [];
    sup.events.on("oom-recovery", (e) => recoveries.push(e));
    sup.start();
    const gateway = await gatewayFor(sup);
    await sup.settled(20_000);
    await eventually(() => gateway.fleet.get(id)!.supervisorHold === undefined, 5_000);

    const attempt = async (n: number): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await generate(gateway.url, "llama3.1:8b", `attempt ${n}`);
      if (r.status === 200) return r;
      assert.match(String(r.body.error), /model requires more system memory/);
      await eventually(() => recoveries.length === n, 5_000);
      await sup.settled(20_000);
      await eventually(() => gateway.fleet.get(id)!.supervisorHold === undefined, 5_000);
      return r;
    };
    const statuses: number[] = [];
    for (let n = 1; n <= 5; n++) {
      const r = await attempt(n);
      statuses.push(r.status);
      if (r.status === 200) break;
    }
    assert.deepEqual(statuses, [500, 500, 500, 200]);
    assert.deepEqual(
      recoveries.map((r) => [r.action, r.detail, r.ok]),
      [
        ["unload-others", "unloaded qwen2.5:0.5b", true],
        ["reduce-parallel", "restarting with OLLAMA_NUM_PARALLEL 4 → 2 (capacity 2)", true],
        ["reduce-parallel", "restarting with OLLAMA_NUM_PARALLEL 2 → 1 (capacity 1)", true],
      ],
    );
    const s = sup.stats();
    assert.equal(s.instances[0]!.numParallel, 1);
    assert.equal(s.instances[0]!.restartsTotal, 2);
    assert.equal(s.instances[0]!.exitsTotal, 0, "planned restarts are not crashes");
    assert.equal(gateway.fleet.get(id)!.spec.maxConcurrentRequests, 1);
    assert.equal(s.oom.detectedTotal, 3);
    assert.deepEqual(s.oom.byKind, { system_memory: 3, gpu_memory: 0, allocation: 0 });
    assert.deepEqual(s.oom.recoveries, {
      "unload-others": 1,
      "reduce-parallel": 2,
      "move-model": 0,
      none: 0,
    });
    // The admin API shows the same, and will not restart an instance that is not failed.
    const admin = (await (await fetch(`${gateway.url}/fleet/supervisor`)).json()) as typeof s;
    assert.equal(admin.instances[0]!.numParallel, 1);
    assert.equal(admin.oom.detectedTotal, 3);
    const refused = await fetch(`${gateway.url}/fleet/instances/${id}/restart`, { method: "POST" });
    assert.equal(refused.status, 409);
    // And so do the metrics.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /ollama_fleet_oom_recoveries_total\{action="reduce-parallel"\} 2\n/);
    assert.match(metrics, new RegExp(`ollama_fleet_instance_restarts_total\\{instance="${id}"\\} 2\\n`));
    assert.match(metrics, new RegExp(`ollama_fleet_supervised_parallel_slots\\{instance="${id}"\\} 1\\n`));
    assert.match(
      metrics,
      new RegExp(`ollama_fleet_supervised_instance_state\\{instance="${id}",state="ready"\\} 1\\n`),
    );
  });

  it("moves a model that does not fit on one slot to the instance with the most free memory", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    // With num_ctx 16384 llama3.1:8b needs 7.1 GiB even on one slot: more than the small instance has.
    const bigContext = { num_ctx: 16384 };
    const plan = await gpuPlan([{ memoryLimitBytes: 5.57 * GIB }, { memoryLimitBytes: 20 * GIB }]);
    const [small, big] = plan.instances.map((i) => i.id) as [string, string];
    const sup = new Supervisor({
      plan,
      logger: silent,
      settings: fastSettings(bin, { extraEnv: emulatedGpuEnv }),
    });
    cleanups.push(() => sup.close());
    sup.start();
    const gateway = await gatewayFor(sup);
    await sup.settled(20_000);
    // The error as the small instance gives it to whoever asks.
    const res = await fetch(`http://127.0.0.1:${plan.instances[0]!.port}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.1:8b", prompt: "x", stream: false, options: bigContext }),
    });
    const message = ((await res.json()) as { error: string }).error;
    assert.equal(res.status, 500);
    const moved = nextEvent(sup.events, "oom-recovery", () => true);
    sup.reportUpstreamFailure({ instanceId: small, model: "llama3.1:8b", status: 500, message });
    assert.deepEqual(await moved, {
      id: small,
      model: "llama3.1:8b",
      action: "move-model",
      detail: `moved 'llama3.1:8b' to ${big}`,
      ok: true,
    });
    assert.deepEqual(sup.instance(big)!.models, ["llama3.1:8b"]);
    const ps = (await (await fetch(`http://127.0.0.1:${plan.instances[1]!.port}/api/ps`)).json()) as {
      models: { name: string }[];
    };
    assert.deepEqual(
      ps.models.map((m) => m.name),
      ["llama3.1:8b"],
    );
    // The gateway no longer sends that model to the small instance, not even when the big one is out.
    const smallUrl = `http://127.0.0.1:${plan.instances[0]!.port}`;
    const smallGenerates = (await simStats(smallUrl)).requests.byEndpoint["/api/generate"];
    gateway.fleet.get(big)!.draining = true;
    const whileOut = await generate(gateway.url, "llama3.1:8b", "big is drained", bigContext);
    assert.equal(whileOut.status, 503, JSON.stringify(whileOut.body));
    assert.equal((await simStats(smallUrl)).requests.byEndpoint["/api/generate"], smallGenerates);
    // Other models still go there.
    const other = await generate(gateway.url, "llama3.2:1b", "other model");
    assert.deepEqual([other.status, other.instance], [200, small]);
    gateway.fleet.get(big)!.draining = false;
    const back = await generate(gateway.url, "llama3.1:8b", "big is back", bigContext);
    assert.deepEqual([back.status, back.instance], [200, big]);
  });

  it("restarts a failed instance when an operator asks through the admin API", async () => {
    const dir = await tempDir();
    const bin = await failingOllama(dir);
    const plan = await gpuPlan([{}]);
    const id = plan.instances[0]!.id;
    const sup = new Supervisor({ plan, logger: silent, settings: fastSettings(bin) });
    cleanups.push(() => sup.close());
    sup.start();
    const gateway = await gatewayFor(sup);
    await sup.settled(20_000);
    assert.equal(sup.instance(id)!.state, "failed");
    assert.ok(gateway.fleet.get(id)!.supervisorHold?.startsWith("failed: crash loop"));
    const failedAgain = nextEvent(sup.events, "state-change", (e) => e.to === "failed");
    const res = await fetch(`${gateway.url}/fleet/instances/${id}/restart`, { method: "POST" });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { state: string }).state, "starting");
    await failedAgain;
    assert.equal(sup.instance(id)!.exitsTotal, 6);
    const unknown = await fetch(`${gateway.url}/fleet/instances/nope/restart`, { method: "POST" });
    assert.equal(unknown.status, 404);
  });
});
