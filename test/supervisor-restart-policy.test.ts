/** The restart policy on a manual clock: backoff growth, jitter bounds, reset after a stable run, crash loop. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  backoffMs,
  DEFAULT_RESTART_POLICY,
  jittered,
  RestartPolicy,
  type RestartPolicySettings,
} from "../src/supervisor/restart-policy.js";
import { ManualClock } from "./helpers/manual-clock.js";

const SETTINGS: RestartPolicySettings = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 8_000,
  multiplier: 2,
  jitterRatio: 0,
  crashLoopExits: 5,
  crashLoopWindowMs: 60_000,
  stableAfterMs: 30_000,
};

describe("RestartPolicy", () => {
  it("doubles the delay on each consecutive exit up to the ceiling", () => {
    const clock = new ManualClock(0);
    const policy = new RestartPolicy({ ...SETTINGS, crashLoopExits: 100 }, () => 0.5);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const d = policy.recordExit({ atMs: clock.now(), uptimeMs: 100, reason: "exited with code 1" });
      assert.equal(d.kind, "restart");
      if (d.kind === "restart") {
        delays.push(d.delayMs);
        assert.equal(d.attempt, i + 1);
        clock.advance(d.delayMs + 100);
      }
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it("spreads the delay by the jitter ratio, never past the ceiling", () => {
    const s = { ...SETTINGS, jitterRatio: 0.2 };
    assert.equal(jittered(s, 1_000, 0), 800);
    assert.equal(jittered(s, 1_000, 0.5), 1_000);
    assert.equal(jittered(s, 1_000, 0.999999), 1_200);
    assert.equal(jittered(s, 8_000, 0.999999), 8_000);
    const random = [0.1, 0.9];
    const policy = new RestartPolicy({ ...s, crashLoopExits: 10 }, () => random.shift() ?? 0.5);
    const first = policy.recordExit({ atMs: 0, uptimeMs: 10, reason: "x" });
    const second = policy.recordExit({ atMs: 5_000, uptimeMs: 10, reason: "x" });
    assert.deepEqual(first, { kind: "restart", delayMs: 840, attempt: 1 });
    assert.deepEqual(second, { kind: "restart", delayMs: 2_320, attempt: 2 });
  });

  it("starts the backoff over after a run longer than stableAfterMs", () => {
    const policy = new RestartPolicy(SETTINGS, () => 0.5);
    policy.recordExit({ atMs: 0, uptimeMs: 10, reason: "x" });
    policy.recordExit({ atMs: 2_000, uptimeMs: 10, reason: "x" });
    const afterStable = policy.recordExit({ atMs: 200_000, uptimeMs: 40_000, reason: "x" });
    assert.deepEqual(afterStable, { kind: "restart", delayMs: 1_000, attempt: 1 });
  });

  it("declares a crash loop when N exits fall inside the window, with the last reason", () => {
    const clock = new ManualClock(0);
    const policy = new RestartPolicy(SETTINGS, () => 0.5);
    const decisions = [];
    for (let i = 0; i < 5; i++) {
      decisions.push(policy.recordExit({ atMs: clock.now(), uptimeMs: 50, reason: `exited with code ${i}` }));
      clock.advance(1_000);
    }
    assert.deepEqual(
      decisions.map((d) => d.kind),
      ["restart", "restart", "restart", "restart", "fail"],
    );
    assert.deepEqual(decisions[4], {
      kind: "fail",
      reason: "crash loop: 5 exits within 60 s (last: exited with code 4)",
    });
  });

  it("does not call exits spread wider than the window a crash loop", () => {
    const policy = new RestartPolicy(SETTINGS, () => 0.5);
    for (let i = 0; i < 20; i++) {
      const d = policy.recordExit({ atMs: i * 20_000, uptimeMs: 19_000, reason: "x" });
      assert.equal(d.kind, "restart", `exit ${i}`);
    }
    assert.equal(policy.recentExits().length, 3);
  });

  it("forgets every exit on reset", () => {
    const policy = new RestartPolicy({ ...SETTINGS, crashLoopExits: 2 }, () => 0.5);
    assert.equal(policy.recordExit({ atMs: 0, uptimeMs: 1, reason: "x" }).kind, "restart");
    policy.reset();
    assert.deepEqual(policy.recordExit({ atMs: 1, uptimeMs: 1, reason: "x" }), {
      kind: "restart",
      delayMs: 1_000,
      attempt: 1,
    });
  });

  it("rejects settings that would make a busy loop or never back off", () => {
    assert.throws(() => new RestartPolicy({ ...SETTINGS, multiplier: 0.5 }, Math.random), /multiplier/);
    assert.throws(() => new RestartPolicy({ ...SETTINGS, crashLoopExits: 0 }, Math.random), /crashLoopExits/);
    assert.throws(() => new RestartPolicy({ ...SETTINGS, jitterRatio: 1 }, Math.random), /jitterRatio/);
    assert.throws(() => new RestartPolicy({ ...SETTINGS, maxBackoffMs: 10 }, Math.random), /maxBackoffMs/);
  });

  it("has defaults of 1 s doubling to a minute", () => {
    assert.equal(backoffMs(DEFAULT_RESTART_POLICY, 1), 1_000);
    assert.equal(backoffMs(DEFAULT_RESTART_POLICY, 4), 8_000);
    assert.equal(backoffMs(DEFAULT_RESTART_POLICY, 20), 60_000);
  });
});
