/**
 * One cell of the suite: a fresh fleet of emulator processes and a fresh `ollama-fleet serve`, configured
 * for one strategy variant, serving one workload's sessions; returns what the client saw, what the
 * emulators counted (prefill computed vs reused, loads, busy time) and what the gateway reports.
 */
import { startEmulatorProcess, startGatewayProcess, type Started } from "./processes.js";
import { runSessions } from "./suite-client.js";
import type { SuiteRecord } from "./suite-metrics.js";
import { gpuFlag, modelsFlag } from "./workloads/routing-workloads.js";
import type { SuiteFleet, SuiteSession } from "./workloads/suite-workloads.js";

/** A gateway configuration under test: a strategy and the switches of issue 5. */
export interface Variant {
  id: string;
  strategy: string;
  /** EnableKvCacheSharing. */
  affinity: boolean;
  /** EnableBatchProcessing (dynamic batching, embedding merging). */
  batching: boolean;
  /** [Gateway] EnableRequestCoalescing. */
  coalescing: boolean;
}

/** A baseline: the strategy with every issue-5 switch off. */
export function baseline(strategy: string, id = strategy): Variant {
  return { id, strategy, affinity: false, batching: false, coalescing: false };
}

/** The INI of a cell's gateway; polling intervals scaled to emulated time, as the routing benchmark does. */
export function cellIni(v: Variant, timeScale: number): string {
  return [
    "[GPU_LoadBalancing]",
    `LoadBalancingStrategy = ${v.strategy}`,
    `EnableKvCacheSharing = ${v.affinity}`,
    `EnableBatchProcessing = ${v.batching}`,
    `HealthCheckIntervalSeconds = ${30 / timeScale}`,
    "[Gateway]",
    `InventoryRefreshSeconds = ${10 / timeScale}`,
    `EnableRequestCoalescing = ${v.coalescing}`,
    "",
  ].join("\n");
}

/** Counters of one emulator (GET /__sim/stats), over the run. */
export interface EmulatorStats {
  requests: number;
  byEndpoint: Record<string, number>;
  tokensGenerated: number;
  prefillTokensComputed: number;
  prefillTokensReused: number;
  loads: number;
  evictions: number;
  errors: number;
  /** Wall ms with at least one sequence on the GPU. */
  busyMs: number;
}

/** Everything one cell measured. */
export interface CellOutput {
  records: SuiteRecord[];
  /** At the end of the arrival window (for utilisation while traffic is offered). */
  atWindow: (EmulatorStats | undefined)[];
  /** At the end of the run. */
  atEnd: (EmulatorStats | undefined)[];
  /** Wall ms from the stats reset to the end of the arrival window. */
  windowWallMs: number;
  /** `GET /fleet/status` at the end. */
  gatewayStatus: Record<string, unknown> | undefined;
  /** Samples of the gateway's queue during the run: how often requests waited while slots were free. */
  queueSamples: { samples: number; queued: number; queuedWithFreeSlots: number; maxDepth: number };
  wallSeconds: number;
}

/** Settings of one cell. */
export interface CellOptions {
  fleet: SuiteFleet;
  variant: Variant;
  sessions: SuiteSession[];
  timeScale: number;
  windowSeconds: number;
  /** The run may last this many windows after the window before what is left is cut off. */
  drainWindows: number;
  /** Models loaded on every emulator before the gateway starts (the load is then not measured). */
  preload: string[];
  /** Instance crashed (emulator `crash` fault) at this share of the window, if set. */
  kill?: { instance: number; atShare: number };
}

async function emulatorStats(url: string): Promise<EmulatorStats | undefined> {
  try {
    const s = (await (await fetch(`${url}/__sim/stats`)).json()) as EmulatorStats & {
      requests: { total: number; byEndpoint: Record<string, number> };
    };
    return { ...s, requests: s.requests.total, byEndpoint: s.requests.byEndpoint };
  } catch {
    return undefined; // a killed instance
  }
}

/** Runs one cell on fresh processes. */
export async function runCell(o: CellOptions): Promise<CellOutput> {
  const t0 = performance.now();
  const started: Started[] = [];
  try {
    const emulators = await Promise.all(
      o.fleet.gpus.map((g, i) =>
        startEmulatorProcess(
          [
            ...["--gpu", gpuFlag(g), "--models", modelsFlag(g), "--parallel", String(g.parallel)],
            ...["--num-ctx", String(o.fleet.numCtx), "--time-scale", String(o.timeScale)],
            ...["--id", `${o.fleet.id}-${i}`],
          ],
          { quiet: true },
        ),
      ),
    );
    started.push(...emulators);
    for (const model of o.preload) {
      await Promise.all(
        emulators.map((e) =>
          fetch(`${e.url}/api/generate`, { method: "POST", body: JSON.stringify({ model }) }).then((r) =>
            r.text(),
          ),
        ),
      );
    }
    const gateway = await startGatewayProcess(
      emulators.map((e) => e.url),
      ["--log-level", "error"],
      {
        instances: o.fleet.gpus.map((g, i) => ({
          name: `${g.name} #${i}`,
          memoryLimit: `${g.vramGb}GiB`,
          maxConcurrentRequests: g.parallel,
        })),
        ini: cellIni(o.variant, o.timeScale),
      },
    );
    started.push(gateway);
    await Promise.all(emulators.map((e) => fetch(`${e.url}/__sim/reset-stats`, { method: "POST" })));
    const reset = performance.now();
    const windowMs = (o.windowSeconds * 1000) / o.timeScale;
    let atWindow: (EmulatorStats | undefined)[] = [];
    let windowWallMs = windowMs;
    const windowTimer = new Promise<void>((resolve) =>
      setTimeout(() => {
        windowWallMs = performance.now() - reset;
        void Promise.all(emulators.map((e) => emulatorStats(e.url))).then((s) => {
          atWindow = s;
          resolve();
        });
      }, windowMs),
    );
    const slots = o.fleet.gpus.reduce((n, g) => n + g.parallel, 0);
    const queueSamples = { samples: 0, queued: 0, queuedWithFreeSlots: 0, maxDepth: 0 };
    const sampler = setInterval(() => {
      void fetch(`${gateway.url}/fleet/status`)
        .then((r) => r.json() as Promise<{ inFlight: number; queue: { depth: number } }>)
        .then((st) => {
          queueSamples.samples++;
          queueSamples.maxDepth = Math.max(queueSamples.maxDepth, st.queue.depth);
          if (st.queue.depth > 0) queueSamples.queued++;
          if (st.queue.depth > 0 && st.inFlight < slots) queueSamples.queuedWithFreeSlots++;
        })
        .catch(() => undefined);
    }, 500);
    const kill = o.kill;
    const records = await runSessions({
      url: gateway.url,
      sessions: o.sessions,
      timeScale: o.timeScale,
      cutoffMs: windowMs * (1 + o.drainWindows),
      at: kill && {
        ms: kill.atShare * windowMs,
        run: async () => {
          const body = JSON.stringify({ kind: "crash", afterTokens: 1 });
          await fetch(`${emulators[kill.instance]!.url}/__sim/fault`, { method: "POST", body });
        },
      },
    });
    clearInterval(sampler);
    await windowTimer;
    const atEnd = await Promise.all(emulators.map((e) => emulatorStats(e.url)));
    let gatewayStatus: Record<string, unknown> | undefined;
    try {
      gatewayStatus = (await (await fetch(`${gateway.url}/fleet/status`)).json()) as Record<string, unknown>;
    } catch {
      gatewayStatus = undefined;
    }
    return {
      records,
      atWindow,
      atEnd,
      windowWallMs,
      gatewayStatus,
      queueSamples,
      wallSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}
