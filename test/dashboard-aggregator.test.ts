/** The dashboard's pure parts on a manual clock: time buckets, bounded history, events, GPU estimates, state. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InstanceStats } from "../src/backend/instance.js";
import { buildDashboardState } from "../src/dashboard/dashboard-state.js";
import { estimateGpuReadings, slotLoadsOf } from "../src/dashboard/gpu-sample-source.js";
import { StatsAggregator } from "../src/dashboard/stats-aggregator.js";
import { ManualClock } from "./helpers/manual-clock.js";

const ok = (
  instanceId: string | undefined,
  extra: Partial<{ ttftMs: number; outputTokens: number }> = {},
) => ({
  instanceId,
  failed: false,
  ttftMs: extra.ttftMs,
  outputTokens: extra.outputTokens,
});

describe("StatsAggregator", () => {
  it("counts requests per instance in the bucket of their completion time", () => {
    const clock = new ManualClock(10_000);
    const agg = new StatsAggregator({ now: clock.now, bucketMs: 1000, historyBuckets: 5 });
    agg.recordRequest(ok("a", { ttftMs: 100, outputTokens: 10 }));
    agg.recordRequest(ok("a", { ttftMs: 300, outputTokens: 5 }));
    clock.advance(1000);
    agg.recordRequest(ok("b"));
    agg.recordRequest({ instanceId: undefined, failed: true, ttftMs: undefined, outputTokens: undefined });
    const series = agg.series();
    assert.equal(series.length, 5);
    assert.deepEqual(
      series.map((p) => p.t),
      [7000, 8000, 9000, 10_000, 11_000],
    );
    const [first, second] = series.slice(-2);
    assert.deepEqual(first!.requests, { a: 2 });
    assert.equal(first!.outputTokens, 15);
    assert.equal(first!.ttftMeanMs, 200);
    assert.equal(first!.failed, 0);
    assert.deepEqual(second!.requests, { b: 1, none: 1 });
    assert.equal(second!.failed, 1);
    assert.equal(second!.ttftMeanMs, null);
    assert.deepEqual(series[0]!.requests, {});
  });

  it("forgets buckets older than the history and reuses their slots for new time", () => {
    const clock = new ManualClock(0);
    const agg = new StatsAggregator({ now: clock.now, bucketMs: 1000, historyBuckets: 3 });
    agg.recordRequest(ok("a"));
    clock.advance(3000);
    agg.recordRequest(ok("b"));
    const series = agg.series();
    assert.deepEqual(
      series.map((p) => [p.t, p.requests]),
      [
        [1000, {}],
        [2000, {}],
        [3000, { b: 1 }],
      ],
    );
    assert.equal(agg.totals().requests, 1);
    clock.advance(10_000);
    assert.equal(agg.totals().requests, 0);
  });

  it("keeps the last gauge sample of a bucket and leaves unsampled buckets null", () => {
    const clock = new ManualClock(0);
    const agg = new StatsAggregator({ now: clock.now, bucketMs: 1000, historyBuckets: 4 });
    agg.sample({ gpuUtilization: new Map([[0, 20]]), queueDepth: 1, inFlight: new Map([["a", 1]]) });
    clock.advance(400);
    agg.sample({ gpuUtilization: new Map([[0, 140]]), queueDepth: 3, inFlight: new Map([["a", 2]]) });
    clock.advance(2000);
    const series = agg.series();
    assert.deepEqual(series[1]!.gpuUtilization, { "0": 100 });
    assert.equal(series[1]!.queueDepth, 3);
    assert.deepEqual(series[1]!.inFlight, { a: 2 });
    assert.equal(series[3]!.queueDepth, null);
    assert.deepEqual(series[3]!.gpuUtilization, {});
  });

  it("sums failed attempts by kind over the window", () => {
    const clock = new ManualClock(0);
    const agg = new StatsAggregator({ now: clock.now, bucketMs: 1000, historyBuckets: 10 });
    agg.recordFailure("timeout");
    clock.advance(1500);
    agg.recordFailure("timeout");
    agg.recordFailure("http_5xx");
    assert.deepEqual(agg.totals().failures, { timeout: 2, http_5xx: 1 });
    assert.equal(agg.totals().windowMs, 10_000);
  });

  it("folds keys beyond the cap into 'other' so hostile names cannot grow a bucket", () => {
    const clock = new ManualClock(0);
    const agg = new StatsAggregator({ now: clock.now, historyBuckets: 2, maxKeys: 3 });
    for (const k of ["k1", "k2", "k3", "k4", "k5"]) agg.recordFailure(k);
    assert.deepEqual(agg.series(1)[0]!.failures, { k1: 1, k2: 1, other: 3 });
  });

  it("keeps the newest events first, folds repeats and drops the oldest past the cap", () => {
    const clock = new ManualClock(0);
    const agg = new StatsAggregator({ now: clock.now, maxEvents: 2 });
    agg.note("warn", "a", "timeout");
    clock.advance(1000);
    agg.note("warn", "a", "timeout");
    assert.deepEqual(agg.recentEvents(), [
      { atMs: 1000, level: "warn", instanceId: "a", message: "timeout", count: 2 },
    ]);
    clock.advance(60_000);
    agg.note("warn", "a", "timeout");
    agg.note("error", "b", "breaker open");
    const events = agg.recentEvents();
    assert.deepEqual(
      events.map((e) => [e.instanceId, e.message, e.count]),
      [
        ["b", "breaker open", 1],
        ["a", "timeout", 1],
      ],
    );
  });
});

describe("GPU utilisation estimate", () => {
  it("is busy slots over capacity of the instances on each GPU, capped at 100%", () => {
    const readings = estimateGpuReadings([
      { gpuId: 1, inFlight: 3, capacity: 4, loadedBytes: 5e9, memoryLimitBytes: 12e9 },
      { gpuId: 0, inFlight: 1, capacity: 2, loadedBytes: 1e9, memoryLimitBytes: 8e9 },
      { gpuId: 0, inFlight: 9, capacity: 2, loadedBytes: 2e9, memoryLimitBytes: undefined },
    ]);
    assert.deepEqual(readings, [
      { gpuId: 0, utilizationPercent: 100, memoryUsedBytes: 3e9, memoryTotalBytes: undefined },
      { gpuId: 1, utilizationPercent: 75, memoryUsedBytes: 5e9, memoryTotalBytes: 12e9 },
    ]);
  });

  it("uses the router's default capacity for instances without max_concurrent_requests", () => {
    const loads = slotLoadsOf(
      [instance({ id: "a", inFlight: 2, maxConcurrentRequests: undefined })],
      new Map(),
      4,
    );
    assert.equal(estimateGpuReadings(loads)[0]!.utilizationPercent, 50);
  });
});

describe("dashboard state", () => {
  it("joins instances with their best score, GPUs with their loaded models, and speeds per model", () => {
    const a = instance({ id: "a", gpuId: 0, loaded: [["gemma2:9b", 6e9]] });
    const b = instance({ id: "b", gpuId: 1, state: "draining", maxConcurrentRequests: undefined });
    const state = buildDashboardState({
      atMs: 5,
      gateway: { version: "1", emulated: true, strategy: "WeightedRoundRobin", admin: "open" },
      instances: [a, b],
      defaultCapacity: 4,
      errorRates: new Map([["a", 0.25]]),
      scores: {
        a: [
          { model: "x", score: 0.2 },
          { model: "gemma2:9b", score: 0.9 },
        ],
      },
      perf: {
        atMs: 5,
        fleetLoadMsPerGB: undefined,
        instances: [
          {
            id: "a",
            requests: 4,
            failures: 1,
            errorRate: 0.25,
            loadMsPerGB: undefined,
            models: [{ model: "gemma2:9b", ttftMs: 40, tokensPerSecond: 200, samples: 4 }],
          },
          { id: "gone", requests: 1, failures: 0, errorRate: 0, loadMsPerGB: undefined, models: [] },
        ],
      },
      queue: {
        depth: 0,
        capacity: 10,
        byModel: {},
        enqueuedTotal: 0,
        rejectedTotal: {} as never,
        oldestWaitMs: 0,
      },
      gpuSource: "estimated",
      gpuReadings: [{ gpuId: 0, utilizationPercent: 50 }],
      totals: { windowMs: 1000, requests: 0, failed: 0, outputTokens: 0, failures: {} },
      bucketMs: 1000,
      series: [],
      events: [],
    });
    assert.equal(state.instances[0]!.score, 0.9);
    assert.equal(state.instances[0]!.errorRate, 0.25);
    assert.equal(state.instances[1]!.score, null);
    assert.equal(state.instances[1]!.state, "draining");
    assert.equal(state.instances[1]!.capacity, 4);
    assert.deepEqual(state.gpus, [
      {
        gpuId: 0,
        utilizationPercent: 50,
        instances: ["a"],
        loadedModels: [{ name: "gemma2:9b", instanceId: "a", sizeVramBytes: 6e9 }],
      },
      { gpuId: 1, utilizationPercent: 0, instances: ["b"], loadedModels: [] },
    ]);
    assert.deepEqual(state.models, [
      { model: "gemma2:9b", instanceId: "a", tokensPerSecond: 200, ttftMs: 40, samples: 4 },
    ]);
  });
});

function instance(o: Partial<InstanceStats> & { id: string; loaded?: [string, number][] }): InstanceStats {
  return {
    name: o.id,
    url: "http://127.0.0.1:1",
    gpuId: 0,
    health: "healthy",
    breaker: "closed",
    state: "healthy",
    draining: o.state === "draining",
    inFlight: 0,
    maxConcurrentRequests: 2,
    version: "0.6.0",
    modelsOnDisk: [],
    lastError: undefined,
    lastCheckedAt: undefined,
    requestsTotal: 0,
    failuresTotal: 0,
    ...o,
    loadedModels: (o.loaded ?? []).map(([name, sizeVramBytes]) => ({ name, sizeVramBytes, expiresAt: "" })),
  };
}
