/**
 * /metrics after real traffic through a gateway fronting emulators (with GPU readings from the fake
 * NVML): Prometheus's own linter accepts it, each key metric has the value the traffic implies, and a real
 * Prometheus server scrapes it and answers a query with the number of requests sent.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { GpuPoller } from "../src/gpu/gpu-poller.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  fakeGpuPoller,
  freePort,
  metricSum,
  mixedTraffic,
  prometheusTool,
  promtoolCheckMetrics,
} from "./helpers/metrics-scrape.js";
import { MODEL_ARGS, post } from "./helpers/resilience.js";

describe("/metrics after real traffic", () => {
  let fleet: FleetFixture;
  let gpuSkip: string | undefined;
  let scrape = "";
  before(async () => {
    const poller = await fakeGpuPoller();
    gpuSkip = "skip" in poller ? poller.skip : undefined;
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], () => {}, {
      gpuPoller: "skip" in poller ? null : (poller as GpuPoller),
    });
    await mixedTraffic(fleet);
    scrape = await (await fetch(`${fleet.url}/metrics`)).text();
  });
  after(async () => fleet?.close());

  it("passes `promtool check metrics` with no complaint", (t) => {
    const promtool = prometheusTool(t, "promtool");
    if (!promtool) return;
    const { status, output } = promtoolCheckMetrics(promtool, scrape);
    assert.equal(output, "", "promtool printed lint problems");
    assert.equal(status, 0);
  });

  it("counts requests, tokens, loads, retries and errors as the traffic made them", async () => {
    const v = (name: string, labels: Record<string, string> = {}): number => metricSum(scrape, name, labels);
    const ok = ["generate", "chat", "openai_chat", "embed"];
    for (const endpoint of ok) {
      assert.ok(v("ollama_fleet_requests_total", { endpoint, status: "200", outcome: "ok" }) >= 1, endpoint);
    }
    assert.equal(v("ollama_fleet_requests_total", { model: "none", status: "404" }), 1);
    assert.equal(v("ollama_fleet_retries_total", { kind: "retry" }), 1);
    assert.equal(v("ollama_fleet_errors_total", { type: "upstream_5xx" }), 1);
    assert.ok(v("ollama_fleet_model_loads_total") >= 1, "the first answer on an instance loads the model");
    assert.ok(v("ollama_fleet_model_load_duration_seconds_count") >= 1);
    assert.ok(v("ollama_fleet_tokens_total", { direction: "output" }) >= 8);
    assert.ok(v("ollama_fleet_inter_token_latency_seconds_count") >= 2);
    assert.ok(v("ollama_fleet_inference_duration_seconds_count", { phase: "decode" }) >= 2);
    assert.ok(v("ollama_fleet_time_to_first_token_seconds_count", { endpoint: "generate" }) >= 1);
    assert.equal(v("ollama_fleet_requests_in_flight"), 0);
    // KV affinity is on by default: routing's lookups, and Ollama's own prompt figures, are counted.
    assert.ok(v("ollama_fleet_prefix_cache_lookups_total") >= 3);
    assert.ok(v("ollama_fleet_prefix_cache_predicted_tokens_total", { kind: "prompt" }) > 0);
    assert.ok(v("ollama_fleet_prompt_cache_tokens_total", { kind: "prompt" }) > 0);
    // Session admission: no conversation continued here, so no liveness is learned and nothing is held.
    assert.match(scrape, /^ollama_fleet_live_conversations\{instance="[^"]+"\} 0$/m);
    assert.equal(v("ollama_fleet_session_admission_held_total", { kind: "opener" }), 0);
    assert.match(scrape, /^ollama_fleet_session_admission_held_total\{kind="lost_turn"\} 0$/m);
  });

  it("shows each GPU's memory, utilisation, temperature and power from the monitor", async (t) => {
    if (gpuSkip) return t.skip(gpuSkip);
    const v = (name: string, gpu: string): number => metricSum(scrape, name, { gpu });
    assert.equal(v("ollama_fleet_gpu_temperature_celsius", "0"), 51);
    assert.equal(v("ollama_fleet_gpu_memory_used_bytes", "0"), 1200 * 1024 ** 2);
    assert.equal(v("ollama_fleet_gpu_memory_total_bytes", "1"), 15360 * 1024 ** 2);
    assert.equal(v("ollama_fleet_gpu_utilization_ratio", "0"), 0.23);
    assert.equal(v("ollama_fleet_gpu_power_watts", "1"), 27.5);
    assert.equal(v("ollama_fleet_gpu_routing_factor", "0"), 1);
    assert.match(
      scrape,
      /ollama_fleet_gpu_info\{gpu="1",uuid="GPU-00000000-0000-4000-8000-000000000002",name="Tesla T4",vendor="nvidia",source="nvml"\} 1/,
    );
    assert.match(
      scrape,
      /ollama_fleet_instance_health_score\{instance="gpu0-\d+",model="llama3.2:1b",factor="gpu"\} 1/,
    );
  });

  it("is scraped by a real Prometheus, which answers a query with the number of requests sent", async (t) => {
    const prometheus = prometheusTool(t, "prometheus");
    if (!prometheus) return;
    const dir = mkdtempSync(path.join(tmpdir(), "prometheus-"));
    const port = await freePort();
    const target = new URL(fleet.url).host;
    writeFileSync(
      path.join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ollama-fleet\n    honor_labels: true\n    static_configs:\n      - targets: ["${target}"]\n`,
    );
    const child: ChildProcess = spawn(
      prometheus,
      [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let logs = "";
    child.stderr!.on("data", (d: Buffer) => void (logs = (logs + d.toString()).slice(-4000)));
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    try {
      const N = 7;
      for (let i = 0; i < N; i++) {
        const res = await post(fleet.url, "/v1/completions", {
          model: "llama3.2:1b",
          prompt: `p${i}`,
          max_tokens: 3,
        });
        assert.equal(res.status, 200);
        await res.text();
      }
      const query = `sum(ollama_fleet_requests_total{endpoint="openai_completions"})`;
      const deadline = Date.now() + 45_000;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
          const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
          last = JSON.stringify(body);
          if (body.data?.result?.[0]?.value[1] === String(N)) break;
        } catch (err) {
          last = String(err); // not listening yet
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.match(
        last,
        new RegExp(`"value":\\[[\\d.]+,"${N}"\\]`),
        `Prometheus never saw ${N} requests: ${last}\n${logs}`,
      );
      // honor_labels keeps the gateway's own `instance` label (the Grafana dashboard relies on it).
      const up = await fetch(
        `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('count(ollama_fleet_instance_up{instance=~"gpu[01]-.*"})')}`,
      );
      assert.match(await up.text(), /"value":\[[\d.]+,"2"\]/);
      if (!gpuSkip) {
        const res = await fetch(
          `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('ollama_fleet_gpu_temperature_celsius{gpu="0"}')}`,
        );
        assert.match(await res.text(), /"value":\[[\d.]+,"51"\]/);
      }
    } finally {
      child.kill("SIGTERM");
      const force = setTimeout(() => child.kill("SIGKILL"), 5000);
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((r) => child.once("exit", r));
      clearTimeout(force);
      process.off("exit", killOnExit);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
