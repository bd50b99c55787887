/** The health state machine on a manual clock: thresholds, passive signals, exact transitions. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HealthTracker, type HealthTrackerOptions } from "../src/health/health-tracker.js";
import type { HealthTransition } from "../src/health/types.js";
import { ManualClock } from "./helpers/manual-clock.js";

function setup(over: Partial<HealthTrackerOptions> = {}) {
  const clock = new ManualClock(1_000);
  const tracker = new HealthTracker({ unhealthyThreshold: 3, healthyThreshold: 2, now: clock.now, ...over });
  const events: HealthTransition[] = [];
  tracker.events.on("transition", (t) => events.push(t));
  return { clock, tracker, events };
}

describe("HealthTracker", () => {
  it("starts unknown and turns healthy on the very first success", () => {
    const { tracker, events } = setup();
    assert.equal(tracker.state, "unknown");
    tracker.recordSuccess("active");
    assert.equal(tracker.state, "healthy");
    assert.deepEqual(events, [
      { from: "unknown", to: "healthy", reason: "first success (active)", atMs: 1_000 },
    ]);
  });

  it("stays unknown below the failure threshold and turns unhealthy when it is reached", () => {
    const { clock, tracker, events } = setup();
    tracker.recordFailure("active", "connection refused");
    clock.advance(5_000);
    tracker.recordFailure("active", "connection refused");
    assert.equal(tracker.state, "unknown");
    assert.deepEqual(events, []);
    clock.advance(5_000);
    tracker.recordFailure("active", "timeout after 5000 ms");
    assert.equal(tracker.state, "unhealthy");
    assert.deepEqual(events, [
      {
        from: "unknown",
        to: "unhealthy",
        reason: "3 consecutive failures; last (active): timeout after 5000 ms",
        atMs: 11_000,
      },
    ]);
  });

  it("a success after failures from unknown decides healthy at once", () => {
    const { tracker, events } = setup();
    tracker.recordFailure("active", "refused");
    tracker.recordSuccess("active");
    assert.equal(tracker.state, "healthy");
    assert.deepEqual(
      events.map((e) => `${e.from}>${e.to}`),
      ["unknown>healthy"],
    );
  });

  it("turns unhealthy after exactly unhealthyThreshold consecutive failures, and a success resets the count", () => {
    const { tracker, events } = setup();
    tracker.recordSuccess("active");
    tracker.recordFailure("passive", "HTTP 500");
    tracker.recordFailure("passive", "HTTP 500");
    tracker.recordSuccess("passive");
    tracker.recordFailure("passive", "HTTP 500");
    tracker.recordFailure("passive", "HTTP 500");
    assert.equal(tracker.state, "healthy");
    tracker.recordFailure("passive", "HTTP 502");
    assert.equal(tracker.state, "unhealthy");
    assert.deepEqual(
      events.map((e) => [e.from, e.to, e.reason]),
      [
        ["unknown", "healthy", "first success (active)"],
        ["healthy", "unhealthy", "3 consecutive failures; last (passive): HTTP 502"],
      ],
    );
  });

  it("needs healthyThreshold consecutive successes to recover; a failure in between restarts the count", () => {
    const { clock, tracker, events } = setup({ unhealthyThreshold: 1, healthyThreshold: 3 });
    tracker.recordFailure("active", "refused");
    assert.equal(tracker.state, "unhealthy");
    const seen: string[] = [];
    const step = (ok: boolean) => {
      clock.advance(10_000);
      if (ok) tracker.recordSuccess("active");
      else tracker.recordFailure("active", "refused");
      seen.push(tracker.state);
    };
    [true, true, false, true, true, true].forEach(step);
    assert.deepEqual(seen, ["unhealthy", "unhealthy", "unhealthy", "unhealthy", "unhealthy", "healthy"]);
    assert.deepEqual(events, [
      {
        from: "unknown",
        to: "unhealthy",
        reason: "1 consecutive failures; last (active): refused",
        atMs: 1_000,
      },
      { from: "unhealthy", to: "healthy", reason: "3 consecutive successes (last: active)", atMs: 61_000 },
    ]);
  });

  it("counts passive signals from real requests together with active probes", () => {
    const { tracker, events } = setup();
    tracker.recordSuccess("active");
    tracker.recordFailure("active", "probe timeout");
    tracker.recordFailure("passive", "connection reset");
    tracker.recordFailure("active", "probe timeout");
    assert.equal(tracker.state, "unhealthy");
    tracker.recordSuccess("passive");
    tracker.recordSuccess("active");
    assert.equal(tracker.state, "healthy");
    assert.deepEqual(
      events.map((e) => e.to),
      ["healthy", "unhealthy", "healthy"],
    );
    assert.equal(events[2]?.reason, "2 consecutive successes (last: active)");
  });

  it("emits nothing for signals that do not change the state", () => {
    const { tracker, events } = setup();
    tracker.recordSuccess("active");
    for (let i = 0; i < 10; i++) tracker.recordSuccess("passive");
    tracker.recordFailure("active", "x");
    tracker.recordFailure("active", "x");
    tracker.recordFailure("active", "x");
    tracker.recordFailure("active", "x");
    assert.equal(events.length, 2);
  });

  it("reports counters, the last failure and the last change time in stats", () => {
    const { clock, tracker } = setup();
    assert.deepEqual(tracker.stats(), {
      state: "unknown",
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      lastFailureReason: undefined,
      lastFailureSource: undefined,
      lastFailureMs: undefined,
      lastSuccessMs: undefined,
      lastChangeMs: undefined,
      totalSuccesses: 0,
      totalFailures: 0,
    });
    tracker.recordSuccess("active");
    clock.advance(2_000);
    tracker.recordFailure("passive", "HTTP 503");
    clock.advance(2_000);
    tracker.recordFailure("active", "timeout");
    assert.deepEqual(tracker.stats(), {
      state: "healthy",
      consecutiveFailures: 2,
      consecutiveSuccesses: 0,
      lastFailureReason: "timeout",
      lastFailureSource: "active",
      lastFailureMs: 5_000,
      lastSuccessMs: 1_000,
      lastChangeMs: 1_000,
      totalSuccesses: 1,
      totalFailures: 2,
    });
  });

  it("lets a transition listener read the new state", () => {
    const { tracker } = setup({ unhealthyThreshold: 1 });
    const seen: string[] = [];
    tracker.events.on("transition", () => seen.push(tracker.state));
    tracker.recordSuccess("active");
    tracker.recordFailure("active", "x");
    assert.deepEqual(seen, ["healthy", "unhealthy"]);
  });

  it("rejects thresholds that are not positive integers", () => {
    assert.throws(
      () => setup({ unhealthyThreshold: 0 }),
      /unhealthyThreshold must be an integer >= 1, got 0/,
    );
    assert.throws(() => setup({ healthyThreshold: 1.5 }), /healthyThreshold must be an integer >= 1/);
  });
});
