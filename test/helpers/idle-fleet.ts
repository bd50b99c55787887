/** Test helper: a Fleet of instances that is never started (no instance is called), for routing tests. */
import { Fleet } from "../../src/backend/fleet.js";
import type { InstanceSpec } from "../../src/backend/instance.js";

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
