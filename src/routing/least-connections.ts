/** Least-connections by load ratio: Olla's and LiteLLM's usual choice, a baseline that ignores residency. */
import { eligibleCandidates, loadRatio, randomIndex } from "./candidate-utils.js";
import type { Balancer, BalancerFactory, Candidate, RoutingDeps } from "./types.js";

/**
 * Picks the eligible candidate with the lowest in-flight ÷ capacity; ratio rather than raw count so a
 * 4-slot instance with 2 in flight counts as less busy than a 1-slot one with 1. Ties go to the random
 * source so equal instances share traffic instead of the first in the list taking every idle moment.
 */
class LeastConnectionsBalancer implements Balancer {
  readonly name = "LeastConnections";
  constructor(private readonly deps: RoutingDeps) {}

  pick(candidates: readonly Candidate[]): string | undefined {
    let best: Candidate[] = [];
    let bestRatio = Infinity;
    for (const c of eligibleCandidates(candidates)) {
      const ratio = loadRatio(c);
      if (ratio < bestRatio) {
        best = [c];
        bestRatio = ratio;
      } else if (ratio === bestRatio) {
        best.push(c);
      }
    }
    if (best.length === 0) return undefined;
    return best[randomIndex(this.deps.random, best.length)]?.id;
  }
}

/** Least load ratio among eligible candidates, ties at random. */
export const LeastConnections: BalancerFactory = (deps) => new LeastConnectionsBalancer(deps);
