/** Power of two choices: two random eligible instances, the less loaded wins (a baseline, no residency). */
import { eligibleCandidates, loadRatio, randomIndex } from "./candidate-utils.js";
import type { Balancer, BalancerFactory, Candidate, RoutingDeps } from "./types.js";

/**
 * Two distinct candidates drawn uniformly; the lower in-flight ÷ capacity is taken, and on a tie the first
 * drawn (already random). Gets most of least-connections' balance while never herding every request onto
 * the one instance that looks idlest, which matters when load figures lag behind.
 */
class PowerOfTwoChoicesBalancer implements Balancer {
  readonly name = "PowerOfTwoChoices";
  constructor(private readonly deps: RoutingDeps) {}

  pick(candidates: readonly Candidate[]): string | undefined {
    const eligible = eligibleCandidates(candidates);
    if (eligible.length <= 1) return eligible[0]?.id;
    const i = randomIndex(this.deps.random, eligible.length);
    // Draw the second from the others so both choices are distinct: skip over i.
    const j0 = randomIndex(this.deps.random, eligible.length - 1);
    const j = j0 >= i ? j0 + 1 : j0;
    const a = eligible[i];
    const b = eligible[j];
    if (a === undefined || b === undefined) return undefined;
    return loadRatio(b) < loadRatio(a) ? b.id : a.id;
  }
}

/** Two random eligible candidates, the lower load ratio wins. */
export const PowerOfTwoChoices: BalancerFactory = (deps) => new PowerOfTwoChoicesBalancer(deps);
