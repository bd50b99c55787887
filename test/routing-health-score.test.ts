/** The health score: each factor alone, their product, positivity, and the reference it is measured against. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  COLD_FACTOR,
  ERROR_PENALTY,
  healthScore,
  MIN_FACTOR,
  RESPONSE_TIME_WEIGHT,
  scoreCandidates,
  scoreReference,
  TYPICAL_REQUEST_MS,
  type ScoreReference,
} from "../src/routing/health-score.js";
import type { Candidate } from "../src/routing/types.js";
import { candidate } from "./helpers/candidate.js";

const ref: ScoreReference = { bestTtftMs: 100, bestTokensPerSecond: 80, typicalRequestMs: 5000 };
const neutral = { load: 1, responseTime: 1, speed: 1, errors: 1, queue: 1, residency: 1 };

describe("healthScore", () => {
  const cases: Array<{ name: string; over: Partial<Candidate>; parts: Partial<typeof neutral> }> = [
    { name: "an idle, hot, unmeasured instance scores a full 1", over: {}, parts: {} },
    {
      name: "the best speed and TTFT of the fleet score 1",
      over: { tokensPerSecond: 80, ttftMs: 100 },
      parts: {},
    },
    { name: "half the slots in use halve the load factor", over: { inFlight: 2 }, parts: { load: 0.5 } },
    {
      name: "half the fleet's best speed halves the speed factor",
      over: { tokensPerSecond: 40 },
      parts: { speed: 0.5 },
    },
    {
      name: "twice the best TTFT gives 1 / (1 + 0.5)",
      over: { ttftMs: 200 },
      parts: { responseTime: 1 / 1.5 },
    },
    { name: "10% errors halve the errors factor", over: { errorRate: 0.1 }, parts: { errors: 0.5 } },
    {
      name: "a queue as deep as the slots halves the queue factor",
      over: { queueDepth: 4 },
      parts: { queue: 0.5 },
    },
    {
      name: "a warm instance whose load takes a typical request's time gets half",
      over: { residency: "warm", loadPenaltyMs: 5000 },
      parts: { residency: 0.5 },
    },
    {
      name: "a cold instance pays the eviction factor on top of its load time",
      over: { residency: "cold", loadPenaltyMs: 5000 },
      parts: { residency: 0.5 * COLD_FACTOR },
    },
    {
      name: "a hot instance pays no load penalty whatever the figure says",
      over: { loadPenaltyMs: 9000 },
      parts: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { score, parts } = healthScore(candidate("x", c.over), ref);
      const want = { ...neutral, ...c.parts };
      for (const [key, value] of Object.entries(want)) {
        assert.ok(
          Math.abs(parts[key as keyof typeof parts] - value) < 1e-12,
          `${key}: ${parts[key as keyof typeof parts]}`,
        );
      }
      const product = Object.values(want).reduce((a, b) => a * b, 1);
      assert.ok(Math.abs(score - product) < 1e-12);
    });
  }

  it("multiplies the factors, so each scales the weight on its own", () => {
    const { score } = healthScore(candidate("x", { inFlight: 2, tokensPerSecond: 40, errorRate: 0.1 }), ref);
    assert.ok(Math.abs(score - 0.125) < 1e-12);
  });

  it("stays above zero for the worst eligible candidate imaginable", () => {
    const worst = candidate("x", {
      inFlight: 99,
      capacity: 100,
      ttftMs: 1e9,
      tokensPerSecond: 1e-9,
      errorRate: 1,
      queueDepth: 1e6,
      residency: "cold",
      loadPenaltyMs: 1e12,
    });
    const { score, parts } = healthScore(worst, ref);
    assert.ok(score > 0);
    for (const value of Object.values(parts)) assert.ok(value >= MIN_FACTOR);
  });

  it("does not turn bad inputs (NaN, negative, zero capacity) into NaN or a factor above 1", () => {
    const odd = candidate("x", {
      capacity: 0,
      errorRate: Number.NaN,
      queueDepth: -3,
      tokensPerSecond: 1e9,
      ttftMs: 1,
    });
    const { score, parts } = healthScore(odd, ref);
    assert.ok(Number.isFinite(score) && score > 0 && score <= 1);
    for (const value of Object.values(parts)) assert.ok(value > 0 && value <= 1);
  });

  it("exports the constants the formula documents", () => {
    assert.deepEqual(
      { RESPONSE_TIME_WEIGHT, ERROR_PENALTY, COLD_FACTOR, TYPICAL_REQUEST_MS, MIN_FACTOR },
      {
        RESPONSE_TIME_WEIGHT: 0.5,
        ERROR_PENALTY: 10,
        COLD_FACTOR: 0.5,
        TYPICAL_REQUEST_MS: 5000,
        MIN_FACTOR: 0.01,
      },
    );
  });
});

describe("scoreReference", () => {
  it("takes the best TTFT and speed among instances that can serve the model, busy or broken ones included", () => {
    const r = scoreReference([
      candidate("a", { ttftMs: 300, tokensPerSecond: 40 }),
      candidate("b", { ttftMs: 120, tokensPerSecond: 90, breaker: "open", inFlight: 4 }),
      candidate("c", { ttftMs: 10, tokensPerSecond: 900, hasModel: false }),
      candidate("d", { ttftMs: 5, tokensPerSecond: 999, canHoldModel: false }),
      candidate("e"),
    ]);
    assert.deepEqual(r, { bestTtftMs: 120, bestTokensPerSecond: 90, typicalRequestMs: TYPICAL_REQUEST_MS });
  });

  it("is undefined where nothing is measured", () => {
    assert.deepEqual(scoreReference([candidate("a")], 2000), {
      bestTtftMs: undefined,
      bestTokensPerSecond: undefined,
      typicalRequestMs: 2000,
    });
  });
});

describe("scoreCandidates", () => {
  it("scores every candidate against the fleet's best, for the admin API", () => {
    const scored = scoreCandidates([
      candidate("a", { tokensPerSecond: 100 }),
      candidate("b", { tokensPerSecond: 25 }),
    ]);
    assert.deepEqual(
      scored.map((s) => [s.id, s.score, s.parts.speed]),
      [
        ["a", 1, 1],
        ["b", 0.25, 0.25],
      ],
    );
  });
});
