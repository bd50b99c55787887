/** The rule every strategy obeys, checked against each one in the registry; plus the registry itself. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LOAD_BALANCING_STRATEGIES } from "../src/config/schema.js";
import { BALANCERS, createBalancer } from "../src/routing/registry.js";
import { isEligible, type Candidate, type RoutingDeps } from "../src/routing/types.js";
import { candidate as baseCandidate } from "./helpers/candidate.js";
import { mulberry32 } from "../src/util/prng.js";

function candidate(id: string, over: Partial<Candidate> = {}): Candidate {
  // A deep backlog: the model-aware "wait for a hot slot rather than evict" rule never holds a request
  // back here, so this suite checks only the eligibility rule every strategy shares.
  return baseCandidate(id, { capacity: 2, queueDepth: 1000, ...over });
}

/** A small seeded PRNG (mulberry32) so every run draws the same "random" numbers. */
const seeded = mulberry32;

function deps(seed = 1): RoutingDeps {
  return { now: () => 0, random: seeded(seed) };
}

const INELIGIBLE: Record<string, Partial<Candidate>> = {
  unhealthy: { health: "unhealthy" },
  "open breaker": { breaker: "open" },
  "half-open breaker whose trial is taken": { breaker: "half-open", breakerTrialAvailable: false },
  draining: { draining: true },
  "without the model": { hasModel: false },
  "unable to hold the model": { canHoldModel: false },
  full: { inFlight: 2, capacity: 2 },
};

const request = { model: "llama3.1:8b", priority: "normal" } as const;

describe("every registered strategy", () => {
  it("is registered under each name the config accepts", () => {
    assert.deepEqual(Object.keys(BALANCERS).sort(), [...LOAD_BALANCING_STRATEGIES].sort());
  });

  for (const name of Object.keys(BALANCERS)) {
    describe(name, () => {
      it("reports its config name", () => {
        assert.equal(createBalancer(name, deps()).name, name);
      });

      for (const [why, over] of Object.entries(INELIGIBLE)) {
        it(`never picks an instance that is ${why}`, () => {
          const balancer = createBalancer(name, deps());
          // The bad one comes first, is idle, hot and fast, so only the eligibility rule keeps it out.
          const bad = candidate("bad", { tokensPerSecond: 1000, ...over });
          const good = candidate("good", {
            inFlight: 1,
            residency: "cold",
            loadPenaltyMs: 9000,
            tokensPerSecond: 1,
          });
          for (let i = 0; i < 50; i++) assert.equal(balancer.pick([bad, good], request), "good");
        });
      }

      it("returns undefined when no instance may take the request", () => {
        const balancer = createBalancer(name, deps());
        const all = Object.entries(INELIGIBLE).map(([why, over]) => candidate(why, over));
        assert.equal(balancer.pick(all, request), undefined);
        assert.equal(balancer.pick([], request), undefined);
      });

      it("picks a half-open instance whose single trial is available", () => {
        const balancer = createBalancer(name, deps());
        const trial = candidate("trial", { breaker: "half-open", breakerTrialAvailable: true });
        assert.equal(balancer.pick([candidate("open", { breaker: "open" }), trial], request), "trial");
      });

      it("treats an instance of unknown health as eligible", () => {
        const balancer = createBalancer(name, deps());
        assert.equal(balancer.pick([candidate("new", { health: "unknown" })], request), "new");
      });

      it("over random fleets, picks an eligible id from the input exactly when there is one", () => {
        const balancer = createBalancer(name, deps(7));
        const draw = seeded(42);
        const variants = [
          {},
          {},
          { residency: "warm" as const },
          { residency: "cold" as const },
          ...Object.values(INELIGIBLE),
        ];
        for (let round = 0; round < 300; round++) {
          const size = Math.floor(draw() * 6);
          const fleet = Array.from({ length: size }, (_, i) =>
            candidate(`i${i}`, {
              ...variants[Math.floor(draw() * variants.length)],
              tokensPerSecond: draw() < 0.3 ? undefined : 1 + draw() * 100,
              errorRate: draw() < 0.7 ? 0 : draw(),
              loadPenaltyMs: Math.floor(draw() * 5000),
            }),
          );
          const picked = balancer.pick(fleet, { ...request, model: draw() < 0.5 ? "a" : "b" });
          const eligible = fleet.filter(isEligible).map((c) => c.id);
          if (eligible.length === 0) assert.equal(picked, undefined);
          else assert.ok(picked !== undefined && eligible.includes(picked), `${picked} not in ${eligible}`);
        }
      });
    });
  }
});

describe("createBalancer", () => {
  it("throws for an unknown name, listing every valid one", () => {
    assert.throws(
      () => createBalancer("Fastest", deps()),
      (err: unknown) =>
        err instanceof Error &&
        err.message.includes('"Fastest"') &&
        LOAD_BALANCING_STRATEGIES.every((valid) => err.message.includes(valid)),
    );
  });

  it("does not take inherited object keys for strategy names", () => {
    assert.throws(() => createBalancer("toString", deps()), /expected one of/);
  });

  it("gives each call its own rotation state", () => {
    const fleet = [candidate("a"), candidate("b")];
    const first = createBalancer("RoundRobin", deps());
    const second = createBalancer("RoundRobin", deps());
    assert.equal(first.pick(fleet, request), "a");
    assert.equal(second.pick(fleet, request), "a");
  });
});
