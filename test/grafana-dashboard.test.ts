/**
 * deploy/grafana/ollama-fleet.json is built on the metrics the gateway really exports: every metric its
 * PromQL names appears in a /metrics scrape taken after real traffic (GPU readings from the fake NVML), and
 * every expression parses as PromQL (promtool check rules).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { REPO_ROOT } from "./fixtures/config/temp-files.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import { declaredMetrics, fakeGpuPoller, mixedTraffic, prometheusTool } from "./helpers/metrics-scrape.js";
import { MODEL_ARGS } from "./helpers/resilience.js";

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(path.join(REPO_ROOT, "deploy", "grafana", "ollama-fleet.json"), "utf8"),
) as {
  panels: Panel[];
  templating: { list: Array<{ definition?: string }> };
};
const panels = dashboard.panels.filter((p) => p.type !== "row");
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Metric families an expression reads (histogram series map to their family). */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\bollama_fleet_[a-z0-9_]+/g)].map((m) =>
    m[0].replace(/_(bucket|sum|count)$/, ""),
  );
}

describe("the Grafana dashboard", () => {
  let fleet: FleetFixture;
  let scrape = "";
  before(async () => {
    const poller = await fakeGpuPoller();
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], () => {}, {
      gpuPoller: "skip" in poller ? null : poller,
    });
    await mixedTraffic(fleet);
    scrape = await (await fetch(`${fleet.url}/metrics`)).text();
  });
  after(async () => fleet?.close());

  it("has the seed's views: GPU heatmap, request distribution, model performance, errors, queue, health", () => {
    const titles = panels.map((p) => p.title);
    for (const title of [
      "GPU utilisation heatmap",
      "Requests by instance",
      "Output tokens / s by model and instance",
      "TTFT p50 / p95 by model",
      "Errors by type",
      "Queue depth by model and priority",
      "Instance state",
      "Health score by instance and model",
    ]) {
      assert.ok(titles.includes(title), title);
    }
    assert.equal(panels.find((p) => p.title === "GPU utilisation heatmap")?.type, "status-history");
  });

  it("queries only metrics a real /metrics scrape declares", () => {
    const declared = declaredMetrics(scrape);
    const used = new Set([
      ...exprs.flatMap((e) => metricsOf(e.expr)),
      ...dashboard.templating.list.flatMap((v) => metricsOf(v.definition ?? "")),
    ]);
    assert.ok(used.size >= 30, `the dashboard reads ${used.size} metrics`);
    const missing = [...used].filter((m) => !declared.has(m));
    assert.deepEqual(missing, [], "metrics the dashboard queries but the gateway does not export");
  });

  it("is documented: docs/observability.md has a row for every metric the gateway exports", () => {
    const docs = readFileSync(path.join(REPO_ROOT, "docs", "observability.md"), "utf8");
    const own = [...declaredMetrics(scrape)].filter((m) => !m.startsWith("ollama_fleet_process_"));
    const undocumented = own.filter((m) => !docs.includes(`| \`${m}\``));
    assert.deepEqual(undocumented, []);
  });

  it("writes every panel expression in valid PromQL", (t) => {
    const promtool = prometheusTool(t, "promtool");
    if (!promtool) return;
    const dir = mkdtempSync(path.join(tmpdir(), "grafana-promql-"));
    try {
      // Grafana's variables replaced by values of the same kind, then each expression as a recording rule.
      const rules = exprs.map((e, i) => ({
        record: `grafana:panel_${i}`,
        expr: e.expr
          .replaceAll("$__rate_interval", "1m")
          .replaceAll("$__range", "1h")
          .replaceAll("$instance", ".*")
          .replaceAll("$model", ".*"),
      }));
      const file = path.join(dir, "rules.yml");
      writeFileSync(file, JSON.stringify({ groups: [{ name: "grafana", rules }] }));
      const r = spawnSync(promtool, ["check", "rules", file], { encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
