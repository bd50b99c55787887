/**
 * The supervisor's figures at each scrape, from its stats(): instance process states, exits, restarts,
 * current parallel slots, and out-of-memory errors and recovery steps. Counters are the supervisor's own
 * totals since start, exposed as gauges-of-totals would break rate(): prom-client Counters are set from them.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { SupervisorStats } from "../supervisor/supervisor-types.js";

/** Every state a supervised instance can be in, so a state that is left reads 0 rather than vanishing. */
const STATES = ["starting", "preloading", "ready", "restarting", "failed", "stopping", "stopped"] as const;

/** A counter whose value follows a total kept elsewhere (it only ever grows, so inc by the difference). */
function totalCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => { labels: Record<string, string>; total: number }[],
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const { labels, total } of read()) {
        const key = JSON.stringify(labels);
        const grown = total - (seen.get(key) ?? 0);
        if (grown > 0) this.inc(labels, grown);
        seen.set(key, Math.max(total, seen.get(key) ?? 0));
      }
    },
  });
}

/** Registers the supervisor metrics; `stats` returns undefined while no supervisor runs. */
export function registerSupervisorMetrics(
  registry: Registry,
  stats: () => SupervisorStats | undefined,
): void {
  new Gauge({
    name: "ollama_fleet_supervised_instance_state",
    help: "1 for the state each supervised Ollama process is in (starting, preloading, ready, restarting, failed...).",
    labelNames: ["instance", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of stats()?.instances ?? []) {
        for (const state of STATES) this.set({ instance: i.id, state }, i.state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "ollama_fleet_supervised_parallel_slots",
    help: "Current OLLAMA_NUM_PARALLEL of each supervised instance (lowered after out-of-memory recovery).",
    labelNames: ["instance"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of stats()?.instances ?? []) this.set({ instance: i.id }, i.numParallel);
    },
  });
  totalCounter(
    registry,
    "ollama_fleet_instance_restarts_total",
    "Restarts of supervised Ollama processes (after an exit, a wedge or a recovery).",
    ["instance"],
    () => (stats()?.instances ?? []).map((i) => ({ labels: { instance: i.id }, total: i.restartsTotal })),
  );
  totalCounter(
    registry,
    "ollama_fleet_instance_exits_total",
    "Unplanned exits of supervised Ollama processes.",
    ["instance"],
    () => (stats()?.instances ?? []).map((i) => ({ labels: { instance: i.id }, total: i.exitsTotal })),
  );
  totalCounter(
    registry,
    "ollama_fleet_oom_recoveries_total",
    "Out-of-memory recovery steps taken, by action (unload-others, reduce-parallel, move-model, none).",
    ["action"],
    () =>
      Object.entries(stats()?.oom.recoveries ?? {}).map(([action, total]) => ({ labels: { action }, total })),
  );
  totalCounter(
    registry,
    "ollama_fleet_oom_detected_total",
    "Out-of-memory errors detected by the supervisor, by where they were seen (response, log, preload).",
    ["source"],
    () =>
      Object.entries(stats()?.oom.bySource ?? {}).map(([source, total]) => ({ labels: { source }, total })),
  );
}
