/** Test helper: a Fleet of instances that is never started (no instance is called), for routing tests. */
import type { TestContext } from "node:test";
import { Fleet } from "../../src/backend/fleet.js";
import type { InstanceSpec } from "../../src/backend/instance.js";
import { RequestRouter, type RequestRouterOptions } from "../../src/backend/request-router.js";
import { PerformanceTracker } from "../../src/routing/performance-tracker.js";
import { createBalancer } from "../../src/routing/registry.js";
import { AffinityStore } from "../../src/routing/affinity-store.js";
import { ManualClock } from "./manual-clock.js";

/** One instance per spec (ids i0, i1… unless given), on an injected clock, with the seed's guard values. */
export function idleFleet(specs: Array<Partial<InstanceSpec>>, now: () => number): Fleet {
  return new Fleet({
    specs: specs.map((s, i) => ({
      id: `i${i}`,
      name: `instance ${i}`,
      url: `http://127.0.0.1:${9 + i}`,
      gpuId: 0,
      memoryLimitBytes: undefined,
      models: [],
      maxConcurrentRequests: undefined,
      ...s,
    })),
    refreshIntervalMs: 60_000,
    checkTimeoutMs: 1000,
    healthCheckIntervalMs: 60_000,
    connectTimeoutMs: 1000,
    guard: {
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      breakerEnabled: true,
      breakerThreshold: 5,
      breakerResetMs: 60_000,
    },
    now,
  });
}

/**
 * A WeightedRoundRobin router over `fleet` on a manual clock (override any option); the router and the
 * fleet are closed when the test ends.
 */
export function manualRouter(
  t: TestContext,
  fleet: Fleet,
  clock: ManualClock,
  over: Partial<RequestRouterOptions> = {},
): RequestRouter {
  const router = new RequestRouter({
    fleet,
    balancer: createBalancer("WeightedRoundRobin", { now: clock.now, random: () => 0 }),
    perf: new PerformanceTracker({ now: clock.now }),
    maxQueueSize: 8,
    queueTimeoutMs: 60_000,
    agingMs: 10_000,
    now: clock.now,
    clock,
    ...over,
  });
  t.after(async () => {
    router.close();
    await fleet.close();
  });
  return router;
}

/**
 * One-slot instances `ids` with `model` loaded and healthy (never started: nothing is called), behind a
 * RoundRobin router with KV affinity on a manual clock starting at 1,000 ms (override any option).
 */
export function affinityRouter(
  t: TestContext,
  ids: string[],
  model: string,
  over: Partial<RequestRouterOptions> = {},
) {
  const clock = new ManualClock(1_000);
  const fleet = idleFleet(
    ids.map((id, i) => ({ id, name: `instance ${id}`, gpuId: i, maxConcurrentRequests: 1 })),
    clock.now,
  );
  const tag = { name: model, model, size: 1.3e9, digest: "d", modified_at: "", details: {} };
  const ps = { name: model, model, size: 1.5e9, size_vram: 1.5e9, digest: "d", expires_at: "" };
  for (const i of fleet.instances()) {
    i.setInventory([tag] as never, [ps] as never);
    i.healthTracker.recordSuccess("active");
  }
  const router = manualRouter(t, fleet, clock, {
    balancer: createBalancer("RoundRobin", { now: clock.now, random: () => 0 }),
    queueTimeoutMs: 60_000,
    affinity: new AffinityStore(30),
    ...over,
  });
  return { clock, fleet, router };
}
