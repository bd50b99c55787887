/** Uniform random choice among eligible instances: the simplest baseline. */
import { eligibleCandidates, randomIndex } from "./candidate-utils.js";
import type { Balancer, BalancerFactory, Candidate, RoutingDeps } from "./types.js";

class RandomBalancer implements Balancer {
  readonly name = "Random";
  constructor(private readonly deps: RoutingDeps) {}

  pick(candidates: readonly Candidate[]): string | undefined {
    const eligible = eligibleCandidates(candidates);
    if (eligible.length === 0) return undefined;
    return eligible[randomIndex(this.deps.random, eligible.length)]?.id;
  }
}

/** One eligible candidate uniformly at random (from the injected source). */
export const Random: BalancerFactory = (deps) => new RandomBalancer(deps);
