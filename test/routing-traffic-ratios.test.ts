/**
 * Traffic shares over many picks, on a simulated fleet fed through the PerformanceTracker as the proxy
 * would feed it: speed shares traffic in proportion, residency keeps a model where it runs, injected
 * failures raise the error rate and cut the share until the window forgets them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PerformanceTracker } from "../src/routing/performance-tracker.js";
import { BALANCERS } from "../src/routing/registry.js";
import { RoundRobin } from "../src/routing/round-robin.js";
import type { Balancer, Candidate, Residency } from "../src/routing/types.js";
import { WeightedRoundRobin } from "../src/routing/weighted-round-robin.js";
import { candidate } from "./helpers/candidate.js";

interface SimInstance {
  id: string;
  /** True decode speed; the balancer only sees what the tracker learned. */
  tokensPerSecond: number;
  capacity?: number;
  residency?: Residency;
}

interface SimOptions {
  balancer: Balancer;
  fleet: SimInstance[];
  requests: number;
  /** Clock step between arrivals, ms. */
  stepMs?: number;
  /** Arrivals a request keeps its slot for (0: done before the next arrives). */
  holdSteps?: number;
  /** Whether request `n` fails on instance `id`. */
  failAt?: (n: number, id: string) => boolean;
  /** Requests already waiting for the model in the gateway's queue (the backlog every candidate sees). */
  queueDepth?: number;
}

/** Runs `requests` arrivals and returns the id each went to ("-" when none could take it). */
function simulate(opts: SimOptions): string[] {
  let now = 0;
  const stepMs = opts.stepMs ?? 100;
  const tracker = new PerformanceTracker({ now: () => now });
  const residency = new Map(opts.fleet.map((i) => [i.id, i.residency ?? "hot"]));
  const releases: Array<{ id: string; at: number }> = [];
  const out: string[] = [];
  for (let n = 0; n < opts.requests; n++) {
    now = n * stepMs;
    const candidates: Candidate[] = opts.fleet.map((inst) =>
      candidate(inst.id, {
        inFlight: releases.filter((r) => r.id === inst.id && r.at > n).length,
        capacity: inst.capacity ?? 4,
        queueDepth: opts.queueDepth ?? 0,
        residency: residency.get(inst.id) ?? "cold",
        loadPenaltyMs: residency.get(inst.id) === "hot" ? 0 : tracker.estimateLoadMs(inst.id, 5e9),
        ttftMs: tracker.ttftMs(inst.id, "m"),
        tokensPerSecond: tracker.tokensPerSecond(inst.id, "m"),
        errorRate: tracker.errorRate(inst.id),
      }),
    );
    const id = opts.balancer.pick(candidates, { model: "m", priority: "normal" }) ?? "-";
    out.push(id);
    const inst = opts.fleet.find((i) => i.id === id);
    if (inst === undefined) continue;
    // The chosen instance loads the model and keeps it: it is hot from now on.
    residency.set(id, "hot");
    if ((opts.holdSteps ?? 0) > 0) releases.push({ id, at: n + (opts.holdSteps ?? 0) });
    const ok = !(opts.failAt?.(n, id) ?? false);
    tracker.record(
      id,
      "m",
      ok ? { ok, ttftMs: 200, outputTokens: 200, decodeMs: (200 / inst.tokensPerSecond) * 1000 } : { ok },
    );
  }
  return out;
}

function share(picks: string[], id: string, from = 0, to = picks.length): number {
  const slice = picks.slice(from, to);
  return slice.filter((p) => p === id).length / slice.length;
}

const noRandom = { now: () => 0, random: () => 0 };

describe("traffic ratios under WeightedRoundRobin", () => {
  it("gives an instance with half the tokens/s a third of the traffic of two, once speeds are learned", () => {
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "fast", tokensPerSecond: 100 },
        { id: "slow", tokensPerSecond: 50 },
      ],
      requests: 603,
    });
    assert.equal(share(picks, "slow", 3), 1 / 3);
  });

  it("shares four unequal GPUs 4:2:1:1 in proportion to speed", () => {
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "a", tokensPerSecond: 120 },
        { id: "b", tokensPerSecond: 60 },
        { id: "c", tokensPerSecond: 30 },
        { id: "d", tokensPerSecond: 30 },
      ],
      requests: 804,
    });
    // Within two picks of exact: the first picks, made before the speeds were known, leave a little credit.
    const expected = { a: 0.5, b: 0.25, c: 0.125, d: 0.125 };
    for (const [id, want] of Object.entries(expected)) {
      assert.ok(Math.abs(share(picks, id, 4) - want) <= 2 / 800, `${id}: ${share(picks, id, 4)} vs ${want}`);
    }
  });

  it("keeps sending a hundred-times-slower GPU its share, never zero", () => {
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "fast", tokensPerSecond: 100 },
        { id: "slow", tokensPerSecond: 1 },
      ],
      requests: 1012,
    });
    assert.equal(picks.slice(2).filter((p) => p === "slow").length, 10);
  });

  it("sends everything to the loaded instance while it has free slots, though the others are faster", () => {
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "cold", tokensPerSecond: 400, residency: "cold" },
        { id: "warm", tokensPerSecond: 400, residency: "warm" },
        { id: "hot", tokensPerSecond: 50 },
      ],
      requests: 200,
    });
    assert.equal(share(picks, "hot"), 1);
  });

  it("loads the model on a second instance only as slots run out, warm before cold", () => {
    // Each request holds its slot for 6 arrivals; each instance has 2 slots. A backlog of 4 waiting
    // requests (the running copies' capacity) says the hot copies are saturated, so cold may load too.
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "cold", tokensPerSecond: 100, capacity: 2, residency: "cold" },
        { id: "warm", tokensPerSecond: 100, capacity: 2, residency: "warm" },
        { id: "hot", tokensPerSecond: 100, capacity: 2 },
      ],
      requests: 8,
      holdSteps: 6,
      queueDepth: 4,
    });
    assert.deepEqual(picks, ["hot", "hot", "warm", "warm", "cold", "cold", "hot", "hot"]);
  });

  it("waits for a hot slot rather than evict on a cold instance while there is no backlog", () => {
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "cold", tokensPerSecond: 100, capacity: 2, residency: "cold" },
        { id: "warm", tokensPerSecond: 100, capacity: 2, residency: "warm" },
        { id: "hot", tokensPerSecond: 100, capacity: 2 },
      ],
      requests: 8,
      holdSteps: 6,
    });
    assert.deepEqual(picks, ["hot", "hot", "warm", "warm", "-", "-", "hot", "hot"]);
  });

  it("cuts the share of an instance whose requests fail, and restores it once the window forgets", () => {
    // Requests 100–139 fail wherever they land on b; arrivals every 100 ms, error window 60 s.
    const picks = simulate({
      balancer: WeightedRoundRobin(noRandom),
      fleet: [
        { id: "a", tokensPerSecond: 100 },
        { id: "b", tokensPerSecond: 100 },
      ],
      requests: 1000,
      failAt: (n, id) => id === "b" && n >= 100 && n < 140,
    });
    assert.equal(share(picks, "b", 0, 100), 0.5);
    const during = share(picks, "b", 140, 240);
    assert.ok(during > 0 && during < 0.3, `b's share after the failures: ${during}`);
    const after = share(picks, "b", 800, 1000);
    assert.ok(Math.abs(after - 0.5) <= 0.02, `b's share once the window has passed: ${after}`);
  });
});

describe("traffic ratios of the baselines (they route on installed models only)", () => {
  it("RoundRobin gives a half-speed instance half the traffic", () => {
    const picks = simulate({
      balancer: RoundRobin(noRandom),
      fleet: [
        { id: "fast", tokensPerSecond: 100 },
        { id: "slow", tokensPerSecond: 50 },
      ],
      requests: 600,
    });
    assert.equal(share(picks, "slow"), 0.5);
  });

  for (const name of ["LeastConnections", "Random", "PowerOfTwoChoices"] as const) {
    it(`${name} gives a half-speed instance about half the traffic`, () => {
      let seed = 12345;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const picks = simulate({
        balancer: BALANCERS[name]({ now: () => 0, random }),
        fleet: [
          { id: "fast", tokensPerSecond: 100 },
          { id: "slow", tokensPerSecond: 50 },
        ],
        requests: 2000,
      });
      assert.ok(Math.abs(share(picks, "slow") - 0.5) < 0.05, `${name}: ${share(picks, "slow")}`);
    });
  }
});
