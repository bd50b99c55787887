/** What a trace says about a routing decision, read from the router right after it placed the request. */
import type { RequestRouter } from "../backend/request-router.js";
import { scoreCandidates } from "../routing/health-score.js";
import { isEligible } from "../routing/types.js";

/** Attributes of a routing decision. */
export interface RouteDetails {
  strategy: string;
  /** Instances that hold the model. */
  candidates: number;
  /** Of those, the ones that could take the request (the chosen one included). */
  eligible: number;
  /** hot (loaded), warm (fits in free memory) or cold (needs evictions) on the chosen instance. */
  residency: string | undefined;
  /** The chosen instance's health score for the model. */
  score: number | undefined;
  /** Why it was chosen, in a few words. */
  reason: string;
}

/** Describes how the router's view of a model looks with `instanceId` chosen. */
export type RouteDescriber = (
  model: string,
  instanceId: string,
  routeReason: string | undefined,
) => RouteDetails;

const RESIDENCY_REASON: Record<string, string> = {
  hot: "model loaded on the instance",
  warm: "model fits in the instance's free memory",
  cold: "model needs other models evicted",
};

/** A describer over the gateway's router (called synchronously after placement, so the view is current). */
export function routeDescriber(router: RequestRouter, strategy: string): RouteDescriber {
  return (model, instanceId, routeReason) => {
    const holders = router.candidates(model).filter((c) => c.hasModel);
    const chosen = holders.find((c) => c.id === instanceId);
    // The chosen instance already counts this request in flight; it was eligible a moment ago.
    const eligible = holders.filter((c) => c.id === instanceId || isEligible(c)).length;
    const score = scoreCandidates(holders).find((s) => s.id === instanceId)?.score;
    const residency = chosen?.residency;
    const why =
      routeReason ?? (residency ? RESIDENCY_REASON[residency] : undefined) ?? "chosen by the balancer";
    return {
      strategy,
      candidates: holders.length,
      eligible,
      residency,
      score,
      reason: holders.length === 1 ? `only instance with the model; ${why}` : why,
    };
  };
}
