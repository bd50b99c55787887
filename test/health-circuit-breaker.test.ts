/** The circuit breaker on a manual clock: exact states and events, the single half-open trial. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitBreaker, type CircuitBreakerOptions } from "../src/health/circuit-breaker.js";
import type { BreakerTransition } from "../src/health/types.js";
import { ManualClock } from "./helpers/manual-clock.js";

function setup(over: Partial<CircuitBreakerOptions> = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ threshold: 5, resetMs: 60_000, now: clock.now, ...over });
  const events: BreakerTransition[] = [];
  breaker.events.on("transition", (t) => events.push(t));
  return { clock, breaker, events };
}

describe("CircuitBreaker", () => {
  it("runs the whole cycle: 5 failures open, 60 s half-open with one trial, failed trial re-opens, good trial closes", () => {
    const { clock, breaker, events } = setup();
    for (let i = 0; i < 4; i++) {
      assert.equal(breaker.tryAcquire(), true);
      breaker.onFailure("HTTP 500");
    }
    assert.equal(breaker.state, "closed");
    breaker.onFailure("connection refused");
    assert.equal(breaker.state, "open");
    assert.equal(breaker.tryAcquire(), false);

    clock.advance(59_000);
    assert.equal(breaker.state, "open");
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(breaker.trialAvailable, false);

    clock.advance(1_000);
    assert.equal(breaker.state, "half-open");
    assert.equal(breaker.trialAvailable, true);
    assert.equal(breaker.tryAcquire(), true, "the one trial is admitted");
    assert.equal(breaker.tryAcquire(), false, "a second request is refused while the trial runs");
    assert.equal(breaker.trialAvailable, false);

    clock.advance(2_000);
    breaker.onFailure("first token timeout");
    assert.equal(breaker.state, "open");
    clock.advance(59_999);
    assert.equal(breaker.tryAcquire(), false);
    clock.advance(1);
    assert.equal(breaker.tryAcquire(), true);
    clock.advance(500);
    breaker.onSuccess();
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), true);

    assert.deepEqual(events, [
      { from: "closed", to: "open", reason: "5 consecutive failures; last: connection refused", atMs: 0 },
      { from: "open", to: "half-open", reason: "reset timeout of 60000 ms elapsed", atMs: 60_000 },
      { from: "half-open", to: "open", reason: "trial request failed: first token timeout", atMs: 62_000 },
      { from: "open", to: "half-open", reason: "reset timeout of 60000 ms elapsed", atMs: 122_000 },
      { from: "half-open", to: "closed", reason: "trial request succeeded", atMs: 122_500 },
    ]);
  });

  it("a success resets the consecutive failure count while closed", () => {
    const { breaker, events } = setup({ threshold: 3 });
    breaker.onFailure("a");
    breaker.onFailure("b");
    breaker.onSuccess();
    breaker.onFailure("c");
    breaker.onFailure("d");
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.stats().consecutiveFailures, 2);
    breaker.onFailure("e");
    assert.equal(breaker.state, "open");
    assert.equal(events.length, 1);
  });

  it("turns half-open lazily: the event is emitted when the breaker is next asked, stamped with that time", () => {
    const { clock, breaker, events } = setup({ threshold: 1, resetMs: 1_000 });
    breaker.onFailure("x");
    clock.advance(5_000);
    assert.equal(events.length, 1, "no timer: nothing happens until someone asks");
    assert.equal(breaker.tryAcquire(), true);
    assert.deepEqual(events[1], {
      from: "open",
      to: "half-open",
      reason: "reset timeout of 1000 ms elapsed",
      atMs: 5_000,
    });
    assert.equal(breaker.state, "half-open");
    assert.equal(events.length, 2, "emitted once");
  });

  it("release() gives back a trial that ended without a verdict so another trial may go", () => {
    const { clock, breaker, events } = setup({ threshold: 1, resetMs: 1_000 });
    breaker.onFailure("x");
    clock.advance(1_000);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
    breaker.release();
    assert.equal(breaker.state, "half-open");
    assert.equal(breaker.trialAvailable, true);
    assert.equal(breaker.tryAcquire(), true);
    assert.equal(breaker.tryAcquire(), false);
    breaker.onSuccess();
    assert.deepEqual(
      events.map((e) => e.to),
      ["open", "half-open", "closed"],
    );
  });

  it("reset() closes an open breaker at once, with its reason, and forgets the failures", () => {
    const { breaker, events } = setup({ threshold: 2 });
    breaker.onFailure("connection refused");
    breaker.onFailure("connection refused");
    assert.equal(breaker.state, "open");
    breaker.reset("instance restarted and ready");
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.tryAcquire(), true);
    assert.deepEqual(
      events.map((e) => [e.to, e.reason]),
      [
        ["open", "2 consecutive failures; last: connection refused"],
        ["closed", "instance restarted and ready"],
      ],
    );
    // One new failure does not re-open it: the count started again.
    breaker.onFailure("HTTP 500");
    assert.equal(breaker.state, "closed");
  });

  it("release() outside half-open changes nothing", () => {
    const { breaker, events } = setup({ threshold: 1 });
    breaker.release();
    breaker.onFailure("x");
    breaker.release();
    assert.equal(breaker.state, "open");
    assert.equal(breaker.tryAcquire(), false);
    assert.equal(events.length, 1);
  });

  it("while open, late outcomes of earlier requests neither close it nor push the reset time back", () => {
    const { clock, breaker, events } = setup({ threshold: 1, resetMs: 10_000 });
    breaker.onFailure("x");
    clock.advance(5_000);
    breaker.onSuccess();
    breaker.onFailure("late");
    assert.equal(breaker.state, "open");
    assert.equal(breaker.stats().halfOpenAtMs, 10_000);
    clock.advance(5_000);
    assert.equal(breaker.state, "half-open");
    assert.deepEqual(
      events.map((e) => e.to),
      ["open", "half-open"],
    );
  });

  it("a failed trial starts a fresh reset period from the failure time", () => {
    const { clock, breaker } = setup({ threshold: 1, resetMs: 10_000 });
    breaker.onFailure("x");
    clock.advance(10_000);
    assert.equal(breaker.tryAcquire(), true);
    clock.advance(3_000);
    breaker.onFailure("still broken");
    assert.deepEqual(
      [breaker.stats().openedAtMs, breaker.stats().halfOpenAtMs, breaker.stats().opens],
      [13_000, 23_000, 2],
    );
    clock.advance(9_999);
    assert.equal(breaker.state, "open");
    clock.advance(1);
    assert.equal(breaker.state, "half-open");
  });

  it("reports its state, timing and trial in stats", () => {
    const { clock, breaker } = setup({ threshold: 2, resetMs: 30_000 });
    breaker.onFailure("a");
    clock.advance(100);
    breaker.onFailure("b");
    assert.deepEqual(breaker.stats(), {
      state: "open",
      enabled: true,
      consecutiveFailures: 2,
      lastFailureReason: "b",
      lastChangeMs: 100,
      openedAtMs: 100,
      halfOpenAtMs: 30_100,
      trialInFlight: false,
      opens: 1,
    });
    clock.advance(30_000);
    breaker.tryAcquire();
    assert.deepEqual(breaker.stats(), {
      state: "half-open",
      enabled: true,
      consecutiveFailures: 2,
      lastFailureReason: "b",
      lastChangeMs: 30_100,
      openedAtMs: 100,
      halfOpenAtMs: undefined,
      trialInFlight: true,
      opens: 1,
    });
    breaker.onSuccess();
    assert.equal(breaker.stats().consecutiveFailures, 0);
    assert.equal(breaker.stats().openedAtMs, undefined);
  });

  it("when disabled is always closed, admits everything and emits nothing", () => {
    const { clock, breaker, events } = setup({ threshold: 1, enabled: false });
    for (let i = 0; i < 20; i++) {
      breaker.onFailure("HTTP 500");
      clock.advance(1_000);
      assert.equal(breaker.tryAcquire(), true);
    }
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.trialAvailable, false);
    assert.equal(breaker.stats().enabled, false);
    assert.deepEqual(events, []);
  });

  it("rejects a threshold below 1 and a negative reset time", () => {
    assert.throws(() => setup({ threshold: 0 }), /threshold must be an integer >= 1, got 0/);
    assert.throws(() => setup({ resetMs: -1 }), /resetMs must be a finite number >= 0/);
  });
});
