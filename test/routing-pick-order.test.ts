/** Exact pick sequences of each strategy for given inputs (table-driven), and the model-aware rules. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeastConnections } from "../src/routing/least-connections.js";
import { modelAwarePool } from "../src/routing/model-aware.js";
import { PowerOfTwoChoices } from "../src/routing/power-of-two-choices.js";
import { Random } from "../src/routing/random.js";
import { RoundRobin } from "../src/routing/round-robin.js";
import type { Balancer, Candidate } from "../src/routing/types.js";
import { WeightedRoundRobin } from "../src/routing/weighted-round-robin.js";
import { candidate } from "./helpers/candidate.js";

/** Random numbers replayed from a list, so each draw of a strategy is known. */
function scripted(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

const noRandom = { now: () => 0, random: () => 0 };
const req = (model = "m") => ({ model, priority: "normal" as const });

/** Picks `n` times; `fleetAt(i)` gives the candidates of pick i (0-based). */
function picks(balancer: Balancer, n: number, fleetAt: (i: number) => Candidate[], model = "m"): string {
  return Array.from({ length: n }, (_, i) => balancer.pick(fleetAt(i), req(model)) ?? "-").join(" ");
}

describe("RoundRobin pick order", () => {
  const cases: Array<{ name: string; fleetAt: (i: number) => Candidate[]; n: number; expected: string }> = [
    {
      name: "cycles through eligible instances in input order",
      fleetAt: () => [candidate("a"), candidate("b"), candidate("c")],
      n: 7,
      expected: "a b c a b c a",
    },
    {
      name: "skips an instance while it is full and resumes after the last pick",
      fleetAt: (i) => [candidate("a"), candidate("b", { inFlight: i === 1 ? 4 : 0 }), candidate("c")],
      n: 5,
      expected: "a c a b c",
    },
    {
      name: "ignores residency and speed (it is the installed-models-only baseline)",
      fleetAt: () => [
        candidate("cold", { residency: "cold", loadPenaltyMs: 9000, tokensPerSecond: 1 }),
        candidate("hot", { tokensPerSecond: 100 }),
      ],
      n: 4,
      expected: "cold hot cold hot",
    },
    {
      name: "restarts from the front when the last pick left the fleet",
      fleetAt: (i) => (i < 2 ? [candidate("a"), candidate("b")] : [candidate("c"), candidate("d")]),
      n: 4,
      expected: "a b c d",
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(picks(RoundRobin(noRandom), c.n, c.fleetAt), c.expected));
  }

  it("keeps a separate rotation per model", () => {
    const rr = RoundRobin(noRandom);
    const fleet = [candidate("a"), candidate("b")];
    assert.deepEqual(
      [
        rr.pick(fleet, req("x")),
        rr.pick(fleet, req("y")),
        rr.pick(fleet, req("x")),
        rr.pick(fleet, req("y")),
      ],
      ["a", "a", "b", "b"],
    );
  });
});

describe("WeightedRoundRobin pick order (smooth, nginx)", () => {
  // Weights come from the health score; speed is the simplest factor to set a weight with.
  const bySpeed = (speeds: Record<string, number>) => () =>
    Object.entries(speeds).map(([id, tps]) => candidate(id, { tokensPerSecond: tps }));
  const cases: Array<{ name: string; fleetAt: (i: number) => Candidate[]; n: number; expected: string }> = [
    {
      name: "weights 5:1:1 give nginx's a a b a c a a, twice",
      fleetAt: bySpeed({ a: 50, b: 10, c: 10 }),
      n: 14,
      expected: "a a b a c a a a a b a c a a",
    },
    {
      name: "weights 2:1 interleave as a b a",
      fleetAt: bySpeed({ a: 100, b: 50 }),
      n: 6,
      expected: "a b a a b a",
    },
    {
      name: "equal weights rotate like round-robin",
      fleetAt: bySpeed({ a: 10, b: 10, c: 10 }),
      n: 6,
      expected: "a b c a b c",
    },
    {
      // a has just been picked (its current weight is low), so c takes both of b's turns; b's credit waits.
      name: "an instance that turns ineligible is skipped and the others take its turns",
      fleetAt: (i) => [candidate("a"), candidate("b", { draining: i === 1 || i === 2 }), candidate("c")],
      n: 6,
      expected: "a c c b a c",
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(picks(WeightedRoundRobin(noRandom), c.n, c.fleetAt), c.expected));
  }

  it("keeps a separate rotation per model", () => {
    const wrr = WeightedRoundRobin(noRandom);
    const fleet = [candidate("a"), candidate("b")];
    assert.deepEqual(
      [wrr.pick(fleet, req("x")), wrr.pick(fleet, req("y")), wrr.pick(fleet, req("x"))],
      ["a", "a", "b"],
    );
  });
});

describe("model-aware rules (WeightedRoundRobin)", () => {
  const wrr = () => WeightedRoundRobin(noRandom);

  it("sends every request to the hot instance while it has a free slot, even when others are faster", () => {
    const fleet = [
      candidate("warm", { residency: "warm", loadPenaltyMs: 100, tokensPerSecond: 500 }),
      candidate("hot", { inFlight: 3, capacity: 4, tokensPerSecond: 10 }),
    ];
    assert.equal(
      picks(wrr(), 5, () => fleet),
      "hot hot hot hot hot",
    );
  });

  it("shares among hot instances only, by weight", () => {
    const fleet = [
      candidate("h1", { tokensPerSecond: 20 }),
      candidate("w", { residency: "warm" }),
      candidate("h2", { tokensPerSecond: 20 }),
    ];
    assert.equal(
      picks(wrr(), 4, () => fleet),
      "h1 h2 h1 h2",
    );
  });

  it("when every hot instance is full, goes warm before cold even if the cold one is faster", () => {
    const fleet = [
      candidate("hot", { inFlight: 4 }),
      candidate("cold", { residency: "cold", loadPenaltyMs: 1000, tokensPerSecond: 500 }),
      candidate("warm", { residency: "warm", loadPenaltyMs: 3000, tokensPerSecond: 5 }),
    ];
    assert.equal(wrr().pick(fleet, req()), "warm");
  });

  it("goes cold only when no hot or warm instance may take the request and a backlog saturates the hot one", () => {
    const fleet = (queueDepth: number) => [
      candidate("hot", { inFlight: 4, queueDepth }),
      candidate("warm", { residency: "warm", breaker: "open", queueDepth }),
      candidate("cold", { residency: "cold", loadPenaltyMs: 3000, queueDepth }),
    ];
    assert.equal(
      wrr().pick(fleet(0), req()),
      undefined,
      "a full hot copy and no backlog: wait, do not evict",
    );
    assert.equal(wrr().pick(fleet(3), req()), undefined);
    assert.equal(wrr().pick(fleet(4), req()), "cold");
  });

  it("goes cold at once when no instance runs the model", () => {
    const fleet = [
      candidate("cold", { residency: "cold" }),
      candidate("full-warm", { residency: "warm", inFlight: 4 }),
    ];
    assert.equal(wrr().pick(fleet, req()), "cold");
  });

  it("among cold instances favours the quicker load", () => {
    // loadPenalty 0 vs 15 s against a 5 s typical request: weights 1 : 0.25 → 4 of 5 picks.
    const fleet = [
      candidate("slowload", { residency: "cold", loadPenaltyMs: 15_000 }),
      candidate("quickload", { residency: "cold", loadPenaltyMs: 0 }),
    ];
    assert.equal(
      picks(wrr(), 5, () => fleet),
      "quickload quickload slowload quickload quickload",
    );
  });

  it("modelAwarePool keeps input order within the chosen tier", () => {
    const pool = modelAwarePool([
      candidate("w1", { residency: "warm" }),
      candidate("c", { residency: "cold" }),
      candidate("w2", { residency: "warm" }),
    ]);
    assert.deepEqual(
      pool.map((c) => c.id),
      ["w1", "w2"],
    );
  });
});

describe("baseline strategies with a scripted random source", () => {
  it("LeastConnections takes the lowest in-flight ÷ capacity, not the lowest count", () => {
    const lc = LeastConnections(noRandom);
    const fleet = [
      candidate("small", { inFlight: 1, capacity: 2 }),
      candidate("big", { inFlight: 2, capacity: 8 }),
    ];
    assert.equal(lc.pick(fleet, req()), "big");
  });

  it("LeastConnections breaks ties with the random source", () => {
    const fleet = [candidate("a"), candidate("b"), candidate("c", { inFlight: 1 })];
    assert.equal(LeastConnections({ now: () => 0, random: () => 0 }).pick(fleet, req()), "a");
    assert.equal(LeastConnections({ now: () => 0, random: () => 0.99 }).pick(fleet, req()), "b");
  });

  it("Random maps the draw onto the eligible instances", () => {
    const fleet = [candidate("a"), candidate("x", { hasModel: false }), candidate("b"), candidate("c")];
    const random = Random({ now: () => 0, random: scripted([0, 0.34, 0.67, 0.999999]) });
    assert.equal(
      picks(random, 4, () => fleet),
      "a b c c",
    );
  });

  it("PowerOfTwoChoices compares two distinct draws and keeps the less loaded", () => {
    const fleet = [
      candidate("a", { inFlight: 3 }),
      candidate("b", { inFlight: 1 }),
      candidate("c", { inFlight: 2 }),
    ];
    // Draws (i, j among the others): (a, b) → b; (c, a) → c; (b, c) → b.
    const p2c = PowerOfTwoChoices({ now: () => 0, random: scripted([0, 0, 0.9, 0, 0.5, 0.9]) });
    assert.equal(
      picks(p2c, 3, () => fleet),
      "b c b",
    );
  });

  it("PowerOfTwoChoices takes the only eligible instance without drawing", () => {
    let draws = 0;
    const p2c = PowerOfTwoChoices({ now: () => 0, random: () => (draws++, 0) });
    assert.equal(p2c.pick([candidate("a"), candidate("b", { draining: true })], req()), "a");
    assert.equal(draws, 0);
  });
});
