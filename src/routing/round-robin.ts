/** Plain round-robin over eligible instances, as Olla offers it: a baseline blind to residency and speed. */
import { MAX_ROTATION_MODELS, touchBounded } from "./candidate-utils.js";
import {
  isEligible,
  type Balancer,
  type BalancerFactory,
  type Candidate,
  type RouteRequest,
} from "./types.js";

/**
 * Rotation is "the next eligible instance after the last one picked for this model", in the caller's
 * candidate order (the caller keeps that order stable). Keeping the last id rather than a counter means an
 * instance that drops out for a moment does not shift everybody else: a, b, c with b full goes a, c, a, b.
 */
class RoundRobinBalancer implements Balancer {
  readonly name = "RoundRobin";
  private readonly lastByModel = new Map<string, string>();

  pick(candidates: readonly Candidate[], request: RouteRequest): string | undefined {
    const last = this.lastByModel.get(request.model);
    const lastIndex = last === undefined ? -1 : candidates.findIndex((c) => c.id === last);
    for (let step = 1; step <= candidates.length; step++) {
      const c = candidates[(lastIndex + step) % candidates.length];
      if (c !== undefined && isEligible(c)) {
        touchBounded(this.lastByModel, request.model, c.id, MAX_ROTATION_MODELS);
        return c.id;
      }
    }
    return undefined;
  }
}

/** Round-robin over eligible candidates, rotation per model. */
export const RoundRobin: BalancerFactory = () => new RoundRobinBalancer();
