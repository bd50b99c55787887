/** PerformanceTracker and its error window on a manual clock: EWMAs, window expiry, load estimates, bounds. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorWindow } from "../src/routing/error-window.js";
import { PerformanceTracker, type PerformanceTrackerOptions } from "../src/routing/performance-tracker.js";

function tracker(over: Partial<PerformanceTrackerOptions> = {}) {
  const clock = { now: 0 };
  const t = new PerformanceTracker({ now: () => clock.now, ewmaAlpha: 0.5, ...over });
  return { t, clock };
}

describe("PerformanceTracker measurements", () => {
  it("keeps an EWMA of time to first token per instance and model", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, ttftMs: 100 });
    assert.equal(t.ttftMs("gpu0", "m"), 100);
    t.record("gpu0", "m", { ok: true, ttftMs: 200 });
    assert.equal(t.ttftMs("gpu0", "m"), 150);
    t.record("gpu0", "m", { ok: true, ttftMs: 50 });
    assert.equal(t.ttftMs("gpu0", "m"), 100);
  });

  it("takes the load out of the TTFT, since residency prices loads separately", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, ttftMs: 3200, loadDurationMs: 3000, modelSizeBytes: 4e9 });
    assert.equal(t.ttftMs("gpu0", "m"), 200);
  });

  it("keeps an EWMA of decode tokens per second from eval count and duration", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, outputTokens: 100, decodeMs: 2000 });
    assert.equal(t.tokensPerSecond("gpu0", "m"), 50);
    t.record("gpu0", "m", { ok: true, outputTokens: 300, decodeMs: 2000 });
    assert.equal(t.tokensPerSecond("gpu0", "m"), 100);
  });

  it("ignores speeds from answers too short to measure", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, outputTokens: 2, decodeMs: 1 });
    t.record("gpu0", "m", { ok: true, outputTokens: 10, decodeMs: 0 });
    assert.equal(t.tokensPerSecond("gpu0", "m"), undefined);
  });

  it("falls back to the instance's mean over models, then to undefined", () => {
    const { t } = tracker();
    t.record("gpu0", "a", { ok: true, ttftMs: 100, outputTokens: 100, decodeMs: 1000 });
    t.record("gpu0", "b", { ok: true, ttftMs: 300, outputTokens: 300, decodeMs: 1000 });
    assert.equal(t.ttftMs("gpu0", "never-seen"), 200);
    assert.equal(t.tokensPerSecond("gpu0", "never-seen"), 200);
    assert.equal(t.ttftMs("gpu1", "a"), undefined);
    assert.equal(t.tokensPerSecond("gpu1", "a"), undefined);
  });

  it("falls back per figure: a model with a TTFT but no speed yet borrows the instance's speed", () => {
    const { t } = tracker();
    t.record("gpu0", "a", { ok: true, outputTokens: 100, decodeMs: 1000 });
    t.record("gpu0", "b", { ok: true, ttftMs: 80 });
    assert.equal(t.tokensPerSecond("gpu0", "b"), 100);
    assert.equal(t.ttftMs("gpu0", "b"), 80);
  });
});

describe("PerformanceTracker error rate", () => {
  it("is the failed share of the instance's attempts, over all models", () => {
    const { t } = tracker();
    t.record("gpu0", "a", { ok: false });
    t.record("gpu0", "b", { ok: true });
    t.record("gpu0", "b", { ok: false });
    t.record("gpu0", "a", { ok: false });
    assert.equal(t.errorRate("gpu0"), 0.75);
    assert.equal(t.errorRate("gpu1"), 0);
  });

  it("forgets failures once the sliding window has passed them, bucket by bucket", () => {
    // 60 s window in 12 buckets of 5 s.
    const { t, clock } = tracker({ errorWindowMs: 60_000, errorBuckets: 12 });
    t.record("gpu0", "m", { ok: false }); // bucket [0, 5 s)
    clock.now = 30_000;
    t.record("gpu0", "m", { ok: true }); // bucket [30, 35 s)
    assert.equal(t.errorRate("gpu0"), 0.5);
    clock.now = 59_999;
    assert.equal(t.errorRate("gpu0"), 0.5);
    clock.now = 60_000;
    assert.equal(t.errorRate("gpu0"), 0);
    clock.now = 90_000;
    assert.equal(t.errorRate("gpu0"), 0);
  });

  it("keeps a fixed number of buckets however many requests arrive", () => {
    const w = new ErrorWindow(1000, 4);
    for (let ms = 0; ms < 100_000; ms += 7) w.record(ms, ms % 2 === 0);
    const { requests } = w.counts(100_000);
    // Only the buckets of the last second remain: about 1000 / 7 requests, not 14 000.
    assert.ok(requests > 100 && requests <= 143, `${requests}`);
  });

  it("rejects a window without time or buckets", () => {
    assert.throws(() => new ErrorWindow(0, 4));
    assert.throws(() => new ErrorWindow(1000, 0));
  });
});

describe("PerformanceTracker load estimate", () => {
  it("starts from 0.3 s plus size at 2 GB/s", () => {
    const { t } = tracker();
    assert.equal(t.estimateLoadMs("gpu0", 4e9), 2300);
  });

  it("learns the per-byte rate beyond the fixed start from measured loads", () => {
    const { t } = tracker();
    // 4 GB in 1.3 s: 1 s beyond the 0.3 s start, so 4 GB/s; an 8 GB model then takes 0.3 + 2 s.
    t.record("gpu0", "m", { ok: true, loadDurationMs: 1300, modelSizeBytes: 4e9 });
    assert.equal(t.estimateLoadMs("gpu0", 8e9), 2300);
  });

  it("uses the fleet's learned rate for an instance that has not loaded anything yet", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, loadDurationMs: 1300, modelSizeBytes: 4e9 });
    t.record("gpu1", "m", { ok: true, loadDurationMs: 2300, modelSizeBytes: 4e9 });
    // Fleet EWMA (α 0.5) of 0.25 and 0.5 ms/MB.
    assert.equal(t.estimateLoadMs("gpu2", 4e9), 300 + 4e9 * 3.75e-7);
    assert.equal(t.estimateLoadMs("gpu1", 4e9), 2300);
  });

  it("learns a fast backend's short loads when the gateway itself started them", () => {
    const { t } = tracker();
    // A time-scaled emulator loads 4 GB in 50 ms: priced at 50 ms, not at the default's fixed 300 ms.
    t.record("gpu0", "m", { ok: true, loadDurationMs: 50, modelSizeBytes: 4e9, startedLoad: true });
    assert.equal(t.estimateLoadMs("gpu0", 4e9), 50);
    assert.equal(t.estimateLoadMs("gpu0", 8e9), 75);
  });

  it("does not learn from a hot model's few-millisecond load_duration", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: true, loadDurationMs: 5, modelSizeBytes: 4e9 });
    assert.equal(t.estimateLoadMs("gpu0", 4e9), 2300);
  });
});

describe("PerformanceTracker bounds and snapshot", () => {
  it("keeps at most maxEntries instance × model entries, dropping the least recently recorded", () => {
    const { t } = tracker({ maxEntries: 3 });
    for (const model of ["a", "b", "c"]) t.record("gpu0", model, { ok: true, ttftMs: 100 });
    t.record("gpu0", "a", { ok: true, ttftMs: 100 }); // a is now the most recent
    t.record("gpu1", "d", { ok: true, ttftMs: 100 }); // evicts b
    const kept = t.snapshot().instances.flatMap((i) => i.models.map((m) => `${i.id}/${m.model}`));
    assert.deepEqual(kept.sort(), ["gpu0/a", "gpu0/c", "gpu1/d"]);
  });

  it("keeps at most maxInstances instances, with their entries", () => {
    const { t } = tracker({ maxInstances: 2 });
    for (const id of ["gpu0", "gpu1", "gpu2"]) t.record(id, "m", { ok: false, ttftMs: 100 });
    assert.deepEqual(
      t.snapshot().instances.map((i) => i.id),
      ["gpu1", "gpu2"],
    );
    assert.equal(t.errorRate("gpu0"), 0);
    assert.equal(t.ttftMs("gpu0", "m"), undefined);
  });

  it("forgets an instance that left the fleet", () => {
    const { t } = tracker();
    t.record("gpu0", "m", { ok: false, ttftMs: 100 });
    t.forget("gpu0");
    assert.equal(t.errorRate("gpu0"), 0);
    assert.deepEqual(t.snapshot().instances, []);
  });

  it("snapshots every figure for the admin API", () => {
    const { t, clock } = tracker();
    clock.now = 1000;
    t.record("gpu0", "m", {
      ok: true,
      ttftMs: 2420,
      outputTokens: 50,
      decodeMs: 1000,
      loadDurationMs: 2300,
      modelSizeBytes: 4e9,
    });
    t.record("gpu0", "m", { ok: false });
    assert.deepEqual(t.snapshot(), {
      atMs: 1000,
      fleetLoadMsPerGB: 500,
      instances: [
        {
          id: "gpu0",
          requests: 2,
          failures: 1,
          errorRate: 0.5,
          loadMsPerGB: 500,
          models: [{ model: "m", ttftMs: 120, tokensPerSecond: 50, samples: 2 }],
        },
      ],
    });
  });

  it("rejects an EWMA weight outside (0, 1]", () => {
    assert.throws(() => new PerformanceTracker({ now: () => 0, ewmaAlpha: 0 }));
    assert.throws(() => new PerformanceTracker({ now: () => 0, ewmaAlpha: 1.5 }));
  });
});
